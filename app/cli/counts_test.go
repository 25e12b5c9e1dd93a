package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExportAndImportCountWhatAPersonHas: with three memories of which one
// is forgotten, export says 2 memories (the forget travels, said apart),
// and the import on the other device says 2 memories too.
func TestExportAndImportCountWhatAPersonHas(t *testing.T) {
	a, b := newHome(t), newHome(t)
	for _, text := range []string{"I keep bees", "I live in Lisbon", "I like green tea"} {
		ok(t, cairn(t, a, withPass, "memory", "add", text), "memory add")
	}
	r := ok(t, cairn(t, a, withPass, "memory", "list", "--json"), "memory list")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		ids = append(ids, between(line, `"id":"`, `"`))
	}
	if len(ids) != 3 || ids[2] == "" {
		t.Fatalf("memory list: %q", r.stdout)
	}
	ok(t, cairn(t, a, withPass, "memory", "forget", "--yes", ids[2]), "memory forget")
	out := filepath.Join(t.TempDir(), "x.jsonl")
	r = ok(t, cairn(t, a, withPass, "export", "--format", "jsonl", "--out", out), "export")
	if !strings.Contains(r.stderr, "Exported 2 memories to") || !strings.Contains(r.stderr, "With them: 1 forget") {
		t.Fatalf("export counts: %s", r.stderr)
	}
	r = ok(t, cairn(t, b, withPass, "import", out), "import")
	if !strings.Contains(r.stderr, "Imported 2 memories, 1 forget from") {
		t.Fatalf("import counts: %s", r.stderr)
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
