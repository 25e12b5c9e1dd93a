package memory

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Benchmark vaults: seeded synthetic corpora of n memories with 768-dimension
// embeddings drawn around 1,000 cluster centres (so that nearest neighbours
// are meaningful) and texts drawn from a Zipf-distributed vocabulary. Each
// size is built once per test process, into a temp dir that TestMain
// removes, and opened once; every benchmark of that size shares it.
//
// Building goes straight to SQLite (prepared statements, one transaction per
// chunk, the sealing and tokenising on other goroutines), because a million
// memories added one by one would take most of the bench run. The rows are
// the ones Add and import write: sealed record, blind index entry, sealed
// float32 and int8 embeddings. TestBenchVaultIsAVault checks that a vault
// built this way opens, searches and reads back like any other.

const (
	benchDim       = 768
	benchClusters  = 1000
	benchChunkRows = 5000
	benchQueries   = 200
	benchVocab     = 20000
)

// benchSizes are the vault sizes to measure: -short keeps to the smallest,
// and CAIRN_BENCH_SIZES (comma-separated) picks others.
func benchSizes() []int {
	if testing.Short() {
		return sizesFrom("CAIRN_BENCH_SIZES", 10_000)
	}
	return sizesFrom("CAIRN_BENCH_SIZES", 10_000, 100_000, 1_000_000)
}

// sizesFrom is the comma-separated sizes in the environment variable env,
// or def when it is unset.
func sizesFrom(env string, def ...int) []int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("%s=%q: want sizes like 10000,100000", env, s))
		}
		out = append(out, n)
	}
	return out
}

// recallQueries is how many queries recall@10 is measured over: exact
// search costs n x 768 multiply-adds a query, so the 1M tier samples fewer.
func recallQueries(n int) int {
	if n > 200_000 {
		return 20
	}
	return 50
}

type corpus struct {
	n       int
	seed    uint64
	chunk   int // rows generated and written together
	centres [][]float32
	texts   []string      // row i's memory text
	queries []string      // keyword queries
	qvecs   [][]float32   // query vectors
	recall  []recallQuery // queries whose exact answers the build finds
	// words draws a text's words (their ranks) for one chunk; classes, when
	// set, are the keyword queries by kind (zipfbench_test.go).
	words   func(rng *rand.Rand) func() uint64
	classes []queryClass
}

// Recall is measured on three sets of query vectors: near ones (a stored
// vector's cluster, perturbed like the stored vectors are) and two hard
// ones, where a sign-bit prefilter is most likely to miss: points between
// two clusters, and fresh random directions (near no cluster, so the exact
// top 10 are won by small margins).
const (
	setNear    = "near"
	setBetween = "between"
	setRandom  = "random"
)

var recallSets = []string{setNear, setBetween, setRandom}

// recallQuery is one query vector of a recall set, the text the benchmark
// embedder maps to it, and its exact top 10 rows (found while the vault was
// built).
type recallQuery struct {
	set, text string
	vec       []float32
	exact     []int
}

// recallSet is the corpus's recall queries of one set.
func (c *corpus) recallSet(set string) []recallQuery {
	var out []recallQuery
	for _, q := range c.recall {
		if q.set == set {
			out = append(out, q)
		}
	}
	return out
}

