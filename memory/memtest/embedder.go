// Package memtest holds test doubles for package memory's interfaces, for
// the tests of memory and of the packages that use it.
package memtest

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync/atomic"
	"unicode"
)

// Embedder is a deterministic embedder for tests: feature hashing of the
// lower-cased words of a text into Dim dimensions, so texts that share
// words have similar vectors. It is no language model; it stands in for
// one where a test needs repeatable vectors.
type Embedder struct {
	Dim  int
	Name string
	// Calls counts Embed calls.
	Calls atomic.Int64
	fail  atomic.Bool
}

// NewEmbedder returns an embedder of the given dimension.
func NewEmbedder(dim int) *Embedder { return &Embedder{Dim: dim, Name: "memtest-hash"} }

// Model names the model.
func (e *Embedder) Model() string { return e.Name }

// Embed hashes each text's words into a vector.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.Calls.Add(1)
	if e.fail.Load() {
		return nil, errors.New("memtest embedder: failing on purpose")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.vector(t)
	}
	return out, nil
}

func (e *Embedder) vector(text string) []float32 {
	v := make([]float32, e.Dim)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		h := fnv.New64a()
		h.Write([]byte(w))
		s := h.Sum64()
		sign := float32(1)
		if s&1 == 1 {
			sign = -1
		}
		v[(s>>1)%uint64(e.Dim)] += sign
	}
	if len(words) == 0 {
		v[0] = 1
	}
	return v
}

// SetFail makes Embed fail (true) or work (false).
func (e *Embedder) SetFail(fail bool) { e.fail.Store(fail) }
