package gym

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// words draws item texts that share no run of words with each other,
// so that benchmark items are neither duplicates nor near-duplicates.
type words struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newWords(seed uint64) *words { return &words{rng: rand.New(rand.NewPCG(seed, 0))} }

func (w *words) text(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "w%x", w.rng.Uint32())
	}
	return b.String()
}

// benchEnvelope signs an envelope of per SFT items of about 300 bytes.
func benchEnvelope(gymID string, key ed25519.PrivateKey, pub PublicKey, w *words, per int) Signed {
	env := Envelope{Schema: SchemaVersion, Gym: gymID, ID: newID(), Created: time.Now(), Contributor: pub, License: testLicense}
	for range per {
		env.Items = append(env.Items, sftItem(w.text(30)).Item)
	}
	s, _ := sign(key, domainEnvelope, env)
	return s
}

// acceptedOf counts the accepted items of a signed receipt.
func acceptedOf(s *Signed) int {
	var r Receipt
	if json.Unmarshal(s.Body, &r) != nil {
		return 0
	}
	k := 0
	for _, it := range r.Items {
		if it.Status == StatusAccepted {
			k++
		}
	}
	return k
}

// BenchmarkGymLoad: 50 contributors, each with its own key, send
// envelopes of 20 SFT items to one gym node at once, over loopback HTTP
// and over libp2p (a fresh libp2p identity and Noise handshake a send, as
// contributors dial). Every item must be accepted. items/s is accepted
// items a second; log-appends/s the leaves the transparency log grew by a
// second (one an accepted item, with the same transaction); and
// checkpoints/s the signed tree heads, one a receipt.
func BenchmarkGymLoad(b *testing.B) {
	for _, via := range []string{"http", "libp2p"} {
		b.Run(via, func(b *testing.B) {
			const contributors, per = 50, 20
			g := startGym(b, NodeConfig{License: testLicense, Limits: Limits{MaxItemBytes: 256 << 10, MaxEnvelopeItems: 500, ItemsPerHour: 1 << 30}})
			addr := g.url
			if via == "libp2p" {
				addr = g.p2pAddr
			}
			w := newWords(2)
			keys := make([]ed25519.PrivateKey, contributors)
			for i := range keys {
				_, keys[i], _ = ed25519.GenerateKey(nil)
			}
			envs := make([]Signed, b.N)
			for i := range envs {
				k := keys[i%contributors]
				envs[i] = benchEnvelope(g.ID(), k, EncodeKey(k.Public().(ed25519.PublicKey)), w, per)
			}
			ctx := context.Background()
			before := g.logSize(b)
			var next, accepted atomic.Int64
			var failed atomic.Value
			var wg sync.WaitGroup
			b.ResetTimer()
			for range contributors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t, err := transportFor(addr)
					if err != nil {
						failed.Store(err)
						return
					}
					for i := next.Add(1) - 1; i < int64(len(envs)); i = next.Add(1) - 1 {
						resp, err := t.do(ctx, request{Op: "contribute", Signed: &envs[i]})
						if err == nil && resp.Receipt == nil {
							err = fmt.Errorf("refused: %s %s", resp.Refused, resp.Reason)
						}
						if err != nil {
							failed.Store(err)
							return
						}
						accepted.Add(int64(acceptedOf(resp.Receipt)))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			if accepted.Load() != int64(b.N*per) {
				b.Fatalf("%d items accepted of %d", accepted.Load(), b.N*per)
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(accepted.Load())/secs, "items/s")
			b.ReportMetric(float64(g.logSize(b)-before)/secs, "log-appends/s")
			b.ReportMetric(float64(b.N)/secs, "checkpoints/s")
		})
	}
}

func (g *testGym) logSize(tb testing.TB) int64 {
	n, err := logStore{context.Background(), g.db}.size()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
