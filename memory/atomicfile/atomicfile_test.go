//go:build unix

package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteReplacesWholeWithTheModeAsked(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o, want 600 whatever the umask", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestWriteFromThatFailsLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "export.jsonl")
	if err := os.WriteFile(path, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full halfway")
	err := WriteFrom(path, 0o600, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "kept" {
		t.Fatalf("content %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
}

// Two writers at once each use their own temporary file: the result is one
// of the two contents, whole.
func TestConcurrentWritersDoNotMix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "membership.json")
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for i := range a {
		a[i], b[i] = 'a', 'b'
	}
	done := make(chan error, 2)
	go func() { done <- Write(path, a, 0o600) }()
	go func() { done <- Write(path, b, 0o600) }()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(a) && string(got) != string(b) {
		t.Fatal("the file mixes the two writes")
	}
}
