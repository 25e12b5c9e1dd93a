package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

func fillHome(t *testing.T, home string) {
	t.Helper()
	ctx := context.Background()
	v, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock(ctx, []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"My sister Ana lives in Lisbon", "Prefers green tea, not coffee ☕"} {
		if _, err := v.Add(ctx, memory.NewItem{Text: text, Tags: []string{"family"}}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := v.CreateConversation(ctx, memory.NewConversation{Title: "Planning Lisbon"})
	q, _ := v.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, Role: memory.RoleUser, Content: "Where to eat in Lisbon?"})
	if _, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "Try Alfama."}); err != nil {
		t.Fatal(err)
	}
}

func ok(t *testing.T, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout %s\nstderr %s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

// A vault goes to another device as a bundle, and as JSONL; the files
// give back what went in, a wrong passphrase is refused, a second import
// changes nothing, a dry run writes nothing, and nothing to import fails.
func TestExportImportCommands(t *testing.T) {
	a, b := newHome(t), newHome(t)
	fillHome(t, a)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "vault.cairn")
	bundlePass := []string{"CAIRN_PASSPHRASE=" + testPassphrase, envBundlePassphrase + "=bundle passphrase here"}
	r := ok(t, cairn(t, a, bundlePass, "export", "--out", bundle), "export")
	if !strings.Contains(r.stderr, "Exported 2 memories, 1 conversation, 2 messages to") {
		t.Fatalf("export summary: %s", r.stderr)
	}

	wrong := []string{"CAIRN_PASSPHRASE=" + testPassphrase, envBundlePassphrase + "=another passphrase"}
	before := readTree(t, b)
	if r := cairn(t, b, wrong, "import", bundle); r.code == 0 || !strings.Contains(r.stderr, "does not open this bundle") {
		t.Fatalf("wrong bundle passphrase: %+v", r)
	}
	sameTree(t, before, readTree(t, b))

	r = ok(t, cairn(t, b, bundlePass, "import", "--dry-run", bundle), "dry run")
	if !strings.Contains(r.stderr, "Dry run, nothing written. Would import 1 conversation, 2 messages, 2 memories") {
		t.Fatalf("dry run summary: %s", r.stderr)
	}
	sameTree(t, before, readTree(t, b))

	ok(t, cairn(t, b, bundlePass, "import", bundle), "import")
	r = ok(t, cairn(t, b, withPass, "memory", "search", "sister"), "search on the other device")
	if !strings.Contains(r.stdout, "Ana lives in Lisbon") {
		t.Fatalf("search after import: %s", r.stdout)
	}
	r = ok(t, cairn(t, b, bundlePass, "import", bundle), "second import")
	if !strings.Contains(r.stderr, "nothing new") || !strings.Contains(r.stderr, "5 already in the vault") {
		t.Fatalf("second import: %s", r.stderr)
	}

	// JSONL: export from both homes gives the same records.
	ja, jb := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	ok(t, cairn(t, a, withPass, "export", "--format", "jsonl", "--out", ja), "jsonl a")
	ok(t, cairn(t, b, withPass, "export", "--format", "jsonl", "--out", jb), "jsonl b")
	if x, y := mustRead(t, ja), mustRead(t, jb); x != y {
		t.Fatalf("JSONL of the two homes differ:\n%s\n---\n%s", x, y)
	}
	md := filepath.Join(dir, "md")
	ok(t, cairn(t, a, withPass, "export", "--format", "markdown", "--out", md), "markdown")
	if m := mustRead(t, filepath.Join(md, "memories.md")); !strings.Contains(m, "Ana lives in Lisbon") {
		t.Fatalf("memories.md: %s", m)
	}
	if files, _ := filepath.Glob(filepath.Join(md, "conversations", "*-planning-lisbon-*.md")); len(files) != 1 || !strings.Contains(mustRead(t, files[0]), "Try Alfama.") {
		t.Fatalf("conversation files: %v", files)
	}

	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte("\n{\"note\": 1}\n"), 0o600)
	if r := cairn(t, b, withPass, "import", empty); r.code == 0 || !strings.Contains(r.stderr, "nothing to import") {
		t.Fatalf("import of nothing: %+v", r)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kill -9 in the middle of a long import, then the same command again:
// it resumes, and the vault ends with every memory exactly once.
func TestImportKilledThenResumed(t *testing.T) {
	const n = 20000
	home := newHome(t)
	path := filepath.Join(t.TempDir(), "memories.jsonl")
	f, _ := os.Create(path)
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"text": "memory number %d of the long import", "tags": ["bulk"], "created_at": "2024-01-01T00:00:%02d.%03dZ"}`+"\n", i, i%60, i%1000)
	}
	w.Flush()
	f.Close()

	cmd := exec.Command(os.Args[0], "--home", home, "import", path)
	cmd.Env = append(cleanEnv(), execMainEnv+"=1", "CAIRN_PASSPHRASE="+testPassphrase)
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	journals := filepath.Join(home, "imports", "*.json")
	killed := false
	for !killed {
		select {
		case <-done:
			t.Log("the import finished before it could be killed; the resume below still checks the count")
			killed = true
			continue
		case <-time.After(5 * time.Millisecond):
		}
		if m, _ := filepath.Glob(journals); len(m) > 0 {
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed = true
		}
	}
	r := ok(t, cairn(t, home, withPass, "import", path), "resumed import")
	if m, _ := filepath.Glob(journals); len(m) != 0 {
		t.Fatalf("the journal is left after a finished import: %v", m)
	}
	t.Log(strings.TrimSpace(r.stderr))
	v, err := memory.Open(context.Background(), memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock(context.Background(), []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	items, err := v.List(context.Background(), memory.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Text] {
			t.Fatalf("%q imported twice", it.Text)
		}
		seen[it.Text] = true
	}
	if len(items) != n {
		t.Fatalf("%d memories after the killed and resumed import, want %d", len(items), n)
	}
}

// With cairn serve holding the home, export and import go through its
// API: same results, and no passphrase needed for the vault.
func TestExportImportThroughOwner(t *testing.T) {
	a, b := newHome(t), newHome(t)
	fillHome(t, a)
	dir := t.TempDir()
	ja := filepath.Join(dir, "a.jsonl")
	ok(t, cairn(t, a, withPass, "export", "--format", "jsonl", "--out", ja), "export a")
	startServe(t, b, withPass)
	r := ok(t, cairn(t, b, nil, "import", ja), "import through the owner")
	if !strings.Contains(r.stderr, "Imported 1 conversation, 2 messages, 2 memories") {
		t.Fatalf("summary: %s", r.stderr)
	}
	jb := filepath.Join(dir, "b.jsonl")
	ok(t, cairn(t, b, nil, "export", "--format", "jsonl", "--out", jb), "export through the owner")
	if x, y := mustRead(t, ja), mustRead(t, jb); x != y {
		t.Fatalf("JSONL through the owner differs:\n%s\n---\n%s", x, y)
	}
	bundle := filepath.Join(dir, "b.cairn")
	bp := []string{envBundlePassphrase + "=bundle passphrase here"}
	ok(t, cairn(t, b, bp, "export", "--out", bundle), "bundle through the owner")
	if r := cairn(t, b, []string{envBundlePassphrase + "=wrong passphrase"}, "import", bundle); r.code == 0 || !strings.Contains(r.stderr, "does not open") {
		t.Fatalf("wrong passphrase through the owner: %+v", r)
	}
	r = ok(t, cairn(t, b, bp, "import", bundle), "bundle import through the owner")
	if !strings.Contains(r.stderr, "nothing new") {
		t.Fatalf("re-import through the owner: %s", r.stderr)
	}
}

// cairn import --extract: the real model reads each imported message of
// the person's; done once, a second run says so instead of reading again.
func TestImportThenExtract(t *testing.T) {
	home := chatHome(t)
	env := withOllama(ollama.Host)
	claude := filepath.Join("..", "..", "memory", "importers", "testdata", "claude_conversations.json")
	r := ok(t, cairn(t, home, env, "import", claude, "--extract", "--model", "tiny"), "import --extract")
	if !strings.Contains(r.stderr, "Imported 2 conversations") || !strings.Contains(r.stderr, "Extraction read 3 of your messages") {
		t.Fatalf("import --extract: %s", r.stderr)
	}
	r = ok(t, cairn(t, home, env, "import", claude, "--extract", "--model", "tiny"), "again")
	if !strings.Contains(r.stderr, "nothing new") || !strings.Contains(r.stderr, "already extracted from these 3 messages") {
		t.Fatalf("second import --extract: %s", r.stderr)
	}
}
