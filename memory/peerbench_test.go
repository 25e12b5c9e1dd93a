package memory

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	sqlitevec "github.com/asg017/sqlite-vec-go-bindings/cgo"
	"github.com/google/uuid"
	"github.com/philippgille/chromem-go"
)

// BenchmarkPeers measures the vector stores a person could pick instead of
// Cairn's, on the same seeded vectors as the benchmark vault, each used as
// its README shows, in the same process and run: sqlite-vec (its cgo
// bindings, compiled against the SQLite that mattn/go-sqlite3 bundles) with
// float, int8 and bit tables and bit with exact rescoring; chromem-go; and
// two floors, an exact float32 scan and a plain read of the int8 bytes.
// Each reports its build rate, p50/p95 of a top-10 query, recall@10 on the
// near and hard query sets, and its size; cairn is the vault's own vector
// search (BenchmarkSearch's vector mode) on the same queries.
//
// The peers live in this test file only, so the shipped binary does not
// link them.
func BenchmarkPeers(b *testing.B) {
	for _, n := range peerSizes() {
		bv := loadedVault(b, n)
		for _, p := range peerKinds {
			b.Run(fmt.Sprintf("%s/n=%d", p.name, n), func(b *testing.B) {
				pb := builtPeer(b, bv, p)
				latencies(b, func(i int) { pb.search(bv.c.qvecs[i%len(bv.c.qvecs)], 10) })
				if pb.buildRate > 0 {
					b.ReportMetric(pb.buildRate, "build-records/s")
				}
				b.ReportMetric(pb.mb, "MB")
				for set, r := range pb.recall {
					b.ReportMetric(r, "recall@10-"+set)
				}
				if n > peerKeepUpTo {
					pb.close()
					peerCache.Delete(peerKey{p.name, n})
				}
			})
		}
	}
}

// peerSizes are the sizes the peers are measured at: 10k and 100k in make
// bench (10k with -short); the 1M tier takes too long and too much memory
// beside the other benchmarks and has its own target, make bench-peers-1m,
// which sets CAIRN_BENCH_PEER_SIZES.
func peerSizes() []int {
	if testing.Short() {
		return sizesFrom("CAIRN_BENCH_PEER_SIZES", 10_000)
	}
	return sizesFrom("CAIRN_BENCH_PEER_SIZES", 10_000, 100_000)
}

// peerKeepUpTo is the largest size whose peers stay built across the runs
// of -count; larger ones are built for each run and dropped after it.
const peerKeepUpTo = 200_000

// peerRecallQueries bounds the queries recall is measured over for a peer
// (100 answers a set): a brute-force peer at 100k takes a second or more a
// query on a loaded machine, and make bench must stay under 25 minutes.
const peerRecallQueries = 10

// bitOversample is how many candidates a result the bit table passes to
// exact rescoring: 8, as sqlite-vec's binary quantisation guide and its
// later rescore index do (its top-k costs grow with k: at 1,000 candidates a
// query took 1.9 s at 100k).
const bitOversample = 8

type peerKind struct {
	name  string
	build func(b *testing.B, bv *benchVault) *peer
}

var peerKinds = []peerKind{
	{"cairn", buildCairnPeer},
	{"sqlite-vec-float", sqliteVecPeer("float")},
	{"sqlite-vec-int8", sqliteVecPeer("int8")},
	{"sqlite-vec-bit", sqliteVecPeer("bit")},
	{"sqlite-vec-bit-rescore", sqliteVecPeer("bit-rescore")},
	{"chromem-go", buildChromemPeer},
	{"exact-float32", buildExactPeer},
	{"plain-int8-read", buildPlainPeer},
}

// peer is one built store: search returns corpus rows, best first.
type peer struct {
	search    func(q []float32, k int) []int
	close     func()
	buildRate float64 // vectors stored a second; 0 when not measured
	mb        float64
	recall    map[string]float64 // by recall set; none for the plain read
}

type peerKey struct {
	name string
	n    int
}

