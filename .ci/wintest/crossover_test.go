package wintest

import (
	"path/filepath"
	"strings"
	"testing"
)

// A home written by the Windows build opens with the Linux build, and the
// other way round, when its folder is moved across.
func TestVaultMovesBetweenWindowsAndLinux(t *testing.T) {
	b := need(t)
	winHome := t.TempDir()
	ok(t, "init on windows", b.win(t, winHome, "init"))
	ok(t, "add on windows", b.win(t, winHome, "memory", "add", "Written on Windows: I cycle to work"))
	moved := t.TempDir()
	copyDir(t, winHome, moved)
	if s := ok(t, "list on linux", b.lin(t, moved, "memory", "list")); !strings.Contains(s, "I cycle to work") {
		t.Fatalf("the Windows vault on Linux: %q", s)
	}

	linHome := t.TempDir()
	ok(t, "init on linux", b.lin(t, linHome, "init"))
	ok(t, "add on linux", b.lin(t, linHome, "memory", "add", "Written on Linux: I play the cello"))
	moved = t.TempDir()
	copyDir(t, linHome, moved)
	if s := ok(t, "search on windows", b.win(t, moved, "memory", "search", "cello")); !strings.Contains(s, "I play the cello") {
		t.Fatalf("the Linux vault on Windows: %q", s)
	}
	ok(t, "add on windows", b.win(t, moved, "memory", "add", "Added on Windows afterwards"))
	if s := ok(t, "list on linux", b.lin(t, moved, "memory", "list")); !strings.Contains(s, "Added on Windows afterwards") {
		t.Fatalf("the vault back on Linux: %q", s)
	}
}

// A bundle exported by one build imports with the other.
func TestBundleMovesBetweenWindowsAndLinux(t *testing.T) {
	b := need(t)
	winHome, linHome := t.TempDir(), t.TempDir()
	ok(t, "init on windows", b.win(t, winHome, "init"))
	ok(t, "init on linux", b.lin(t, linHome, "init"))
	ok(t, "add on windows", b.win(t, winHome, "memory", "add", "From Windows: my dog is called Pixel"))
	ok(t, "add on linux", b.lin(t, linHome, "memory", "add", "From Linux: I grow tomatoes"))

	dir := t.TempDir()
	fromWin, fromLin := filepath.Join(dir, "from-windows.cairn"), filepath.Join(dir, "from-linux.cairn")
	ok(t, "export on windows", b.win(t, winHome, "export", "--out", winPath(fromWin)))
	ok(t, "export on linux", b.lin(t, linHome, "export", "--out", fromLin))
	ok(t, "import on linux", b.lin(t, linHome, "import", fromWin))
	ok(t, "import on windows", b.win(t, winHome, "import", winPath(fromLin)))
	for _, r := range []result{b.lin(t, linHome, "memory", "list"), b.win(t, winHome, "memory", "list")} {
		if s := ok(t, "memory list", r); !strings.Contains(s, "Pixel") || !strings.Contains(s, "tomatoes") {
			t.Fatalf("after the exchange a home lacks a memory: %q", s)
		}
	}
}
