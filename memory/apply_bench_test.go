package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// applyBatch is how many records one transaction (one fsync'd commit)
// applies in BenchmarkApply: sync's page size.
const applyBatch = 500

// applyFeed makes records that came from another device, as sync (sealed)
// and import (plain) bring them: memories of 12 to 40 words and chat
// messages of 20 to 200 in conversations of about 20, drawn from a Zipf-distributed vocabulary of real
// looking words, so that stemming and the blind index see what they see
// in use.
type applyFeed struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	vocab []string
	clock Clock
	n     int
	// lastConv and lastMsg chain each message to the one before it in its
	// conversation, as a chat does: the passage index reads the two turns
	// before a message for its context.
	lastConv, lastMsg string
}

func newApplyFeed(seed uint64) *applyFeed {
	rng := rand.New(rand.NewPCG(seed, seed))
	f := &applyFeed{rng: rng, zipf: rand.NewZipf(rng, 1.1, 1, 20_000-1), clock: clockAt(time.Now().Add(-time.Hour))}
	suffixes := []string{"", "s", "ing", "ed", "ation", "ly", "ness"}
	for i := range 20_000 {
		f.vocab = append(f.vocab, "w"+strconv.FormatInt(int64(i), 36)+suffixes[i%len(suffixes)])
	}
	return f
}

func (f *applyFeed) text(minWords, maxWords int) string {
	var sb strings.Builder
	for w := range minWords + f.rng.IntN(maxWords-minWords+1) {
		if w > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(f.vocab[f.zipf.Uint64()])
	}
	return sb.String()
}

// next is the next record of a kind, in the clear.
func (f *applyFeed) next(kind Kind) PlainRecord {
	f.n++
	f.clock++
	now := f.clock.Time()
	id := fmt.Sprintf("apply-%s-%08d", kind, f.n)
	var raw []byte
	switch kind {
	case KindMemory:
		raw, _ = json.Marshal(&itemPayload{Kind: Fact, Text: f.text(12, 40), CreatedAt: now, UpdatedAt: now})
	case KindMessage:
		role := RoleUser
		if f.n%2 == 0 {
			role = RoleAssistant
		}
		conv, parent := fmt.Sprintf("apply-conv-%05d", f.n/40), ""
		if conv == f.lastConv {
			parent = f.lastMsg
		}
		f.lastConv, f.lastMsg = conv, id
		raw, _ = json.Marshal(&messagePayload{ConversationID: conv, CreatedAt: now, ParentID: parent, Role: role, Content: f.text(20, 200)})
	}
	return PlainRecord{ID: id, Kind: kind, Clock: f.clock, Origin: "apply-peer", Schema: schemas[kind], Payload: raw}
}

func (f *applyFeed) plainBatch(kind Kind, n int) []PlainRecord {
	out := make([]PlainRecord, n)
	for i := range out {
		out[i] = f.next(kind)
	}
	return out
}

func (f *applyFeed) sealedBatch(keys *vaultKeys, kind Kind, n int) []Record {
	out := make([]Record, n)
	for i, p := range f.plainBatch(kind, n) {
		out[i] = Record{ID: p.ID, Kind: p.Kind, Clock: p.Clock, Origin: p.Origin, Sealed: keys.records.seal(p.ID, p.Kind, p.Schema, p.Payload)}
	}
	return out
}

// BenchmarkApply is the apply path that sync, import and local writes
// share: records of another device merged into a vault that already holds
// n (half memories, half messages), applyBatch to a transaction and each
// transaction committed with fsync, the blind index written and the new
// memories queued for embedding as they arrive. path=sealed is what sync
// applies (ApplyBatch), path=plain what import applies (ApplyPlain, which
// seals each record first).
func BenchmarkApply(b *testing.B) {
	sizes := []int{10_000, 100_000} // two sizes, for the apply-rate plot
	if testing.Short() {
		sizes = []int{10_000}
	}
	ctx := context.Background()
	for _, n := range sizes {
		v, _, err := Create(ctx, testConfig(b, memtest.NewEmbedder(64)), testPass)
		if err != nil {
			b.Fatal(err)
		}
		feed := newApplyFeed(uint64(n))
		for i := 0; i < n; i += 2 * applyBatch {
			for _, kind := range []Kind{KindMemory, KindMessage} {
				if _, err := v.ApplyBatch(ctx, feed.sealedBatch(v.keys, kind, applyBatch)); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, path := range []string{"sealed", "plain"} {
			for _, kind := range []Kind{KindMemory, KindMessage} {
				b.Run(fmt.Sprintf("n=%d/path=%s/kind=%s", n, path, kind), func(b *testing.B) {
					applied, cpu := 0, time.Duration(0)
					for b.Loop() {
						b.StopTimer()
						sealed, plain := []Record(nil), []PlainRecord(nil)
						if path == "sealed" {
							sealed = feed.sealedBatch(v.keys, kind, applyBatch)
						} else {
							plain = feed.plainBatch(kind, applyBatch)
						}
						b.StartTimer()
						cpu0 := memtest.ProcessCPU()
						if path == "sealed" {
							outs, err := v.ApplyBatch(ctx, sealed)
							if err != nil || outs[len(outs)-1] != Inserted {
								b.Fatalf("apply: %v %v", err, outs[len(outs)-1])
							}
						} else {
							res, err := v.ApplyPlain(ctx, plain, false)
							if err != nil || res[len(res)-1].Err != nil || res[len(res)-1].Outcome != Inserted {
								b.Fatalf("apply: %v %+v", err, res[len(res)-1])
							}
						}
						cpu += memtest.ProcessCPU() - cpu0
						applied += applyBatch
					}
					b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "records/s")
					// On a shared machine the wall-clock rate follows the load;
					// CPU time a record follows the code.
					b.ReportMetric(float64(cpu.Microseconds())/float64(applied), "cpu-µs/record")
				})
			}
		}
		v.Close()
	}
}
