package memory

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// Parsers of outside data get fuzz targets; `make test` runs their seeds,
// `go test -fuzz=FuzzX ./memory/` runs them for real.

func FuzzWords(f *testing.F) {
	for _, s := range []string{"", "café RUNNING", "東京に住んでいます", "a\u0301b", "\xff\xfe", "don't-stop_me now!!", strings.Repeat("ß", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws := words(s)
		for _, w := range ws {
			if w == "" {
				t.Fatalf("empty term from %q", s)
			}
			if utf8.ValidString(s) && !utf8.ValidString(w) {
				t.Fatalf("invalid UTF-8 term %q from valid input %q", w, s)
			}
		}
		// Normalising is idempotent: the terms of the terms are the terms.
		if utf8.ValidString(s) {
			again := words(strings.Join(ws, " "))
			if strings.Join(again, " ") != strings.Join(words(strings.Join(again, " ")), " ") {
				t.Fatalf("normalisation not stable for %q", s)
			}
		}
		_ = snippet(s, ws)
	})
}

func FuzzParseRecoveryKey(f *testing.F) {
	f.Add(formatRecoveryKey(make([]byte, keySize)))
	f.Add("abcd-efgh")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := parseRecoveryKey(s)
		if err == nil && len(raw) != keySize {
			t.Fatalf("accepted %q as a %d-byte key", s, len(raw))
		}
		if err == nil {
			if back, err := parseRecoveryKey(formatRecoveryKey(raw)); err != nil || string(back) != string(raw) {
				t.Fatalf("round trip of %q failed", s)
			}
		}
	})
}

// FuzzApply feeds arbitrary records, as a hostile peer or a damaged import
// would: Apply never panics and never stores what does not authenticate.
func FuzzApply(f *testing.F) {
	v, _ := newTestVault(f)
	good := v.keys.records.seal("0190aaaa-0000-7000-8000-000000000001", KindMemory, 1, []byte(`{"kind":"fact","text":"hi"}`))
	f.Add("0190aaaa-0000-7000-8000-000000000001", "memory", uint64(1<<40), "dev", false, good)
	f.Add("x", "memory", uint64(1), "dev", true, []byte(nil))
	f.Add("y", "calendar.event", uint64(7), "d", false, []byte{1, 0, 0, 0, 1, 0, 2})
	f.Fuzz(func(t *testing.T, id, kind string, clock uint64, origin string, deleted bool, sealed []byte) {
		rec := Record{ID: id, Kind: Kind(kind), Clock: Clock(clock), Origin: origin, Deleted: deleted, Sealed: sealed}
		out, err := v.Apply(context.Background(), rec)
		if err != nil {
			return
		}
		if !deleted {
			if _, oerr := v.keys.records.open(id, Kind(kind), sealed); oerr != nil {
				t.Fatalf("stored a record that does not authenticate (outcome %v)", out)
			}
		}
	})
}