func newCorpus(n int, seed uint64) *corpus {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	c := &corpus{n: n, seed: seed, chunk: benchChunkRows, texts: make([]string, n),
		words: func(rng *rand.Rand) func() uint64 { return rand.NewZipf(rng, 1.1, 1, benchVocab).Uint64 }}
	for range benchClusters {
		c.centres = append(c.centres, gaussian(rng, benchDim, 1))
	}
	for range benchQueries {
		c.queries = append(c.queries, fmt.Sprintf("w%d w%d", 20+rng.IntN(2000), 20+rng.IntN(2000)))
		c.qvecs = append(c.qvecs, around(rng, c.centres[rng.IntN(len(c.centres))], 0.6))
	}
	// The hard sets draw from their own generator, so the corpus and the
	// near queries stay what they were.
	hard := rand.New(rand.NewPCG(seed, seed+2))
	nq := min(recallQueries(n), len(c.qvecs))
	for i := range nq {
		c.recall = append(c.recall, recallQuery{set: setNear, text: fmt.Sprintf("vector query %d", i), vec: c.qvecs[i]})
	}
	for i := range nq {
		a, b := c.centres[hard.IntN(len(c.centres))], c.centres[hard.IntN(len(c.centres))]
		mid := make([]float32, benchDim)
		for d := range mid {
			mid[d] = (a[d] + b[d]) / 2
		}
		c.recall = append(c.recall, recallQuery{set: setBetween, text: fmt.Sprintf("between query %d", i), vec: around(hard, mid, 0.6)})
	}
	for i := range nq {
		v := gaussian(hard, benchDim, 1)
		normalize(v)
		c.recall = append(c.recall, recallQuery{set: setRandom, text: fmt.Sprintf("random query %d", i), vec: v})
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
	mu   sync.Mutex
	vecs map[string][]float32
}

func (e *tableEmbedder) Model() string { return "bench-table" }

func (e *tableEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
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

func (e *tableEmbedder) set(text string, v []float32) {
	e.mu.Lock()
	e.vecs[text] = v
	e.mu.Unlock()
}

type benchVault struct {
	cfg Config
	c   *corpus
	emb *tableEmbedder
	v   *Vault // opened once, shared by the benchmarks of this size
}

var (
	benchVaultsMu sync.Mutex
	benchVaults   = map[string]*benchVault{} // by corpus name and size
	benchDirs     []string
)

// removeBenchVaults closes and deletes every benchmark vault; TestMain calls
// it when the run ends.
func removeBenchVaults() {
	benchVaultsMu.Lock()
	defer benchVaultsMu.Unlock()
	for _, bv := range benchVaults {
		if bv.v != nil {
			bv.v.Close()
		}
	}
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
}

// loadedVault returns the benchmark vault of n memories, building it on
// first use in this process, unlocked.
func loadedVault(b testing.TB, n int) *benchVault {
	return loadedCorpus(b, "bench", n, func() *corpus { return newCorpus(n, uint64(n)) })
}

// loadedCorpus is loadedVault for the corpus of a name that mk makes.
func loadedCorpus(b testing.TB, name string, n int, mk func() *corpus) *benchVault {
	benchVaultsMu.Lock()
	defer benchVaultsMu.Unlock()
	key := fmt.Sprintf("%s/%d", name, n)
	if bv, ok := benchVaults[key]; ok {
		return bv
	}
	dir, err := os.MkdirTemp("", "cairn-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs = append(benchDirs, dir)
	t0 := time.Now()
	bv, err := buildBenchVault(context.Background(), dir+"/vault.db", mk())
	if err != nil {
		b.Fatalf("build a benchmark vault of %d memories (%s corpus): %v", n, name, err)
	}
	built := time.Since(t0)
	t0 = time.Now()
	bv.v = bv.open(b)
	b.Logf("benchmark vault of %d memories (%s corpus): built in %s, %.0f MB, opened in %s",
		n, name, built.Round(time.Millisecond), bv.sizeMB(), time.Since(t0).Round(time.Millisecond))
	benchVaults[key] = bv
	return bv
}

func buildBenchVault(ctx context.Context, path string, c *corpus) (*benchVault, error) {
	emb := &tableEmbedder{vecs: map[string][]float32{}}
	for i, q := range c.queries {
		emb.vecs[q] = c.qvecs[i]
	}
	for _, q := range c.recall {
		emb.vecs[q.text] = q.vec
	}
	cfg := Config{Path: path, Embedder: emb, KDF: DefaultKDF}
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	if err := bulkLoad(ctx, v, c, emb.Model()); err != nil {
		return nil, err
	}
	if err := v.Checkpoint(ctx); err != nil {
		return nil, err
	}
	return &benchVault{cfg: cfg, c: c, emb: emb}, nil
}

// benchRow is one memory, sealed and tokenised, ready to insert.
type benchRow struct {
	id, tokens                   string
	sealed, vecSealed, quantSeal []byte
}

type benchChunk struct {
	start int
	rows  []benchRow
	top   [][]scored // per recall query: this chunk's best 10 rows
}

type scored struct {
	row   int
	score float32
}

// bulkLoad writes the corpus's n memories. Chunks are generated (seeded by
// their index, so the corpus does not depend on scheduling) on every core
// and written in order by this goroutine. GOMAXPROCS is raised for the
// build only: the benchmarks themselves run on -cpu 1.
func bulkLoad(ctx context.Context, v *Vault, c *corpus, model string) error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU()))
	keys := v.keys
	tokens := newTokenCache(memoryIndex.key(keys))
	chunks := (c.n + c.chunk - 1) / c.chunk
	ready := make([]chan *benchChunk, chunks)
	for i := range ready {
		ready[i] = make(chan *benchChunk, 1)
	}
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range chunks {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	workers := max(1, runtime.NumCPU())
	// Two chunks in flight a worker keep everyone busy with bounded memory.
	inFlight := make(chan struct{}, 2*workers)
	for range workers {
		go func() {
			// Take a slot before a chunk number, so the lowest chunk not
			// yet written always has one.
			for {
				inFlight <- struct{}{}
				i, ok := <-next
				if !ok {
					<-inFlight
					return
				}
				ready[i] <- genChunk(c, keys, tokens, model, i)
			}
		}()
	}
	top := make([][]scored, len(c.recall))
	var clock Clock
	seq := int64(0)
	for i := range chunks {
		ch := <-ready[i]
		err := v.withTx(ctx, func(tx *sql.Tx) error {
			var err error
			clock, seq, err = writeChunk(ctx, tx, v.device, model, ch, clock, seq)
			return err
		})
		<-inFlight
		if err != nil {
			return err
		}
		for q := range top {
			top[q] = mergeTop(top[q], ch.top[q], 10)
		}
	}
	for q, t := range top {
		c.recall[q].exact = c.recall[q].exact[:0]
		for _, s := range t {
			c.recall[q].exact = append(c.recall[q].exact, s.row)
		}
	}
	return nil
}

// genChunk makes rows [i*c.chunk, ...) of the corpus: text, vector,
// sealed record, blind tokens and sealed embeddings.
func genChunk(c *corpus, keys *vaultKeys, tokens *tokenCache, model string, i int) *benchChunk {
	ch := &benchChunk{start: i * c.chunk, top: make([][]scored, len(c.recall))}
	now := time.Now().UTC()
	c.eachRow(i, func(row int, text string, vec []float32) {
		c.texts[row] = text
		for q, rq := range c.recall {
			ch.top[q] = pushTop(ch.top[q], scored{row, dot4(rq.vec, vec)}, 10)
		}
		id := uuid.Must(uuid.NewV7()).String()
		raw, err := json.Marshal(&itemPayload{Kind: Fact, Text: text, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			panic(err)
		}
		sealed, quant := sealEmbedding(keys, id, model, vec)
		ch.rows = append(ch.rows, benchRow{
			id:        id,
			tokens:    tokens.of(text),
			sealed:    keys.records.seal(id, KindMemory, schemas[KindMemory], raw),
			vecSealed: sealed,
			quantSeal: quant,
		})
	})
	return ch
}

// eachRow calls fn with the text and unit vector of each row of chunk i:
// seeded by the chunk's index, so the peer benchmarks get the same rows
// the vault holds without keeping every vector.
func (c *corpus) eachRow(i int, fn func(row int, text string, vec []float32)) {
	rng := rand.New(rand.NewPCG(c.seed, uint64(i)+1<<32))
	word := c.words(rng)
	var sb strings.Builder
	for row := i * c.chunk; row < min((i+1)*c.chunk, c.n); row++ {
		sb.Reset()
		for w := range 12 + rng.IntN(20) {
			if w > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteByte('w')
			sb.WriteString(strconv.FormatUint(word(), 10))
		}
		fn(row, sb.String(), around(rng, c.centres[rng.IntN(len(c.centres))], 0.6))
	}
}

// sealEmbedding seals a unit vector as insertEmbedding does: float32 for
// exact rescoring, int8 with its scale for the in-memory index.
func sealEmbedding(keys *vaultKeys, id, model string, vec []float32) (sealed, quant []byte) {
	raw := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	adID, kind := embeddingAD(id, model)
	sealed = keys.vectors.seal(adID, kind, 1, raw)
	q := make([]byte, 4+len(vec))
	scale := quantize(vec, unsafeInt8(q[4:]))
	binary.LittleEndian.PutUint32(q, math.Float32bits(scale))
	adID, kind = quantAD(id, model)
	return sealed, keys.vectors.seal(adID, kind, 1, q)
}

// writeChunk inserts a chunk's rows as insertRecord, indexRecord and
// insertEmbedding would, with the clock and sequence carried along instead
// of read back for every row.
func writeChunk(ctx context.Context, tx *sql.Tx, device, model string, ch *benchChunk, clock Clock, seq int64) (Clock, int64, error) {
	if seq == 0 {
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0), coalesce(max(clock), 0) FROM records").Scan(&seq, &clock); err != nil {
			return 0, 0, err
		}
	}
	rec, err := tx.PrepareContext(ctx, "INSERT INTO records(id, kind, clock, origin, deleted, seq, sealed) VALUES(?, ?, ?, ?, 0, ?, ?)")
	if err != nil {
		return 0, 0, err
	}
	defer rec.Close()
	idx, err := tx.PrepareContext(ctx, "INSERT INTO "+memoryIndex.index+"(rowid, tokens) VALUES(?, ?)")
	if err != nil {
		return 0, 0, err
	}
	defer idx.Close()
	emb, err := tx.PrepareContext(ctx, "INSERT INTO embeddings(rid, model, dim, sealed, quant) VALUES(?, ?, ?, ?, ?)")
	if err != nil {
		return 0, 0, err
	}
	defer emb.Close()
	now := time.Now()
	for _, r := range ch.rows {
		clock, seq = nextClock(clock, now), seq+1
		res, err := rec.ExecContext(ctx, r.id, KindMemory, clock, device, seq, r.sealed)
		if err != nil {
			return 0, 0, err
		}
		rid, err := res.LastInsertId()
		if err != nil {
			return 0, 0, err
		}
		if _, err := idx.ExecContext(ctx, rid, r.tokens); err != nil {
			return 0, 0, err
		}
		if _, err := emb.ExecContext(ctx, rid, model, benchDim, r.vecSealed, r.quantSeal); err != nil {
			return 0, 0, err
		}
	}
	return clock, seq, nil
}

