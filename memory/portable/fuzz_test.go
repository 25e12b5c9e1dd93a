package portable

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory"
)

// fuzzIdentity is a fixed key, so that seeds made with it stay valid.
const fuzzIdentity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"

// FuzzBundle: whatever the bytes, reading a bundle ends in a record
// stream that passed every check, or an error; never a panic, and never
// an allocation beyond the frame limit.
func FuzzBundle(f *testing.F) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	bw, err := NewBundleWriter(&buf, BundleHeader{CreatedAt: time.Unix(1700000000, 0)}, id.Recipient())
	if err != nil {
		f.Fatal(err)
	}
	bw.Write(&memory.PlainRecord{ID: "a", Kind: memory.KindMemory, Schema: 2, Clock: 1 << 16, Origin: "d", Payload: []byte(`{"kind":"fact","text":"x"}`)})
	bw.Write(&memory.PlainRecord{ID: "b", Kind: memory.KindMessage, Clock: 2 << 16, Origin: "d", Deleted: true})
	bw.Close()
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n--- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadBundle(context.Background(), bytes.NewReader(data), []age.Identity{id}, Limits{}, func(r *memory.PlainRecord) error {
			if r.ID == "" && r.Clock == 0 {
				t.Fatal("an empty record passed the checks")
			}
			return nil
		})
	})
}

// FuzzJSONL: any line yields a record, a skip, or stops the import with an
// error.
func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"cairn":"jsonl","version":1}` + "\n" + `{"id":"a","kind":"memory","schema":2,"clock":"65536","origin":"d","payload":{"kind":"fact","text":"hi"}}`))
	f.Add([]byte(`{"text":"Likes jazz","tags":["Music"],"created_at":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"id":"b","kind":"message","clock":"1","origin":"d","deleted":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		JSONLSource(bytes.NewReader(data), Limits{MaxLine: 1 << 16}).Walk(context.Background(), func(e Entry) error {
			if e.Record == nil && strings.TrimSpace(e.Skip) == "" {
				t.Fatal("a skipped line without a reason")
			}
			return nil
		})
	})
}
