package portable

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory"
)

const benchRecords = 100_000

// benchJSONL is a Cairn JSONL file of 100k records: 20k memories, and 2k
// conversations of 39 messages each, with text of realistic lengths.
func benchJSONL(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	w, _ := NewJSONLWriter(&buf)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	add := func(kind memory.Kind, schema uint16, payload string) {
		n++
		at := base.Add(time.Duration(n) * time.Second)
		w.Write(&memory.PlainRecord{ID: fmt.Sprintf("bench-%06d", n), Kind: kind, Schema: schema, Clock: ClockAt(at), Origin: "bench-device", Payload: []byte(payload)})
	}
	ts := func() string { return base.Add(time.Duration(n) * time.Second).Format(time.RFC3339) }
	for i := range 20_000 {
		add(memory.KindMemory, 2, fmt.Sprintf(`{"kind":"fact","text":"Memory %d: the person mentioned that their favourite hiking trail number %d is near the lake, and they go there most weekends in spring","tags":["hiking","t%d"],"created_at":"%s","updated_at":"%s"}`, i, i, i%50, ts(), ts()))
	}
	for c := range 2_000 {
		conv := n + 1
		add(memory.KindConversation, 1, fmt.Sprintf(`{"title":"Conversation %d about planning a trip","created_at":"%s","updated_at":"%s"}`, c, ts(), ts()))
		parent := ""
		for m := range 39 {
			role := "user"
			if m%2 == 1 {
				role = "assistant"
			}
			p := ""
			if parent != "" {
				p = `"parent_id":"` + parent + `",`
			}
			add(memory.KindMessage, 1, fmt.Sprintf(`{"conversation_id":"bench-%06d","created_at":"%s",%s"role":"%s","content":"Message %d of conversation %d. Let us talk about the weather, the mountains, the train times between the two cities and what to pack for a week of rain and sun, with a few more words to make it a realistic paragraph of chat."}`, conv, ts(), p, role, m, c))
			parent = fmt.Sprintf("bench-%06d", n)
		}
	}
	w.Flush()
	if n != benchRecords {
		b.Fatalf("%d records", n)
	}
	return buf.Bytes()
}

// peakHeap samples the heap while fn runs and returns the largest
// in-use size seen, in MB.
func peakHeap(fn func()) float64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return float64(peak.Load()) / (1 << 20)
}

// BenchmarkImport100k: 100k records of Cairn JSONL into a fresh vault, in
// batches of 500 (MB/s of JSONL; records/s; the heap's peak).
func BenchmarkImport100k(b *testing.B) {
	data := benchJSONL(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var peak float64
	for b.Loop() {
		b.StopTimer()
		v := newVault(b)
		b.StartTimer()
		peak = max(peak, peakHeap(func() {
			sum, err := Import(context.Background(), v, JSONLSource(bytes.NewReader(data), Limits{}), Options{})
			if err != nil || total(sum).New != benchRecords {
				b.Fatalf("%v %+v", err, total(sum))
			}
		}))
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(peak, "MB-peak-heap")
}

// BenchmarkExport100k: a 100k-record vault to JSONL and to an encrypted
// bundle (MB/s of output; records/s; the heap's peak, which stays flat
// however large the vault: the feed is read a page at a time).
func BenchmarkExport100k(b *testing.B) {
	v := newVault(b)
	if _, err := Import(context.Background(), v, JSONLSource(bytes.NewReader(benchJSONL(b)), Limits{}), Options{BatchSize: 2000}); err != nil {
		b.Fatal(err)
	}
	key, _ := age.GenerateX25519Identity()
	for _, format := range []string{FormatJSONL, FormatBundle} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			var peak float64
			var written int64
			for b.Loop() {
				cw := &countWriter{}
				peak = max(peak, peakHeap(func() {
					var rs []age.Recipient
					if format == FormatBundle {
						rs = []age.Recipient{key.Recipient()}
					}
					sum, err := ExportStream(context.Background(), v, cw, format, Filter{}, rs...)
					if err != nil || sum.Records != benchRecords {
						b.Fatalf("%v %d", err, sum.Records)
					}
				}))
				written = cw.n
			}
			b.SetBytes(written)
			b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(peak, "MB-peak-heap")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
