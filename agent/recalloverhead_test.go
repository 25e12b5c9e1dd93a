package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
)

// BenchmarkRecallOverhead is what recalling past messages adds to a
// turn's retrieval: memory-only retrieval (Passages: -1) against memories
// plus passages plus the second hop, the same questions in the same run,
// over the chat benchmarks' vault (10k memories, about 8k messages). The
// query embedding is warmed for both (untimed), so the figures are the
// searches themselves: what a turn waits for beyond the embedding.
func BenchmarkRecallOverhead(b *testing.B) {
	ctx := context.Background()
	ollama, emb, v := chatBenchSetup(b)
	questions := chatBenchCorpus().questions
	for _, mode := range []string{"hybrid", "keyword"} {
		b.Run("retrieval="+mode, func(b *testing.B) {
			var e memory.Embedder
			if mode == "hybrid" {
				e = emb
			}
			if err := v.SetEmbedder(ctx, e); err != nil {
				b.Fatal(err)
			}
			cfg := Config{Model: ollamatest.Tiny, NoExtraction: true, NoTools: true}
			full := newAgent(b, v, ollama, cfg)
			cfg.Passages = -1
			memOnly := newAgent(b, v, ollama, cfg)
			var mem, both []time.Duration
			i := 0
			for b.Loop() {
				q := recallQuery{Text: questions[i%len(questions)].text, Started: time.Now()}
				i++
				if err := v.WarmQuery(ctx, q.Text); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				memOnly.retrieve(ctx, q)
				t1 := time.Now()
				if got := full.retrieve(ctx, q); len(got) == 0 {
					b.Fatalf("nothing recalled for %q", q.Text)
				}
				mem, both = append(mem, t1.Sub(t0)), append(both, time.Since(t1))
			}
			pct := func(ds []time.Duration, p float64) float64 {
				ds = slices.Clone(ds)
				slices.Sort(ds)
				return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(mem, 0.5), "memory-p50-ms")
			b.ReportMetric(pct(mem, 0.95), "memory-p95-ms")
			b.ReportMetric(pct(both, 0.5), "with-passages-p50-ms")
			b.ReportMetric(pct(both, 0.95), "with-passages-p95-ms")
			b.ReportMetric(pct(both, 0.5)/max(pct(mem, 0.5), 0.001), "ratio-p50")
		})
	}
}