var peerCache sync.Map // peerKey -> *peer

// builtPeer builds p on bv's corpus once (per run above peerKeepUpTo),
// with its build rate and recall measured then.
func builtPeer(b *testing.B, bv *benchVault, p peerKind) *peer {
	key := peerKey{p.name, bv.c.n}
	if pb, ok := peerCache.Load(key); ok {
		return pb.(*peer)
	}
	pb := p.build(b, bv)
	if p.name != "plain-int8-read" {
		pb.recall = map[string]float64{}
		for _, set := range recallSets {
			pb.recall[set] = peerRecall(bv.c, set, pb)
		}
	}
	peerCache.Store(key, pb)
	return pb
}

// peerRecall is recallOf for a peer, over the first peerRecallQueries
// queries of a set.
func peerRecall(c *corpus, set string, pb *peer) float64 {
	var asked int
	sub := &corpus{texts: c.texts}
	for _, q := range c.recall {
		if q.set == set && asked < peerRecallQueries {
			sub.recall = append(sub.recall, q)
			asked++
		}
	}
	return recallOf(sub, set, func(q recallQuery) []string {
		var texts []string
		for _, row := range pb.search(q.vec, 10) {
			texts = append(texts, c.texts[row])
		}
		return texts
	})
}

// eachVector calls fn with every row's vector, chunk by chunk, as the
// vault was built.
func eachVector(c *corpus, fn func(row int, vec []float32)) {
	for i := range (c.n + c.chunk - 1) / c.chunk {
		c.eachRow(i, func(row int, _ string, vec []float32) { fn(row, vec) })
	}
}

// cairnBuildSample is how many memories Cairn's build rate is measured
// on: storing embeddings goes one committed batch at a time, so the rate
// does not depend on the vault's size, and 100k would take a minute.
const cairnBuildSample = 10_000

// cairnBuildRate is the vault's own way to store vectors: memories without
// embeddings in a fresh vault, then EmbedAll with an embedder that returns
// the corpus's vectors, sealing the float32 and int8 copies, committing
// each batch and indexing them. It reports vectors stored a second.
func cairnBuildRate(b *testing.B, c *corpus) float64 {
	ctx := context.Background()
	m := min(c.n, cairnBuildSample)
	v, _, err := Create(ctx, testConfig(b, nil), testPass)
	must(b, err)
	defer v.Close()
	emb := &tableEmbedder{vecs: map[string][]float32{}}
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		var ferr error
		eachVector(&corpus{n: m, seed: c.seed, chunk: c.chunk, centres: c.centres}, func(row int, vec []float32) {
			text := fmt.Sprintf("%s (%d)", c.texts[row], row)
			emb.vecs[text] = vec
			rec, raw, err := v.sealRecord(ctx, tx, v.keys, uuid.Must(uuid.NewV7()).String(), KindMemory, &itemPayload{Kind: Fact, Text: text, CreatedAt: now, UpdatedAt: now})
			if err != nil {
				ferr = err
				return
			}
			rid, err := insertRecord(ctx, tx, rec)
			if err == nil {
				err = indexRecord(ctx, tx, v.keys, rid, rec, raw)
			}
			if err != nil && ferr == nil {
				ferr = err
			}
		})
		return ferr
	})
	must(b, err)
	must(b, v.SetEmbedder(ctx, emb))
	t0 := time.Now()
	must(b, v.EmbedAll(ctx, nil))
	if got := v.vectors.len(); got != m {
		b.Fatalf("EmbedAll indexed %d vectors of %d", got, m)
	}
	return float64(m) / time.Since(t0).Seconds()
}

