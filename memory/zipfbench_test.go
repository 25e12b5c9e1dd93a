package memory

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The Zipf corpus: texts whose words follow a natural distribution (Zipf
// exponent 1 over a vocabulary of 50,000, so that the commonest word is in
// most memories, as "the" would be if it were not a stopword), searched
// with queries of common words, of rare words and of both. make bench's own
// corpus (exponent 1.1, queries of mid-frequency words) hides what a query
// of common words costs; this one shows it.

const (
	zipfVocab        = 50_000
	zipfCommonRanks  = 50    // a common word is one of the 50 most frequent
	zipfRareFrom     = 1_000 // a rare one is ranked 1,000th or lower
	zipfClassQueries = 60
)

// queryClass is a kind of keyword query and its queries.
type queryClass struct {
	name    string
	queries []string
}

// zipfTable draws word ranks with P(rank r) proportional to 1/(r+1)^s.
// rand.NewZipf needs s > 1; this takes s = 1 too.
type zipfTable struct{ cum []float64 }

func newZipfTable(s float64, vocab int) *zipfTable {
	t := &zipfTable{cum: make([]float64, vocab)}
	sum := 0.0
	for r := range vocab {
		sum += math.Pow(float64(r+1), -s)
		t.cum[r] = sum
	}
	return t
}

func (t *zipfTable) draw(rng *rand.Rand) uint64 {
	u := rng.Float64() * t.cum[len(t.cum)-1]
	return uint64(min(sort.SearchFloat64s(t.cum, u), len(t.cum)-1))
}

// newZipfCorpus is newCorpus with Zipf-distributed texts and three classes
// of keyword queries: common (two or three of the 50 commonest words), rare
// (two words ranked 1,000th or lower) and mixed (two common words and a
// rare one). Each query has a vector near a cluster, as newCorpus's do.
func newZipfCorpus(n int, seed uint64) *corpus {
	c := newCorpus(n, seed)
	table := newZipfTable(1.0, zipfVocab)
	c.words = func(rng *rand.Rand) func() uint64 { return func() uint64 { return table.draw(rng) } }
	rng := rand.New(rand.NewPCG(seed, seed+2))
	c.queries, c.qvecs = nil, nil
	c.classes = zipfClasses(rng, zipfCommonRanks, zipfRareFrom, zipfVocab)
	for _, qc := range c.classes {
		for _, q := range qc.queries {
			c.queries = append(c.queries, q)
			c.qvecs = append(c.qvecs, around(rng, c.centres[rng.IntN(len(c.centres))], 0.6))
		}
	}
	return c
}

// zipfClasses are zipfClassQueries queries of each class, of words "wN"
// with N the word's rank: common words are ranked below commonRanks, rare
// ones from rareFrom to vocab.
func zipfClasses(rng *rand.Rand, commonRanks, rareFrom, vocab int) []queryClass {
	pick := func(lo, hi int, k int, into []int) []int {
		for len(into) < k {
			if w := lo + rng.IntN(hi-lo); !slices.Contains(into, w) {
				into = append(into, w)
			}
		}
		return into
	}
	kinds := []struct {
		name         string
		common, rare func() int
	}{
		{"common", func() int { return 2 + rng.IntN(2) }, func() int { return 0 }},
		{"rare", func() int { return 0 }, func() int { return 2 }},
		{"mixed", func() int { return 2 }, func() int { return 1 }},
	}
	var out []queryClass
	for _, k := range kinds {
		qc := queryClass{name: k.name}
		for range zipfClassQueries {
			ws := pick(0, commonRanks, k.common(), nil)
			ws = pick(rareFrom, vocab, len(ws)+k.rare(), ws)
			q := make([]string, len(ws))
			for i, w := range ws {
				q[i] = fmt.Sprintf("w%d", w)
			}
			qc.queries = append(qc.queries, strings.Join(q, " "))
		}
		out = append(out, qc)
	}
	return out
}

// zipfSizes are benchSizes up to 100,000: the targets on this corpus are
// at 100k, and a 1M build would add minutes to make bench.
func zipfSizes() []int {
	var out []int
	for _, n := range benchSizes() {
		if n <= 100_000 {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkSearchZipf is BenchmarkSearch on the Zipf corpus, by query class.
func BenchmarkSearchZipf(b *testing.B) {
	for _, n := range zipfSizes() {
		bv := loadedCorpus(b, "zipf", n, func() *corpus { return newZipfCorpus(n, uint64(n)+1) })
		for _, mode := range []Mode{Keyword, Hybrid} {
			for _, qc := range bv.c.classes {
				b.Run(fmt.Sprintf("%s/%s/n=%d", mode, qc.name, n), func(b *testing.B) {
					latencies(b, func(i int) {
						q := qc.queries[i%len(qc.queries)]
						if _, err := bv.v.Search(context.Background(), Query{Text: q, Mode: mode, Limit: 10}); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}

// The Zipf corpus is what it says: its commonest word is in most memories,
// a common query word in many, a rare one in few.
func TestZipfCorpusHasCommonAndRareWords(t *testing.T) {
	ctx := context.Background()
	c := newZipfCorpus(2000, 5)
	c.chunk = 1000
	bv, err := buildBenchVault(ctx, t.TempDir()+"/vault.db", c)
	if err != nil {
		t.Fatal(err)
	}
	v := bv.open(t)
	defer v.Close()
	docs := func(w string) int {
		df, err := v.termDocs(ctx, memoryIndex, blindTokens(memoryIndex.key(v.keys), []string{w}))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range df {
			return d
		}
		return 0
	}
	if d := docs("w0"); d < c.n/2 {
		t.Errorf("the commonest word is in %d of %d memories, want most", d, c.n)
	}
	if d := docs("w40"); d < c.n/50 {
		t.Errorf("a common word (rank 40) is in %d of %d memories, want over 2%%", d, c.n)
	}
	if d := docs("w20000"); d > c.n/100 {
		t.Errorf("a rare word (rank 20000) is in %d of %d memories, want under 1%%", d, c.n)
	}
	if len(c.classes) != 3 || len(c.queries) != 3*zipfClassQueries {
		t.Fatalf("%d query classes, %d queries", len(c.classes), len(c.queries))
	}
}
