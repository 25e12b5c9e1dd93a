package memory

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// Benchmarks run on the seeded vaults of benchvault_test.go. Figures are
// reported with b.ReportMetric: p50/p95 latency in ms, recall@10, vault
// size in MB.

// latencies records one duration per b.Loop iteration and reports p50/p95.
func latencies(b *testing.B, fn func(i int)) {
	var ds []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		fn(i)
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	pct := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
}

func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		for _, mode := range []Mode{Keyword, Vector, Hybrid} {
			b.Run(fmt.Sprintf("%s/n=%d", mode, n), func(b *testing.B) {
				latencies(b, func(i int) {
					q := bv.c.queries[i%len(bv.c.queries)]
					if _, err := bv.v.Search(context.Background(), Query{Text: q, Mode: mode, Limit: 10}); err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(bv.sizeMB(), "vault-MB")
			})
		}
		// Vector search for the hard recall sets' queries, where the
		// sign-bit pass widens or gives way to a whole scan.
		for _, set := range []string{setBetween, setRandom} {
			qs := bv.c.recallSet(set)
			b.Run(fmt.Sprintf("vector-%s/n=%d", set, n), func(b *testing.B) {
				latencies(b, func(i int) {
					if _, err := bv.v.Search(context.Background(), Query{Text: qs[i%len(qs)].text, Mode: Vector, Limit: 10}); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkVectorScan compares the int8 scan of every vector with a plain
// read of the same bytes (bytes.IndexByte for a value quantisation never
// produces, which the Go runtime does at memory speed), in the same run; and
// times nearest(), which above bitsThreshold rows first compares sign bits.
// The plain read is the floor any search that looks at every vector pays.
func BenchmarkVectorScan(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		x := bv.v.vectors
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&x.data[0])), len(x.data))
		qi := make([]int8, x.dim)
		quantize(bv.c.qvecs[0], qi)
		scores := make([]int32, x.len())
		b.Run(fmt.Sprintf("int8/n=%d", n), func(b *testing.B) {
			latencies(b, func(int) { scanInt8(x.data, x.dim, qi, scores) })
			b.SetBytes(int64(len(raw)))
		})
		b.Run(fmt.Sprintf("plain/n=%d", n), func(b *testing.B) {
			latencies(b, func(int) {
				if bytes.IndexByte(raw, 0x80) >= 0 {
					b.Fatal("quantised data holds -128")
				}
			})
			b.SetBytes(int64(len(raw)))
		})
		b.Run(fmt.Sprintf("nearest/n=%d", n), func(b *testing.B) {
			latencies(b, func(i int) { x.nearest(bv.c.qvecs[i%len(bv.c.qvecs)], 50) })
		})
		random := bv.c.recallSet(setRandom)
		b.Run(fmt.Sprintf("nearest-random/n=%d", n), func(b *testing.B) {
			latencies(b, func(i int) { x.nearest(random[i%len(random)].vec, 50) })
		})
	}
}

// BenchmarkTextScan is a plain read of every memory's text, decrypted and
// held in memory (what grep over the plaintext would cost, with no index):
// the floor keyword search is compared with.
func BenchmarkTextScan(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		all := []byte(strings.Join(bv.c.texts, "\n"))
		b.Run(fmt.Sprintf("plain/n=%d", n), func(b *testing.B) {
			latencies(b, func(int) {
				if bytes.IndexByte(all, 0) >= 0 {
					b.Fatal("a memory text holds a NUL byte")
				}
			})
			b.SetBytes(int64(len(all)))
		})
	}
}

// BenchmarkRecall measures recall@10 of the vault's vector search (int8 scan,
// above 20,000 vectors after a sign-bit pass, then exact rescoring) against
// exact float32 search, for each recall set (near, between clusters, random
// directions) of recallQueries(n) queries whose exact answers were found
// while the vault was built.
func BenchmarkRecall(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		for _, set := range recallSets {
			b.Run(fmt.Sprintf("%s/n=%d", set, n), func(b *testing.B) {
				var r float64
				for b.Loop() {
					r = cairnRecall(b, bv, set)
				}
				b.ReportMetric(r, "recall@10")
				b.ReportMetric(float64(recallQueries(n)), "queries")
			})
		}
	}
}

// cairnRecall is the share of the exact top 10 that the vault's vector
// search returns, over the corpus's queries of one recall set.
func cairnRecall(b *testing.B, bv *benchVault, set string) float64 {
	return recallOf(bv.c, set, func(q recallQuery) []string {
		res, err := bv.v.Search(context.Background(), Query{Text: q.text, Mode: Vector, Limit: 10})
		if err != nil {
			b.Fatal(err)
		}
		texts := make([]string, len(res))
		for i, r := range res {
			texts[i] = r.Text
		}
		return texts
	})
}

// recallOf is the share of the exact top 10 found by search over the
// queries of one recall set. Answers are compared by text, as a person
// would see them: a memory whose text another one repeats counts either.
func recallOf(c *corpus, set string, search func(recallQuery) []string) float64 {
	var hit, total int
	for _, q := range c.recall {
		if q.set != set {
			continue
		}
		got := map[string]bool{}
		for _, text := range search(q) {
			got[text] = true
		}
		for _, row := range q.exact {
			total++
			if got[c.texts[row]] {
				hit++
			}
		}
	}
	return float64(hit) / float64(max(total, 1))
}

// BenchmarkUnlock is unlocking (Argon2id with the default parameters) and
// building the in-memory index from the sealed embeddings.
func BenchmarkUnlock(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			latencies(b, func(int) { bv.open(b).Close() })
			b.ReportMetric(bv.sizeMB(), "vault-MB")
		})
	}
	b.Run("kdf-only", func(b *testing.B) {
		p := DefaultKDF
		p.Salt = make([]byte, saltSize)
		latencies(b, func(int) { p.derive(testPass) })
	})
}