// buildCairnPeer is the vault's own vector search; its build rate is
// cairnBuildRate's, its size the in-memory index (int8 rows, sign bits,
// scales and row ids; the sealed vectors are in the vault file).
func buildCairnPeer(b *testing.B, bv *benchVault) *peer {
	rows := map[string]int{}
	for i, t := range bv.c.texts {
		rows[t] = i
	}
	texts := map[*float32]string{}
	for _, q := range bv.c.recall {
		texts[&q.vec[0]] = q.text
	}
	for i, q := range bv.c.qvecs {
		if _, ok := texts[&q[0]]; !ok {
			texts[&q[0]] = bv.c.queries[i]
		}
	}
	x := bv.v.vectors
	mb := float64(len(x.data)+4*len(x.scales)+8*len(x.bits)+8*len(x.rids)) / 1e6
	return &peer{
		search: func(q []float32, k int) []int {
			res, err := bv.v.Search(context.Background(), Query{Text: texts[&q[0]], Mode: Vector, Limit: k})
			if err != nil {
				b.Fatal(err)
			}
			out := make([]int, len(res))
			for i, r := range res {
				out[i] = rows[r.Text]
			}
			return out
		},
		close:     func() {},
		buildRate: cairnBuildRate(b, bv.c),
		mb:        mb,
	}
}

var sqliteVecOnce sync.Once

// sqliteVecPeer builds a vec0 table of one kind in a SQLite file, as the
// sqlite-vec README's Go example does: vectors serialised as float32
// blobs, quantised by vec_quantize_int8 / vec_quantize_binary for the int8
// and bit tables, inserted with a prepared statement in transactions of a
// chunk, queried with MATCH and k. bit-rescore keeps the float32 vectors
// in a plain table beside the bit table and reorders the bit table's
// bitOversample x k nearest by vec_distance_cosine.
func sqliteVecPeer(kind string) func(*testing.B, *benchVault) *peer {
	return func(b *testing.B, bv *benchVault) *peer {
		sqliteVecOnce.Do(sqlitevec.Auto)
		dir, err := os.MkdirTemp("", "cairn-peer-")
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(dir, "vec.db")
		db, err := sql.Open("sqlite3", path)
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		column, insert := "float[768]", "?"
		switch kind {
		case "int8":
			column, insert = "int8[768]", "vec_quantize_int8(?, 'unit')"
		case "bit", "bit-rescore":
			column, insert = "bit[768]", "vec_quantize_binary(?)"
		}
		mustExec(b, db, "CREATE VIRTUAL TABLE items USING vec0(embedding "+column+")")
		if kind == "bit-rescore" {
			mustExec(b, db, "CREATE TABLE full(rowid INTEGER PRIMARY KEY, embedding BLOB)")
		}
		t0 := time.Now()
		var tx *sql.Tx
		var ins, full *sql.Stmt
		eachVector(bv.c, func(row int, vec []float32) {
			if row%bv.c.chunk == 0 {
				if tx != nil {
					must(b, tx.Commit())
				}
				tx, err = db.Begin()
				must(b, err)
				ins, err = tx.Prepare("INSERT INTO items(rowid, embedding) VALUES (?, " + insert + ")")
				must(b, err)
				if kind == "bit-rescore" {
					full, err = tx.Prepare("INSERT INTO full(rowid, embedding) VALUES (?, ?)")
					must(b, err)
				}
			}
			blob, err := sqlitevec.SerializeFloat32(vec)
			must(b, err)
			_, err = ins.Exec(row+1, blob)
			must(b, err)
			if full != nil {
				_, err = full.Exec(row+1, blob)
				must(b, err)
			}
		})
		must(b, tx.Commit())
		rate := float64(bv.c.n) / time.Since(t0).Seconds()
		query := "SELECT rowid FROM items WHERE embedding MATCH " + insert + " AND k = ? ORDER BY distance"
		if kind == "bit-rescore" {
			query = `WITH coarse AS (SELECT rowid FROM items WHERE embedding MATCH vec_quantize_binary(?1) AND k = ?2 * ` + strconv.Itoa(bitOversample) + `)
				SELECT coarse.rowid FROM coarse JOIN full USING (rowid)
				ORDER BY vec_distance_cosine(full.embedding, ?1) LIMIT ?2`
		}
		stmt, err := db.Prepare(query)
		must(b, err)
		fi, err := os.Stat(path)
		must(b, err)
		return &peer{
			search: func(q []float32, k int) []int {
				blob, err := sqlitevec.SerializeFloat32(q)
				must(b, err)
				rs, err := stmt.Query(blob, k)
				must(b, err)
				defer rs.Close()
				var out []int
				for rs.Next() {
					var rowid int
					must(b, rs.Scan(&rowid))
					out = append(out, rowid-1)
				}
				must(b, rs.Err())
				return out
			},
			close: func() {
				stmt.Close()
				db.Close()
				os.RemoveAll(dir)
			},
			buildRate: rate,
			mb:        float64(fi.Size()) / 1e6,
		}
	}
}

