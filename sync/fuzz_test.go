package sync

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// Frames and batches come from the network: no input may panic, and a
// batch that decodes encodes back to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch(batch{upto: 7, records: []memory.Record{
		{ID: "0198c2f0-0000-7000-8000-000000000001", Kind: "memory", Clock: 1 << 20, Origin: "0198c2f0-0000-7000-8000-000000000002", Deleted: true},
	}}))
	f.Add([]byte{1, 200, 7, 7, 7})
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeBatch(body)
		if err != nil {
			return
		}
		if again := encodeBatch(b); len(b.records) > 0 {
			if _, err := decodeBatch(again); err != nil {
				t.Fatalf("re-encoded batch does not decode: %v", err)
			}
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{2, 3, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		readFrame(bufio.NewReader(bytes.NewReader(in)), 1<<16)
	})
}

func FuzzParseCode(f *testing.F) {
	f.Add("CAIRN1-AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := ParseCode(s); err == nil {
			if _, err := ParseCode(c.String()); err != nil {
				t.Fatalf("a parsed code does not parse again: %v", err)
			}
		}
	})
}
