package wintest

import (
	"path/filepath"
	"strings"
	"testing"
)

// The command line of the Windows build, on a home given with a drive
// letter and backslashes: init, memory add/search/list/edit/forget, a
// bundle exported and imported, doctor.
func TestCommandLineUnderWine(t *testing.T) {
	b := need(t)
	home := t.TempDir()
	ok(t, "init", b.win(t, home, "init"))
	id := ok(t, "memory add", b.win(t, home, "memory", "add", "I prefer aisle seats on long flights"))
	if s := ok(t, "memory search", b.win(t, home, "memory", "search", "aisle")); !strings.Contains(s, id) {
		t.Fatalf("search for aisle does not find %s: %q", id, s)
	}
	ok(t, "memory edit", b.win(t, home, "memory", "edit", id, "I prefer window seats on long flights"))
	if s := ok(t, "memory list", b.win(t, home, "memory", "list")); !strings.Contains(s, "window seats") || strings.Contains(s, "aisle") {
		t.Fatalf("list after the edit: %q", s)
	}
	other := ok(t, "memory add", b.win(t, home, "memory", "add", "My sister lives in Lisbon"))

	bundle := filepath.Join(t.TempDir(), "export.cairn")
	ok(t, "export", b.win(t, home, "export", "--out", winPath(bundle)))
	fresh := t.TempDir()
	ok(t, "init of a second home", b.win(t, fresh, "init"))
	ok(t, "import", b.win(t, fresh, "import", winPath(bundle)))
	if s := ok(t, "memory list", b.win(t, fresh, "memory", "list")); !strings.Contains(s, "window seats") || !strings.Contains(s, "Lisbon") {
		t.Fatalf("the imported home lacks the bundle's memories: %q", s)
	}

	ok(t, "memory forget", b.win(t, home, "memory", "forget", other))
	if s := ok(t, "memory list", b.win(t, home, "memory", "list")); strings.Contains(s, "Lisbon") {
		t.Fatalf("a forgotten memory is still listed: %q", s)
	}

	// Ollama is not running (OLLAMA_HOST points nowhere): doctor says so
	// and fails, as on Linux, after saying the vault is intact.
	d := b.win(t, home, "doctor")
	if d.code == 0 || !strings.Contains(d.stdout, "ok    vault") || !strings.Contains(d.stdout, "ollama") {
		t.Fatalf("doctor: exit %d\n%s%s", d.code, d.stdout, d.stderr)
	}
}

// A wrong passphrase is refused with the same message on both builds, and
// the vault is unchanged after.
func TestWrongPassphraseUnderWine(t *testing.T) {
	b := need(t)
	home := t.TempDir()
	ok(t, "init", b.win(t, home, "init"))
	ok(t, "memory add", b.win(t, home, "memory", "add", "I keep bees"))
	bad := []string{"CAIRN_PASSPHRASE=not-the-passphrase"}
	w := run(t, b.wine, []string{b.headlessExe, "--home", winPath(home), "memory", "list"}, bad...)
	l := run(t, b.linux, []string{"--home", home, "memory", "list"}, bad...)
	if w.code == 0 || l.code == 0 {
		t.Fatalf("a wrong passphrase opened the vault: windows exit %d, linux exit %d", w.code, l.code)
	}
	if !strings.Contains(w.stderr, "wrong passphrase") || strings.TrimSpace(w.stderr) != strings.TrimSpace(l.stderr) {
		t.Fatalf("the builds say different things:\nwindows %q\nlinux   %q", w.stderr, l.stderr)
	}
	if s := ok(t, "memory list", b.win(t, home, "memory", "list")); !strings.Contains(s, "bees") {
		t.Fatalf("after a wrong passphrase the memory is gone: %q", s)
	}
}
