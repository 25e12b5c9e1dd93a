package memory

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// timedEmbedder adds up the time spent in Embed, to say what dominates.
type timedEmbedder struct {
	*memtest.Embedder
	spent atomic.Int64 // nanoseconds
}

func (e *timedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	t0 := time.Now()
	defer func() { e.spent.Add(int64(time.Since(t0))) }()
	return e.Embedder.Embed(ctx, texts)
}

// BenchmarkEmbedMessages is background embedding of every message of a
// vault of 100,000 (2,000 conversations of 50, 100 to 2,000 characters
// each, as chatVault writes them but without their keyword index, which
// this does not read and which took most of the setup) with the deterministic test embedder at 768 dimensions:
// EmbedPassages from none embedded to all, each passage sealed twice
// (float32 and int8), stored and put into the in-memory index. The
// embedder is feature hashing, far faster than a model: `embed-share` is
// the part of the time spent in it, the rest is Cairn's (reading and
// opening messages, sealing, SQLite writes), which is what a real model's
// time adds to.
func BenchmarkEmbedMessages(b *testing.B) {
	const n, perConv, dim = 100_000, 50, 768
	v := embedVault(b, n, perConv)
	ctx := context.Background()
	emb := &timedEmbedder{Embedder: memtest.NewEmbedder(dim)}
	b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
		var total, embed time.Duration
		var passages int
		var grew int64
		for range b.N {
			b.StopTimer()
			if _, err := v.db.ExecContext(ctx, "DELETE FROM passage_embeddings"); err != nil {
				b.Fatal(err)
			}
			if err := v.SetEmbedder(ctx, emb); err != nil { // every message missing, as after an import
				b.Fatal(err)
			}
			before := vaultBytes(b, v)
			emb.spent.Store(0)
			b.StartTimer()
			t0 := time.Now()
			if err := v.EmbedPassages(ctx, nil); err != nil {
				b.Fatal(err)
			}
			total += time.Since(t0)
			b.StopTimer()
			embed += time.Duration(emb.spent.Load())
			if done, all := v.passageCounts(emb.Model()); done != n || all != n {
				b.Fatalf("%d of %d messages embedded, want %d", done, all, n)
			}
			if err := v.db.QueryRowContext(ctx, "SELECT count(*) FROM passage_embeddings").Scan(&passages); err != nil {
				b.Fatal(err)
			}
			grew = vaultBytes(b, v) - before
			b.StartTimer()
		}
		runs := float64(b.N)
		b.ReportMetric(n*runs/total.Seconds(), "messages/s")
		b.ReportMetric(float64(passages)*runs/total.Seconds(), "passages/s")
		b.ReportMetric(total.Seconds()/runs, "total-s")
		b.ReportMetric(embed.Seconds()/total.Seconds(), "embed-share")
		b.ReportMetric(float64(grew)/1e6, "MB-stored")
	})
}

// vaultBytes is the vault's size in pages in use, WAL included.
func vaultBytes(b *testing.B, v *Vault) int64 {
	var pages, free, size int64
	if err := v.db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		b.Fatal(err)
	}
	v.db.QueryRow("PRAGMA freelist_count").Scan(&free)
	v.db.QueryRow("PRAGMA page_size").Scan(&size)
	return (pages - free) * size
}

// embedVault is chatVault's messages, sealed and stored, each with the
// passage row that marks it as having words to embed but no keyword index
// (building it is minutes at 100k and embedding does not read it).
func embedVault(b *testing.B, n, perConv int) *Vault {
	ctx := context.Background()
	v, _, err := Create(ctx, testConfig(b, nil), testPass)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	rng := rand.New(rand.NewPCG(7, 7))
	zipf := rand.NewZipf(rng, 1.1, 1, 20000)
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		var conv, parent string
		for i := range n {
			if i%perConv == 0 {
				conv, parent = uuid.Must(uuid.NewV7()).String(), ""
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
			rec, _, err := v.sealRecord(ctx, tx, v.keys, id, KindMessage, &p)
			if err != nil {
				return err
			}
			rid, err := insertRecord(ctx, tx, rec)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO passages(rid, part) VALUES(?, 0)", rid); err != nil {
				return err
			}
			parent = id
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	v.passagesReady.Store(true)
	return v
}
