package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The import summary and the dry run say when some of the file was not
// UTF-8 (and so was imported as U+FFFD), and where.
func TestImportSaysWhatWasNotUTF8(t *testing.T) {
	h := newHome(t)
	path := filepath.Join(t.TempDir(), "memories.jsonl")
	if err := os.WriteFile(path, []byte("{\"text\":\"caf\xe9 au lait in the morning\"}\n{\"text\":\"plain tea\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CAIRN_PASSPHRASE=" + testPassphrase}
	for _, args := range [][]string{{"import", "--dry-run", path}, {"import", path}} {
		r := ok(t, cairn(t, h, env, args...), strings.Join(args, " "))
		if !strings.Contains(r.stderr, "Not UTF-8: 1 byte sequence in 1 entry, imported as U+FFFD (e.g. line 1).") {
			t.Fatalf("cairn %s did not report the byte that is not UTF-8:\n%s", strings.Join(args, " "), r.stderr)
		}
	}
}
