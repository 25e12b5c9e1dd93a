package sync

import (
	"context"
	"net/http"
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

// BenchmarkInferThroughDevice: time to the first token and tokens/s of a
// streamed chat (tiny model, 128 tokens) through a paired device's
// /cairn/infer/1.0.0 on loopback, and through a circuit relay on loopback,
// each against the same Ollama called directly, alternately in the same
// run (targets: at most 5 ms added to the first token, tokens/s within 5%).
func BenchmarkInferThroughDevice(b *testing.B) {
	const predict = 128
	srv := realOllama(b)
	direct := api.NewClient(srv.URL, http.DefaultClient)
	for _, path := range []string{"paired", "relay"} {
		b.Run(path, func(b *testing.B) {
			var a, d *device
			if path == "relay" {
				key, _, _ := crypto.GenerateEd25519Key(nil)
				r, err := NewRelay(key, []string{"/ip4/127.0.0.1/tcp/0"})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { r.Close() })
				a, d = relayedPair(b, r.Addrs()[0].String()+"/p2p/"+r.ID().String(), nil)
			} else {
				a, d = newDevice(b, "desk"), newDevice(b, "laptop")
				pair(b, a, d)
			}
			a.node.ShareModels(srv.URL)
			via := through(d, a)
			// The model loaded, the connection up, the prompt cached: what
			// is left to compare is the path.
			timedChat(b, direct, predict)
			timedChat(b, via, predict)
			b.ResetTimer()
			var viaFirst, dirFirst time.Duration
			var viaRate, dirRate float64
			for range b.N {
				dt := timedChat(b, direct, predict)
				vt := timedChat(b, via, predict)
				dirFirst += dt.firstToken
				viaFirst += vt.firstToken
				dirRate += dt.tokensPerS
				viaRate += vt.tokensPerS
			}
			n := float64(b.N)
			b.ReportMetric(viaFirst.Seconds()*1000/n, "first-token-ms")
			b.ReportMetric(dirFirst.Seconds()*1000/n, "direct-first-token-ms")
			b.ReportMetric((viaFirst-dirFirst).Seconds()*1000/n, "added-ms")
			b.ReportMetric(viaRate/n, "tokens/s")
			b.ReportMetric(dirRate/n, "direct-tokens/s")
			b.ReportMetric(viaRate/dirRate, "tokens/s-ratio")
		})
	}
}
