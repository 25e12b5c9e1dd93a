package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
)

// TestMemoryCommandsBothWays runs every memory command on two copies of
// one home: on one with no owner (the command opens the vault and serves
// the API in-process), on the other through a running `cairn serve` (no
// passphrase given). Output and exit code must be the same, bad input
// included, and so must the vaults at the end.
func TestMemoryCommandsBothWays(t *testing.T) {
	direct := newHome(t)
	env := withOllama("127.0.0.1:1") // no model server: both ways alike
	seed := func(args ...string) string {
		t.Helper()
		r := cairn(t, direct, env, append([]string{"memory", "add"}, args...)...)
		if r.code != 0 {
			t.Fatalf("seed %v: %d %s", args, r.code, r.stderr)
		}
		return strings.TrimSpace(r.stdout)
	}
	tea := seed("I like green tea", "--tag", "drink")
	sister := seed("My sister is called Ana", "--kind", "fact")
	note := seed("Pack the tent for the trip", "--kind", "note", "--pin")
	coffee := seed("Coffee after lunch keeps me awake", "--tag", "drink")
	seeded := map[string]bool{tea: true, sister: true, note: true, coffee: true}

	steps := [][]string{
		{"memory", "list"},
		{"memory", "list", "--json"},
		{"memory", "list", "--limit", "0"},
		{"memory", "list", "--limit", "2"},
		{"memory", "list", "--limit", "2000"},
		{"memory", "list", "--limit", "-1"},
		{"memory", "list", "--kind", "note"},
		{"memory", "list", "--tag", "drink", "--json"},
		{"memory", "list", "--kind", "poem"},
		{"memory", "search", "tea", "--mode", "keyword"},
		{"memory", "search", "tea", "--mode", "keyword", "--json"},
		{"memory", "search", "drink", "--tag", "drink", "--mode", "keyword"},
		{"memory", "search", "nothing-like-this", "--mode", "keyword"},
		{"memory", "search", "  "},
		{"memory", "search", "tea", "--limit", "2000"},
		{"memory", "search", "tea", "--limit", "0"},
		{"memory", "search", "tea", "--mode", "telepathy"},
		{"memory", "search"},
		{"memory", "show", tea},
		{"memory", "show", tea, "--json"},
		{"memory", "show", "0190aaaa-0000-7000-8000-000000000000"},
		{"memory", "show", "not an id!"},
		{"memory", "add", "I cycle to work", "--tag", "commute"},
		{"memory", "add", ""},
		{"memory", "add", "ok \xc3\x28"},
		{"memory", "add", "fine", "--tag", "\xff"},
		{"memory", "add", "a poem", "--kind", "poem"},
		{"memory", "edit", sister, "My sister Ana lives in Porto"},
		{"memory", "edit", sister},
		{"memory", "edit", "0190aaaa-0000-7000-8000-000000000000", "text"},
		{"memory", "show", sister},
		{"memory", "forget", note, "--yes"},
		{"memory", "forget", note, "--yes"},
		{"memory", "list", "--json"},
	}
	runBothWays(t, direct, env, seeded, steps)
}

// runBothWays copies the home, starts `cairn serve` on the copy, and runs
// each step on both: on the original with no owner (env gives the
// passphrase), on the copy through the owner with no passphrase at all.
// Output and exit code must be the same.
func runBothWays(t *testing.T, direct string, env []string, seeded map[string]bool, steps [][]string) {
	t.Helper()
	owned := filepath.Join(t.TempDir(), "home")
	if err := os.CopyFS(owned, os.DirFS(direct)); err != nil {
		t.Fatal(err)
	}
	startServe(t, owned, env)
	for _, args := range steps {
		d := cairn(t, direct, env, args...)
		o := cairn(t, owned, nil, args...) // the owner holds the vault: no passphrase
		d.stdout, o.stdout = sameShape(d.stdout, seeded), sameShape(o.stdout, seeded)
		if d != o {
			t.Errorf("cairn %q differs:\nno owner: code %d\nstdout %q\nstderr %q\nowner:    code %d\nstdout %q\nstderr %q",
				args, d.code, d.stdout, d.stderr, o.code, o.stdout, o.stderr)
		}
	}
}

// TestConversationCommandsBothWays is the same for the conversation
// commands, on conversations had with the real Ollama and the tiny model.
func TestConversationCommandsBothWays(t *testing.T) {
	direct := chatHome(t)
	env := withOllama(ollama.Host)
	seeded := map[string]bool{}
	for _, q := range []string{"Tell me about lighthouses.", "What is a cairn?"} {
		if r := cairn(t, direct, env, "chat", "--model", ollamatest.Tiny, q); r.code != 0 {
			t.Fatalf("chat: %d %s", r.code, r.stderr)
		}
	}
	convs := jsonLines[memory.Conversation](t, cairn(t, direct, env, "conversations", "--json").stdout)
	if len(convs) != 2 {
		t.Fatalf("want 2 conversations, got %+v", convs)
	}
	first, second := convs[0].ID, convs[1].ID
	seeded[first], seeded[second] = true, true
	msgs := jsonLines[memory.Message](t, cairn(t, direct, env, "conversations", "show", "--all", first, "--json").stdout)
	for _, m := range msgs {
		seeded[m.ID] = true
	}
	const missing = "0190aaaa-0000-7000-8000-000000000000"
	runBothWays(t, direct, env, seeded, [][]string{
		{"conversations"},
		{"conversations", "--json"},
		{"conversations", "--limit", "0"},
		{"conversations", "--limit", "1"},
		{"conversations", "--limit", "-1"},
		{"conversations", "show", first},
		{"conversations", "show", first, "--json"},
		{"conversations", "show", "--all", first, "--json"},
		{"conversations", "show", missing},
		{"conversations", "show"},
		{"conversations", "rename", first, "Lighthouses"},
		{"conversations", "rename", first, "\xff"},
		{"conversations", "rename", first, ""},
		{"conversations", "rename", missing, "x"},
		{"conversations", "delete", second},
		{"conversations", "delete", second},
		{"conversations", "--json"},
	})
}

var (
	newIDPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timePattern  = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?)?|\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \w+`)
)

// sameShape blanks what two runs cannot share: the ids of memories each
// added just now, and times (an edit stamps its own). The seeded ids stay,
// and so do the order, the texts, the scores and the messages.
func sameShape(s string, seeded map[string]bool) string {
	s = newIDPattern.ReplaceAllStringFunc(s, func(id string) string {
		if seeded[id] {
			return id
		}
		return "NEW-ID"
	})
	return timePattern.ReplaceAllString(s, "TIME")
}
