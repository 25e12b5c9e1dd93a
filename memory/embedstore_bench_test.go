package memory

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// poolEmbedder returns one of a fixed pool of unit vectors for each text
// (by a hash of it), so that BenchmarkEmbedStore measures storing vectors,
// not making them.
type poolEmbedder struct {
	model string
	pool  [][]float32
}

func newPoolEmbedder(model string, dim, size int) *poolEmbedder {
	rng := rand.New(rand.NewPCG(7, 7))
	e := &poolEmbedder{model: model}
	for range size {
		e.pool = append(e.pool, gaussian(rng, dim, 1))
	}
	return e
}

func (e *poolEmbedder) Model() string { return e.model }

func (e *poolEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		h := fnv.New32a()
		h.Write([]byte(t))
		out[i] = append([]float32(nil), e.pool[h.Sum32()%uint32(len(e.pool))]...)
	}
	return out, nil
}

// BenchmarkEmbedStore is the build rate of the embedding index: memories
// that arrived without a vector (sync, import) embedded by Refresh and
// stored, sealed twice (float32 and int8) and committed with fsync, into a
// vault of n, 768 dimensions. rows=32 is the commit per embedder call of
// before, measured beside the current batching (rows=2048).
func BenchmarkEmbedStore(b *testing.B) {
	sizes := []int{100_000}
	if testing.Short() {
		sizes = []int{10_000}
	}
	const chunk = 5000 // memories embedded in one timed Refresh
	ctx := context.Background()
	for _, n := range sizes {
		v, _, err := Create(ctx, testConfig(b, nil), testPass)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.SetEmbedder(ctx, newPoolEmbedder("pool-768", 768, 4096)); err != nil {
			b.Fatal(err)
		}
		feed := newApplyFeed(uint64(n))
		arrive := func(count int) {
			for i := 0; i < count; i += applyBatch {
				if _, err := v.ApplyBatch(ctx, feed.sealedBatch(v.keys, KindMemory, applyBatch)); err != nil {
					b.Fatal(err)
				}
			}
		}
		arrive(n)
		if err := v.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		for _, rows := range []int{32, 2048} {
			b.Run(fmt.Sprintf("n=%d/rows=%d", n, rows), func(b *testing.B) {
				defer func(was int) { embedStoreRows = was }(embedStoreRows)
				embedStoreRows = rows
				stored, elapsed, cpu := 0, time.Duration(0), time.Duration(0)
				for b.Loop() {
					b.StopTimer()
					arrive(chunk)
					b.StartTimer()
					t0, cpu0 := time.Now(), memtest.ProcessCPU()
					if err := v.Refresh(ctx); err != nil {
						b.Fatal(err)
					}
					elapsed += time.Since(t0)
					cpu += memtest.ProcessCPU() - cpu0
					stored += chunk
				}
				if st, err := v.EmbeddingStatus(ctx); err != nil || st.Embedded != st.Total {
					b.Fatalf("after Refresh: %+v %v", st, err)
				}
				b.ReportMetric(float64(stored)/elapsed.Seconds(), "records/s")
				b.ReportMetric(1e5*elapsed.Seconds()/float64(stored), "s/100k")
				b.ReportMetric(float64(cpu.Microseconds())/float64(stored), "cpu-µs/record")
			})
		}
		v.Close()
	}
}