// tokenCache maps the corpus's words to blind tokens once each: the texts
// are words of letters and digits separated by spaces, so a text's tokens
// are its words' tokens in order, as indexRecord computes them.
type tokenCache struct {
	key []byte
	mu  sync.Mutex
	m   map[string]string
}

func newTokenCache(key []byte) *tokenCache { return &tokenCache{key: key, m: map[string]string{}} }

func (tc *tokenCache) of(text string) string {
	fields := strings.Fields(text)
	out := make([]string, 0, len(fields))
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, f := range fields {
		t, ok := tc.m[f]
		if !ok {
			t = strings.Join(blindTokens(tc.key, words(f)), " ")
			tc.m[f] = t
		}
		if t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// pushTop keeps the k best scores, best first.
func pushTop(top []scored, s scored, k int) []scored {
	if len(top) == k && s.score <= top[k-1].score {
		return top
	}
	i, _ := slices.BinarySearchFunc(top, s, func(a, b scored) int { return cmpScore(b.score, a.score) })
	top = slices.Insert(top, i, s)
	return top[:min(len(top), k)]
}

func mergeTop(a, b []scored, k int) []scored {
	for _, s := range b {
		a = pushTop(a, s, k)
	}
	return a
}

// dot4 is dot with four accumulators: the exact search for recall runs it
// n times a query.
func dot4(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func (bv *benchVault) open(b testing.TB) *Vault {
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

// A vault written by the benchmarks' bulk path is a vault like any other:
// it passes SQLite's integrity check, unlocks with every memory listed and
// every vector indexed, its keyword tokens are the ones indexRecord makes,
// vector search finds the exact nearest memory, and Add works on top.
func TestBenchVaultIsAVault(t *testing.T) {
	ctx := context.Background()
	c := newCorpus(500, 42)
	c.chunk = 200 // three chunks, the last one short
	bv, err := buildBenchVault(ctx, filepath.Join(t.TempDir(), "vault.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	v := bv.open(t)
	defer v.Close()

	var check string
	if err := v.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}
	items, err := v.List(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, text := range c.texts {
		want[text]++
	}
	for _, it := range items {
		want[it.Text]--
	}
	for text, left := range want {
		if left != 0 {
			t.Fatalf("memory %q: listed %d times too few", text, left)
		}
	}
	if got := v.vectors.len(); got != c.n {
		t.Fatalf("%d vectors indexed after unlock, want %d", got, c.n)
	}

	tc := newTokenCache(memoryIndex.key(v.keys))
	for _, text := range c.texts {
		if got, want := tc.of(text), strings.Join(blindTokens(memoryIndex.key(v.keys), words(text)), " "); got != want {
			t.Fatalf("tokens of %q differ from indexRecord's", text)
		}
	}
	res, err := v.Search(ctx, Query{Text: c.texts[123], Mode: Keyword, Limit: 10})
	if err != nil || len(res) == 0 || res[0].Text != c.texts[123] {
		t.Fatalf("keyword search for a memory's own text: %v, %v", res, err)
	}
	for _, q := range c.recall {
		res, err := v.Search(ctx, Query{Text: q.text, Mode: Vector, Limit: 10})
		if err != nil || len(res) == 0 || res[0].Text != c.texts[q.exact[0]] {
			t.Fatalf("%s: nearest is not the exact nearest memory (%v)", q.text, err)
		}
	}

	bv.emb.set("one more memory", c.qvecs[0])
	it, err := v.Add(ctx, NewItem{Text: "one more memory"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = v.Search(ctx, Query{Text: "one more memory", Mode: Hybrid, Limit: 5})
	if err != nil || len(res) == 0 || res[0].ID != it.ID {
		t.Fatalf("a memory added after the bulk load is not found first: %v, %v", res, err)
	}
}
