package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
)

// timed records when a chat request reaches the backend and when its
// first token comes back.
type timed struct {
	Backend
	sent, first time.Time
	last        ChatRequest
}

func (t *timed) Chat(ctx context.Context, req ChatRequest, onDelta func(Delta)) (ChatResponse, error) {
	t.sent, t.first, t.last = time.Now(), time.Time{}, req
	return t.Backend.Chat(ctx, req, func(d Delta) {
		if t.first.IsZero() {
			t.first = time.Now()
		}
		if onDelta != nil {
			onDelta(d)
		}
	})
}

var benchWords = strings.Fields(`garden bicycle sister Lisbon coffee piano marathon allergy peanuts
	daughter kindergarten nurse night shift cello dog Rex trains planes Berlin Porto kayak lighthouse
	keeper logbook tea green herbal mornings evenings books novels poetry jazz guitar hiking alps
	mountains ocean sailing boat cooking pasta curry vegetarian vegan gluten running swimming yoga`)

// BenchmarkChatOverhead measures what Cairn adds before the first token:
// storing the message, retrieving memories from a vault of 10k (hybrid
// search, the query embedded by the real server) and assembling the
// prompt, against the same request sent to the same Ollama directly.
// Before each measured request a different prompt runs, so neither side
// finds its prompt in Ollama's cache. "prepared" is the turn the UI warmed
// with the draft while the person typed (POST /api/v1/chat/prepare,
// untimed: it ran before Send), "cold" one sent without.
func BenchmarkChatOverhead(b *testing.B) {
	ctx := context.Background()
	ollama, emb, v := chatBenchSetup(b)
	rng := rand.New(rand.NewPCG(3, 4))
	sentence := func(n int) string { return benchSentence(rng, n) }
	for _, mode := range []string{"hybrid", "keyword"} {
		for _, prepared := range []bool{false, true} {
			name := "retrieval=" + mode + "/cold"
			if prepared {
				name = "retrieval=" + mode + "/prepared"
			}
			b.Run(name, func(b *testing.B) {
				var e memory.Embedder
				if mode == "hybrid" {
					e = emb
				}
				if err := v.SetEmbedder(ctx, e); err != nil {
					b.Fatal(err)
				}
				benchTurns(b, v, ollama, sentence, prepared)
			})
		}
	}
}

// chatBenchSetup is the real Ollama, its embedder and the shared vault.
func chatBenchSetup(b *testing.B) (*Ollama, *Embedder, *memory.Vault) {
	ollama := ollamaBackend()
	emb := NewEmbedder(ollama, ollamatest.Tiny)
	v, err := chatBenchVault(context.Background(), emb)
	if err != nil {
		b.Fatal(err)
	}
	return ollama, emb, v
}

func benchSentence(rng *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = benchWords[rng.IntN(len(benchWords))]
	}
	return strings.Join(w, " ")
}

// chatBench is the vault the chat benchmark retrieves from, built once per
// test process: adding and embedding 10k memories is most of the
// benchmark's time, and every -count run can share it. TestMain removes it.
// chatBenchCorpus is the past conversations in the chat benchmarks'
// vault, with the questions BenchmarkRecallOverhead asks.
func chatBenchCorpus() benchCorpus { return generateBench(11, 600, 12) }

var chatBench struct {
	once sync.Once
	dir  string
	v    *memory.Vault
	err  error
}

func chatBenchVault(ctx context.Context, emb memory.Embedder) (*memory.Vault, error) {
	chatBench.once.Do(func() {
		chatBench.dir, chatBench.err = os.MkdirTemp("", "cairn-chat-bench-")
		if chatBench.err == nil {
			chatBench.v, chatBench.err = buildChatBenchVault(ctx, filepath.Join(chatBench.dir, "vault.db"), emb)
		}
	})
	return chatBench.v, chatBench.err
}

func removeChatBenchVault() {
	if chatBench.v != nil {
		chatBench.v.Close()
	}
	if chatBench.dir != "" {
		os.RemoveAll(chatBench.dir)
	}
}

func buildChatBenchVault(ctx context.Context, path string, emb memory.Embedder) (*memory.Vault, error) {
	v, _, err := memory.Create(ctx, memory.Config{Path: path, KDF: testKDF}, []byte("correct horse battery staple"))
	if err != nil {
		return nil, err
	}
	const memories = 10_000
	// Memories mix the everyday words questions use with a long tail of
	// rarer ones, as real notes do.
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 20000)
	for range memories {
		text := benchSentence(rng, 3+rng.IntN(3))
		for range 6 + rng.IntN(6) {
			text += fmt.Sprintf(" w%d", zipf.Uint64())
		}
		if _, err := v.Add(ctx, memory.NewItem{Text: text}); err != nil {
			v.Close()
			return nil, err
		}
	}
	// Past conversations, for the passages a turn recalls beside
	// memories (about 10k messages).
	if _, _, err := storeCorpus(ctx, v, chatBenchCorpus()); err != nil {
		v.Close()
		return nil, err
	}
	// Embed the memories and the past messages in batches, as after a
	// model change, so that no background embedding of past messages
	// (queued after each turn) runs beside the measured requests.
	if err := v.SetEmbedder(ctx, emb); err != nil {
		v.Close()
		return nil, err
	}
	if err := v.EmbedPassages(ctx, nil); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func benchTurns(b *testing.B, v *memory.Vault, ollama *Ollama, sentence func(int) string, prepared bool) {
	ctx := context.Background()
	tb := &timed{Backend: ollama}
	a := newAgent(b, v, tb, Config{Model: ollamatest.Tiny, NumPredict: 4, Temperature: &zero, Seed: 7, NoExtraction: true, NoTools: true})
	flush := func() {
		_, err := ollama.Chat(ctx, ChatRequest{Model: ollamatest.Tiny, NumCtx: DefaultNumCtx, NumPredict: 1,
			Messages: []Message{{Role: "user", Content: "flush " + sentence(4)}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	var added, viaCairn, direct []time.Duration
	for b.Loop() {
		flush()
		question := "What do you know about my " + sentence(3) + "?"
		if prepared {
			if err := a.Prepare(ctx, PrepareRequest{Text: question}); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if _, err := a.Chat(ctx, TurnRequest{Text: question}, nil); err != nil {
			b.Fatal(err)
		}
		added = append(added, tb.sent.Sub(start))
		viaCairn = append(viaCairn, tb.first.Sub(start))
		req := tb.last
		flush()
		t0 := time.Now()
		var first time.Time
		if _, err := ollama.Chat(ctx, req, func(Delta) {
			if first.IsZero() {
				first = time.Now()
			}
		}); err != nil {
			b.Fatal(err)
		}
		direct = append(direct, first.Sub(t0))
	}
	p50 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	p95 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, len(ds)*95/100)].Microseconds()) / 1000
	}
	b.ReportMetric(p50(added), "added-p50-ms")
	b.ReportMetric(p95(added), "added-p95-ms")
	b.ReportMetric(p50(viaCairn), "ttft-cairn-p50-ms")
	b.ReportMetric(p50(direct), "ttft-direct-p50-ms")
	b.ReportMetric(p50(viaCairn)/p50(direct), "ttft-ratio")
}