// BenchmarkAdd is one memory added and committed (fsync'd) at a time, with
// its embedding, into a vault of n.
func BenchmarkAdd(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 9))
			latencies(b, func(i int) {
				text := fmt.Sprintf("added memory %d about w%d", i, rng.IntN(1000))
				bv.emb.set(text, gaussian(rng, benchDim, 1))
				if _, err := bv.v.Add(context.Background(), NewItem{Text: text}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// chatVault builds a vault of n messages in conversations of perConv, user
// and assistant turns of 100 to 2,000 bytes (about 1 KB on average), written
// in large transactions as an import would.
func chatVault(b testing.TB, n, perConv int) (*Vault, []string) {
	ctx := context.Background()
	cfg := testConfig(b, nil)
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	rng := rand.New(rand.NewPCG(7, 7))
	zipf := rand.NewZipf(rng, 1.1, 1, 20000)
	var convs []string
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		var conv, parent string
		for i := range n {
			if i%perConv == 0 {
				conv, parent = uuid.Must(uuid.NewV7()).String(), ""
				now := time.Now().UTC()
				p := conversationPayload{Title: fmt.Sprintf("conversation %d", len(convs)), CreatedAt: now, UpdatedAt: now}
				rec, _, err := v.sealRecord(ctx, tx, v.keys, conv, KindConversation, &p)
				if err != nil {
					return err
				}
				if _, err := insertRecord(ctx, tx, rec); err != nil {
					return err
				}
				convs = append(convs, conv)
			}
			var sb strings.Builder
			for size := 100 + rng.IntN(1900); sb.Len() < size; {
				fmt.Fprintf(&sb, "w%d ", zipf.Uint64())
			}
			role := RoleUser
			if i%2 == 1 {
				role = RoleAssistant
			}
			id := uuid.Must(uuid.NewV7()).String()
			p := messagePayload{ConversationID: conv, CreatedAt: time.Now().UTC(), ParentID: parent, Role: role, Content: sb.String()}
			rec, raw, err := v.sealRecord(ctx, tx, v.keys, id, KindMessage, &p)
			if err != nil {
				return err
			}
			rid, err := insertRecord(ctx, tx, rec)
			if err != nil {
				return err
			}
			if err := indexRecord(ctx, tx, v.keys, rid, rec, raw); err != nil {
				return err
			}
			parent = id
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return v, convs
}

// BenchmarkMessages lists conversations and reads one conversation's
// messages in a vault of 10,000 messages (100 conversations of 100). A
// message's conversation is sealed inside it: the first listing after
// unlock (cold) opens every message; later ones fold in what changed.
func BenchmarkMessages(b *testing.B) {
	const n, perConv = 10_000, 100
	v, convs := chatVault(b, n, perConv)
	ctx := context.Background()
	b.Run(fmt.Sprintf("conversations-cold/n=%d", n), func(b *testing.B) {
		latencies(b, func(int) {
			v.mu.Lock()
			v.heads, v.headsSeen = nil, 0 // as after unlock
			v.mu.Unlock()
			if cs, err := v.Conversations(ctx, 0); err != nil || len(cs) != n/perConv {
				b.Fatal(len(cs), err)
			}
		})
	})
	b.Run(fmt.Sprintf("conversations/n=%d", n), func(b *testing.B) {
		latencies(b, func(int) {
			if cs, err := v.Conversations(ctx, 0); err != nil || len(cs) != n/perConv {
				b.Fatal(len(cs), err)
			}
		})
	})
	b.Run(fmt.Sprintf("messages/n=%d", n), func(b *testing.B) {
		latencies(b, func(i int) {
			if ms, err := v.Messages(ctx, convs[i%len(convs)]); err != nil || len(ms) != perConv {
				b.Fatal(len(ms), err)
			}
		})
	})
	b.Run(fmt.Sprintf("search/n=%d", n), func(b *testing.B) {
		latencies(b, func(i int) {
			if _, err := v.SearchMessages(ctx, MessageQuery{Text: fmt.Sprintf("w%d w%d", 20+i%500, 100+i%700)}); err != nil {
				b.Fatal(err)
			}
		})
	})
}
