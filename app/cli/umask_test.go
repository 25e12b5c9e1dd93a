package cli

import (
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHomeIsOwnerOnlyUnderUmask022: started with the common umask 022,
// a serving process creates nothing in the home that others can read,
// SQLite's -wal and -shm files of gym.db and vault.db included (looked at
// while it runs: a crash leaves them so).
func TestHomeIsOwnerOnlyUnderUmask022(t *testing.T) {
	old := syscall.Umask(0o022) // inherited by the process started below
	home := newHome(t)
	startServe(t, home, withPass)
	syscall.Umask(old)
	seen := map[string]bool{}
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		seen[d.Name()] = true
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is mode %v: others may read it", strings.TrimPrefix(path, home), fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gym.db", "gym.db-wal", "gym.db-shm", "vault.db-wal", "api-token"} {
		if !seen[name] {
			t.Errorf("%s was not created by the running server: the test checks nothing of it (files: %v)", name, seen)
		}
	}
}
