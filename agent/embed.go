package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnlabs/cairn/memory"
)

// DefaultEmbeddingModel embeds memories unless the person picks another.
const DefaultEmbeddingModel = "nomic-embed-text"

// Embedder embeds texts with a backend's model; it implements the vault's
// memory.Embedder.
type Embedder struct {
	backend Backend
	model   string
	// via resolves the model per call ("DEVICE/MODEL" runs on that
	// device, which may pair later than the vault opens).
	via *Backends
}

// NewEmbedder returns an embedder for model on backend.
func NewEmbedder(b Backend, model string) *Embedder {
	if model == "" {
		model = DefaultEmbeddingModel
	}
	return &Embedder{backend: b, model: model}
}

// NewEmbedderVia returns an embedder for a model reference resolved
// through bs at each call: "nomic-embed-text" runs on the default backend,
// "desk/nomic-embed-text" on the device desk (a laptop without the model
// embeds through the desktop's).
func NewEmbedderVia(bs *Backends, ref string) *Embedder {
	e := NewEmbedder(bs.Default(), ref)
	e.via = bs
	return e
}

// Model implements memory.Embedder.
func (e *Embedder) Model() string { return e.model }

// Embed implements memory.Embedder.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	b, model := e.backend, e.model
	if e.via != nil {
		var err error
		if b, model, err = e.via.Resolve(e.model); err != nil {
			return nil, err
		}
	}
	vecs, err := b.Embed(ctx, model, texts)
	if errors.Is(err, ErrModelNotFound) {
		return nil, fmt.Errorf("embedding model %s is not on %s: `cairn pull %s` turns semantic search on (keyword search works meanwhile): %w (%w)", model, b.Name(), model, err, memory.ErrEmbeddingModelMissing)
	}
	return vecs, err
}

// Check says whether the embedding model is available, for doctor and
// the status API.
func (e *Embedder) Check(ctx context.Context) error {
	_, err := e.Embed(ctx, []string{"ok"})
	return err
}
