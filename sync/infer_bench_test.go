package sync

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/ollama/ollama/api"
)

// inferTiming is one streamed chat as its caller saw it.
type inferTiming struct {
	firstToken time.Duration // request sent to the first piece of text
	tokensPerS float64       // tokens after the first, over the time they took
}

// timedChat runs one streamed chat of predict tokens and times it.
func timedChat(b *testing.B, c *api.Client, predict int) inferTiming {
	req := chatReq("Tell me about the sea.", predict)
	req.Options["num_ctx"] = 1024
	var first, last time.Time
	var tokens int
	start := time.Now()
	if err := c.Chat(context.Background(), req, func(r api.ChatResponse) error {
		now := time.Now()
		if r.Message.Content != "" && first.IsZero() {
			first = now
		}
		if r.Done {
			last, tokens = now, r.EvalCount
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if first.IsZero() || tokens < 2 || !last.After(first) {
		b.Fatalf("the reply had no text, or a single token (%d)", tokens)
	}
	return inferTiming{firstToken: first.Sub(start), tokensPerS: float64(tokens-1) / last.Sub(first).Seconds()}
}

// quantile is the q-quantile of xs (nearest rank); xs is sorted in place.
func quantile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	i := int(q*float64(len(xs))+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// inferRounds is the fewest rounds a run measures, so that its p95 is
// more than its maximum.
const inferRounds = 12

// BenchmarkInferThroughDevice: time to the first token and tokens/s of a
// streamed chat (tiny model, 128 tokens) through a paired device's
// /cairn/infer/1.0.0 on loopback (paired) and through a circuit relay on
// loopback (relay), each against the same Ollama called directly. One
// round is one chat of each kind, in an order that rotates from round to
// round, so that load on a shared machine falls on all three alike; each
// path's figures are against the direct call of the same round: the first
// token's added milliseconds (p50, p95) and the tokens/s ratio (p50, and
// p5: the slowest rounds). Targets: at most 5 ms added, ratio at least
// 0.95. ns/op is one round.
func BenchmarkInferThroughDevice(b *testing.B) {
	const predict = 128
	srv := realOllama(b)
	key, _, _ := crypto.GenerateEd25519Key(nil)
	r, err := NewRelay(key, []string{"/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	ra, rd := relayedPair(b, r.Addrs()[0].String()+"/p2p/"+r.ID().String(), nil)
	pa, pd := newDevice(b, "desk"), newDevice(b, "laptop")
	pair(b, pa, pd)
	ra.node.ShareModels(srv.URL)
	pa.node.ShareModels(srv.URL)
	clients := []*api.Client{api.NewClient(srv.URL, http.DefaultClient), through(pd, pa), through(rd, ra)}
	paths := []string{"direct", "paired", "relay"}
	// The model loaded, the connections up, the prompt cached: what is
	// left to compare is the path.
	for _, c := range clients {
		timedChat(b, c, predict)
	}
	rounds := max(b.N, inferRounds)
	added := make([][]float64, len(paths))
	ratio := make([][]float64, len(paths))
	var directFirst, directRate []float64
	b.ResetTimer()
	start := time.Now()
	for i := range rounds {
		got := make([]inferTiming, len(paths))
		for k := range paths {
			p := (i + k) % len(paths)
			got[p] = timedChat(b, clients[p], predict)
		}
		directFirst = append(directFirst, got[0].firstToken.Seconds()*1000)
		directRate = append(directRate, got[0].tokensPerS)
		for p := 1; p < len(paths); p++ {
			added[p] = append(added[p], (got[p].firstToken-got[0].firstToken).Seconds()*1000)
			ratio[p] = append(ratio[p], got[p].tokensPerS/got[0].tokensPerS)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(rounds), "ns/op")
	b.ReportMetric(quantile(directFirst, 0.5), "direct-first-token-ms-p50")
	b.ReportMetric(quantile(directRate, 0.5), "direct-tokens/s-p50")
	for p := 1; p < len(paths); p++ {
		b.ReportMetric(quantile(added[p], 0.5), paths[p]+"-added-ms-p50")
		b.ReportMetric(quantile(added[p], 0.95), paths[p]+"-added-ms-p95")
		b.ReportMetric(quantile(ratio[p], 0.5), paths[p]+"-tokens/s-ratio-p50")
		b.ReportMetric(quantile(ratio[p], 0.05), paths[p]+"-tokens/s-ratio-p5")
	}
}