// buildChromemPeer is chromem-go's in-memory collection, documents added
// with their embeddings (chromem-go normalises them; ours are unit length
// already) and queried by embedding. Its size is the Go heap it grew by.
func buildChromemPeer(b *testing.B, bv *benchVault) *peer {
	ctx := context.Background()
	heap0 := heapInUse()
	db := chromem.NewDB()
	col, err := db.CreateCollection("bench", nil, nil)
	must(b, err)
	t0 := time.Now()
	docs := make([]chromem.Document, 0, bv.c.chunk)
	flush := func() {
		if len(docs) > 0 {
			must(b, col.AddDocuments(ctx, docs, runtime.GOMAXPROCS(0)))
			docs = docs[:0]
		}
	}
	eachVector(bv.c, func(row int, vec []float32) {
		docs = append(docs, chromem.Document{ID: strconv.Itoa(row), Content: bv.c.texts[row], Embedding: vec})
		if len(docs) == cap(docs) {
			flush()
		}
	})
	flush()
	rate := float64(bv.c.n) / time.Since(t0).Seconds()
	return &peer{
		search: func(q []float32, k int) []int {
			res, err := col.QueryEmbedding(ctx, q, k, nil, nil)
			must(b, err)
			out := make([]int, len(res))
			for i, r := range res {
				out[i], _ = strconv.Atoi(r.ID)
			}
			return out
		},
		close:     func() { db.Reset() },
		buildRate: rate,
		mb:        float64(heapInUse()-heap0) / 1e6,
	}
}

// buildExactPeer is the floor for exact search: every float32 vector in
// one slice, each scored against the query, the best k kept.
func buildExactPeer(b *testing.B, bv *benchVault) *peer {
	dim := benchDim
	all := make([]float32, bv.c.n*dim)
	t0 := time.Now()
	eachVector(bv.c, func(row int, vec []float32) { copy(all[row*dim:], vec) })
	rate := float64(bv.c.n) / time.Since(t0).Seconds()
	return &peer{
		search: func(q []float32, k int) []int {
			var top []scored
			for row := range bv.c.n {
				top = pushTop(top, scored{row, dot4(q, all[row*dim:(row+1)*dim])}, k)
			}
			out := make([]int, len(top))
			for i, s := range top {
				out[i] = s.row
			}
			return out
		},
		close:     func() { all = nil },
		buildRate: rate,
		mb:        float64(4*len(all)) / 1e6,
	}
}

// buildPlainPeer is the floor for anything that looks at every vector: a
// read of the vault's int8 copy at memory speed (bytes.IndexByte for a
// value quantisation never produces). It finds nothing.
func buildPlainPeer(b *testing.B, bv *benchVault) *peer {
	x := bv.v.vectors
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&x.data[0])), len(x.data))
	return &peer{
		search: func([]float32, int) []int {
			if bytes.IndexByte(raw, 0x80) >= 0 {
				b.Fatal("quantised data holds -128")
			}
			return nil
		},
		close: func() {},
		mb:    float64(len(raw)) / 1e6,
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func mustExec(b *testing.B, db *sql.DB, q string) {
	b.Helper()
	if _, err := db.Exec(q); err != nil {
		b.Fatalf("%s: %v", q, err)
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
