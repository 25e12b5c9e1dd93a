package memory

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"

	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Benchmarks run on seeded synthetic corpora: 768-dimension vectors drawn
// around 1,000 cluster centres (so that nearest neighbours are meaningful)
// and texts drawn from a Zipf-distributed vocabulary. Figures are reported
// with b.ReportMetric: p50/p95 latency in ms, recall@10, vault size in MB.

const benchDim = 768

type corpus struct {
	n       int
	texts   []string
	vecs    [][]float32
	queries []string // keyword queries
	qvecs   [][]float32
}

func makeCorpus(n int, seed uint64) *corpus {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	zipf := rand.NewZipf(rng, 1.1, 1, 20000)
	centres := make([][]float32, 1000)
	for i := range centres {
		centres[i] = gaussian(rng, benchDim, 1)
	}
	c := &corpus{n: n}
	for range n {
		var sb strings.Builder
		for w := range 12 + rng.IntN(20) {
			if w > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "w%d", zipf.Uint64())
		}
		c.texts = append(c.texts, sb.String())
		c.vecs = append(c.vecs, around(rng, centres[rng.IntN(len(centres))], 0.6))
	}
	for range 200 {
		c.queries = append(c.queries, fmt.Sprintf("w%d w%d", 20+rng.IntN(2000), 20+rng.IntN(2000)))
		c.qvecs = append(c.qvecs, around(rng, centres[rng.IntN(len(centres))], 0.6))
	}
	return c
}

func gaussian(rng *rand.Rand, dim int, sd float64) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * sd)
	}
	return v
}

func around(rng *rand.Rand, centre []float32, spread float64) []float32 {
	v := gaussian(rng, len(centre), spread)
	for i := range v {
		v[i] += centre[i]
	}
	normalize(v)
	return v
}

// tableEmbedder returns fixed vectors for known texts, so benchmarks measure
// the vault, not an embedding model.
type tableEmbedder struct {
	vecs map[string][]float32
}

func (e *tableEmbedder) Model() string { return "bench-table" }
func (e *tableEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, ok := e.vecs[t]
		if !ok {
			return nil, fmt.Errorf("no vector for %q", t)
		}
		out[i] = slices.Clone(v)
	}
	return out, nil
}

type benchVault struct {
	cfg Config
	c   *corpus
	emb *tableEmbedder
	dir string
}

var (
	benchVaultsMu sync.Mutex
	benchVaults   = map[int]*benchVault{}
)

// loadedVault builds (once per process and size) a vault of n memories with
// embeddings, written in large transactions as an import would.
func loadedVault(b *testing.B, n int) *benchVault {
	benchVaultsMu.Lock()
	defer benchVaultsMu.Unlock()
	if bv, ok := benchVaults[n]; ok {
		return bv
	}
	ctx := context.Background()
	c := makeCorpus(n, uint64(n))
	emb := &tableEmbedder{vecs: map[string][]float32{}}
	for i, q := range c.queries {
		emb.vecs[q] = c.qvecs[i]
		emb.vecs[fmt.Sprintf("vector query %d", i)] = c.qvecs[i]
	}
	dir, err := os.MkdirTemp("", "cairn-bench-")
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Path: dir + "/vault.db", Embedder: emb, KDF: DefaultKDF}
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	for start := 0; start < n; start += batch {
		err := v.withTx(ctx, func(tx *sql.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				id := uuid.Must(uuid.NewV7()).String()
				now := time.Now().UTC()
				p := itemPayload{Kind: Fact, Text: c.texts[i], CreatedAt: now, UpdatedAt: now}
				rec, raw, err := v.sealItem(ctx, tx, v.keys, id, &p)
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
				if _, err := insertEmbedding(ctx, tx, v.keys, rid, id, emb.Model(), c.vecs[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	v.Checkpoint(ctx)
	v.Close()
	bv := &benchVault{cfg: cfg, c: c, emb: emb, dir: dir}
	benchVaults[n] = bv
	return bv
}

func (bv *benchVault) open(b *testing.B) *Vault {
	v, err := Open(context.Background(), bv.cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Unlock(context.Background(), testPass); err != nil {
		b.Fatal(err)
	}
	return v
}

func (bv *benchVault) sizeMB() float64 {
	fi, err := os.Stat(bv.cfg.Path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / 1e6
}

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

var allBenchSizes = []int{10_000, 100_000}

// benchSizes are the vault sizes to measure: -short keeps to the smallest.
func benchSizes() []int {
	if testing.Short() {
		return allBenchSizes[:1]
	}
	return allBenchSizes
}

func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		v := bv.open(b)
		for _, mode := range []Mode{Keyword, Vector, Hybrid} {
			b.Run(fmt.Sprintf("%s/n=%d", mode, n), func(b *testing.B) {
				latencies(b, func(i int) {
					q := bv.c.queries[i%len(bv.c.queries)]
					if _, err := v.Search(context.Background(), Query{Text: q, Mode: mode, Limit: 10}); err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(bv.sizeMB(), "vault-MB")
			})
		}
		v.Close()
	}
}

// BenchmarkVectorScan compares the int8 scan of every vector with a plain
// read of the same bytes (bytes.IndexByte for a value quantisation never
// produces, which the Go runtime does at memory speed), in the same run; and
// times nearest(), which above bitsThreshold rows first compares sign bits.
func BenchmarkVectorScan(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		v := bv.open(b)
		x := v.vectors
		raw := make([]byte, len(x.data))
		for i, d := range x.data {
			raw[i] = byte(d)
		}
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
		v.Close()
	}
}

// BenchmarkRecall measures recall@10 of the vault's vector search (int8 scan
// plus exact rescoring) against exact float32 search.
func BenchmarkRecall(b *testing.B) {
	for _, n := range benchSizes() {
		bv := loadedVault(b, n)
		v := bv.open(b)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var hit, total int
			for i := 0; b.Loop(); i++ {
				qi := i % len(bv.c.qvecs)
				exact := exactTop(bv.c, bv.c.qvecs[qi], 10)
				res, err := v.Search(context.Background(), Query{Text: fmt.Sprintf("vector query %d", qi), Mode: Vector, Limit: 10})
				if err != nil {
					b.Fatal(err)
				}
				got := map[string]bool{}
				for _, r := range res {
					got[r.Text] = true
				}
				for _, e := range exact {
					total++
					if got[bv.c.texts[e]] {
						hit++
					}
				}
			}
			b.ReportMetric(float64(hit)/float64(total), "recall@10")
		})
		v.Close()
	}
}

func exactTop(c *corpus, q []float32, k int) []int {
	type scored struct {
		i int
		s float32
	}
	all := make([]scored, len(c.vecs))
	for i, v := range c.vecs {
		all[i] = scored{i, dot(q, v)}
	}
	slices.SortFunc(all, func(a, b scored) int { return cmpScore(b.s, a.s) })
	out := make([]int, k)
	for i := range out {
		out[i] = all[i].i
	}
	return out
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
			v := bv.open(b)
			defer v.Close()
			rng := rand.New(rand.NewPCG(9, 9))
			latencies(b, func(i int) {
				text := fmt.Sprintf("added memory %d about w%d", i, rng.IntN(1000))
				bv.emb.vecs[text] = gaussian(rng, benchDim, 1)
				if _, err := v.Add(context.Background(), NewItem{Text: text}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// chatVault builds a vault of n messages in conversations of perConv, user
// and assistant turns of 100 to 2,000 bytes (about 1 KB on average), written
// in large transactions as an import would.
func chatVault(b *testing.B, n, perConv int) (*Vault, []string) {
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
