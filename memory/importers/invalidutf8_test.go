package importers

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory/portable"
)

// Bytes that are not UTF-8 (here Latin-1 "ü", as an old tool writes it)
// are imported as U+FFFD: the dry run and the import both say how many and
// where, so the person knows their text changed.
func TestInvalidUTF8IsCountedNotHidden(t *testing.T) {
	orig, err := os.ReadFile("testdata/claude_conversations.json")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Count(orig, []byte("München"))
	if want == 0 {
		t.Fatal("the test data lost its München")
	}
	path := filepath.Join(t.TempDir(), "conversations.json")
	if err := os.WriteFile(path, bytes.ReplaceAll(orig, []byte("München"), []byte("M\xfcnchen")), 0o600); err != nil {
		t.Fatal(err)
	}
	v := newVault(t)
	for _, dry := range []bool{true, false} {
		sum, _, err := ImportFile(context.Background(), v, path, FileOptions{Import: portable.Options{DryRun: dry}})
		if err != nil {
			t.Fatal(err)
		}
		u := sum.InvalidUTF8
		if u == nil || u.Sequences != want || u.Entries != 1 || !slices.Equal(u.Example, []string{"claude conversation 1"}) {
			t.Fatalf("dry run %v: invalid UTF-8 reported as %+v, want %d sequences in claude conversation 1", dry, u, want)
		}
	}
	_, m := conversation(t, v, "Résumé review für Bewerbung")
	if q := m["Can you review"]; !strings.Contains(q.Content, "M\uFFFDnchen") {
		t.Fatalf("the message holds %q, want U+FFFD where the byte was", q.Content)
	}

	// Cairn JSONL (memories one a line) counts per line.
	lines := "{\"text\":\"caf\xe9 au lait in the morning\"}\n{\"text\":\"plain tea\"}\n{\"text\":\"\xff\xfe twice\"}\n"
	sum, err := portable.Import(context.Background(), v, portable.JSONLSource(strings.NewReader(lines), portable.Limits{}), portable.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if u := sum.InvalidUTF8; u == nil || u.Sequences != 3 || u.Entries != 2 || !slices.Equal(u.Example, []string{"line 1", "line 3"}) {
		t.Fatalf("JSONL: invalid UTF-8 reported as %+v, want 3 sequences on lines 1 and 3", u)
	}
}
