package desktop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDesktopSaveFileWritesWhereAsked is the window's save binding with the
// dialog answered by the test (the dialog itself is GTK's): the file lands
// where the person chose, whole and readable by them only; a cancel writes
// nothing; the page suggests only a name, never a place.
func TestDesktopSaveFileWritesWhereAsked(t *testing.T) {
	dir := t.TempDir()
	var suggested string
	answer := filepath.Join(dir, "chosen.cairn")
	d := &Desktop{ask: func(_ context.Context, name string) (string, error) {
		suggested = name
		return answer, nil
	}}
	data := []byte("age-encryption.org/v1\n" + strings.Repeat("x", 100_000))
	path, err := d.SaveFile("cairn-export.cairn", data)
	if err != nil || path != answer {
		t.Fatalf("SaveFile: %q, %v", path, err)
	}
	got, err := os.ReadFile(answer)
	if err != nil || string(got) != string(data) {
		t.Fatalf("the saved file has %d bytes (%v), want %d", len(got), err, len(data))
	}
	if fi, _ := os.Stat(answer); fi.Mode().Perm() != 0o600 {
		t.Errorf("the saved file is %v, want 0600: an export holds the memories", fi.Mode().Perm())
	}
	if suggested != "cairn-export.cairn" {
		t.Errorf("the dialog suggested %q", suggested)
	}
	if _, err := d.SaveFile("../../etc/cairn.jsonl", data); err != nil || suggested != "cairn.jsonl" {
		t.Errorf("a name with folders suggests %q (%v), want only the name", suggested, err)
	}

	// Cancelled: nothing written, no error.
	d.ask = func(context.Context, string) (string, error) { return "", nil }
	if path, err := d.SaveFile("cairn-sft.jsonl", data); path != "" || err != nil {
		t.Fatalf("a cancelled dialog: %q, %v", path, err)
	}
	// A folder it cannot write to: an error that says so, and nothing half-written.
	d.ask = func(context.Context, string) (string, error) { return filepath.Join(dir, "missing", "x.jsonl"), nil }
	if _, err := d.SaveFile("x.jsonl", data); err == nil || !strings.Contains(err.Error(), "pick a folder") {
		t.Fatalf("an unwritable place: %v", err)
	}
	// The dialog failing says so.
	d.ask = func(context.Context, string) (string, error) { return "", errors.New("no display") }
	if _, err := d.SaveFile("x.jsonl", data); err == nil || !strings.Contains(err.Error(), "save dialog") {
		t.Fatalf("a failing dialog: %v", err)
	}
	// Before the window has started there is no dialog to show.
	d.ctx = func() context.Context { return nil }
	if _, err := d.SaveFile("x.jsonl", data); err == nil {
		t.Fatal("SaveFile before the window started")
	}
}
