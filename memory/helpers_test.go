package memory

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// testKDF keeps tests fast; TestDefaultKDF checks the real parameters.
var testKDF = KDFParams{MemoryKiB: minMemKiB, Passes: 1, Parallelism: 1}

var testPass = []byte("correct horse battery staple")

func testConfig(t testing.TB, emb Embedder) Config {
	t.Helper()
	return Config{Path: filepath.Join(t.TempDir(), "home", "vault.db"), Embedder: emb, KDF: testKDF}
}

// newTestVault creates an unlocked vault in a temp dir with the test
// embedder.
func newTestVault(t testing.TB) (*Vault, Config) {
	t.Helper()
	cfg := testConfig(t, memtest.NewEmbedder(64))
	v, _, err := Create(context.Background(), cfg, testPass)
	if err != nil {
		t.Fatalf("create vault: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v, cfg
}

// openTestVault opens and unlocks another handle on the same file, as a
// second process would.
func openTestVault(t testing.TB, cfg Config) *Vault {
	t.Helper()
	v, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open vault: %v", err)
	}
	if err := v.Unlock(context.Background(), testPass); err != nil {
		t.Fatalf("unlock vault: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func mustAdd(t testing.TB, v *Vault, text string, tags ...string) Item {
	t.Helper()
	it, err := v.Add(context.Background(), NewItem{Kind: Fact, Text: text, Tags: tags})
	if err != nil {
		t.Fatalf("add %q: %v", text, err)
	}
	return it
}

// snapshotDir reads every file under dir.
func snapshotDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// filesContaining lists the files under dir whose bytes contain needle.
func filesContaining(t testing.TB, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	for p, b := range snapshotDir(t, dir) {
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
	}
	return hits
}
