package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/gym"
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
	bothWays := make([]bothWaysStep, len(steps))
	for i, args := range steps {
		bothWays[i] = bothWaysStep{args: args}
	}
	runStepsBothWays(t, direct, env, seeded, bothWays)
}

// bothWaysStep is a command, its standard input, and what of its standard
// output the two runs cannot share (a model's words: nil keeps it all).
type bothWaysStep struct {
	args  []string
	stdin string
	blank func(stdout string) string
}

// runStepsBothWays is runBothWays with standard input and blanking.
func runStepsBothWays(t *testing.T, direct string, env []string, seeded map[string]bool, steps []bothWaysStep) {
	t.Helper()
	owned := filepath.Join(t.TempDir(), "home")
	if err := os.CopyFS(owned, os.DirFS(direct)); err != nil {
		t.Fatal(err)
	}
	startServe(t, owned, env)
	for _, st := range steps {
		d := cairnStdin(t, direct, env, st.stdin, st.args...)
		o := cairnStdin(t, owned, nil, st.stdin, st.args...) // the owner holds the vault: no passphrase
		d.stdout, o.stdout = sameShape(d.stdout, seeded), sameShape(o.stdout, seeded)
		if st.blank != nil {
			d.stdout, o.stdout = st.blank(d.stdout), st.blank(o.stdout)
		}
		if os.Getenv("BOTHWAYS_LOG") != "" { // to see what each step printed
			t.Logf("%q: %d %.300q %.300q", st.args, d.code, d.stdout, d.stderr)
		}
		if d != o {
			t.Errorf("cairn %q differs:\nno owner: code %d\nstdout %q\nstderr %q\nowner:    code %d\nstdout %q\nstderr %q",
				st.args, d.code, d.stdout, d.stderr, o.code, o.stdout, o.stderr)
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

// TestModelCommandsBothWays is the same for `models` and `pull`, which
// need no passphrase either way (with no owner the handler runs over the
// vault opened locked), on an Ollama of their own with a model pulled from
// a local registry.
func TestModelCommandsBothWays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg, err := ollamatest.StartRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	// Pushed from an Ollama of its own, which then has the model: the
	// shared one keeps its list for the other tests.
	own, err := ollamatest.StartEmpty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	name, err := own.Push(ctx, reg, ollamatest.Tiny)
	if err != nil {
		t.Fatal(err)
	}
	direct := chatHome(t)
	env := withOllama(own.Host) // and no passphrase: none is asked for
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	runBothWays(t, direct, env, nil, [][]string{
		{"models"},
		{"models", "--json"},
		{"pull", "--insecure", name},
		{"pull", "--insecure", "--json", name},
		{"pull", "--insecure", reg.Host + "/library/no-such-model"},
		{"pull", "--insecure", closed + "/library/tiny"},
		{"pull"},
		{"models", "--json"},
	})
}

// TestGymDatasetBothWays is the same for `gym dataset`, on feedback given
// to a stored conversation: the rows are the same, redacted or not, and
// so are the mistakes.
func TestGymDatasetBothWays(t *testing.T) {
	direct := newHome(t)
	bad, good := conversationWithBranches(t, direct)
	for _, args := range [][]string{
		{"memory", "add", "My sister Anna lives in Lisbon."},
		{"gym", "feedback", bad, "--down", "--reason", "wrong city", "--correct", "Anna lives in Lisbon."},
		{"gym", "feedback", good, "--up"},
		{"gym", "feedback", good, "--prefer"},
	} {
		if r := cairn(t, direct, withPass, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
	}
	runBothWays(t, direct, withPass, nil, [][]string{
		{"gym", "dataset", "--format", "sft", "--out", "-"},
		{"gym", "dataset", "--format", "dpo", "--out", "-"},
		{"gym", "dataset", "--format", "kto", "--out", "-"},
		{"gym", "dataset", "--format", "dpo", "--redact", "--out", "-"},
		{"gym", "dataset", "--format", "orpo", "--out", "-"},
		{"gym", "dataset", "--format", "sft"},
		{"gym", "dataset", "--format", "sft", "--out", filepath.Join(t.TempDir(), "no-such-folder", "d.jsonl")},
	})
}

// TestGymReviewBothWays is the same for `gym review`: listing, JSON,
// formats, declining by a hash prefix, approving with and without the
// licence, and the mistakes, on a gym served on loopback.
func TestGymReviewBothWays(t *testing.T) {
	direct := newHome(t)
	bad, good := conversationWithBranches(t, direct)
	g := serveGymAt(t, filepath.Join(t.TempDir(), "gym"), "127.0.0.1:0")
	for _, args := range [][]string{
		{"gym", "feedback", bad, "--down", "--reason", "wrong city", "--correct", "Anna lives in Lisbon."},
		{"gym", "feedback", good, "--up"},
		{"gym", "add", "http://" + g.addr},
	} {
		if r := cairn(t, direct, withPass, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
	}
	var reviewed struct {
		Items []gym.Candidate `json:"items"`
	}
	if err := json.Unmarshal([]byte(cairn(t, direct, withPass, "gym", "review", "log-gym", "--json").stdout), &reviewed); err != nil || len(reviewed.Items) < 2 {
		t.Fatalf("review --json: %+v, %v", reviewed, err)
	}
	runBothWays(t, direct, withPass, nil, [][]string{
		{"gym", "review", "log-gym"},
		{"gym", "review", "log-gym", "--json"},
		{"gym", "review", "log-gym", "--format", "dpo"},
		{"gym", "review", "log-gym", "--format", "poem"},
		{"gym", "review", "no-such-gym"},
		{"gym", "review"},
		{"gym", "review", "log-gym", "--approve", "all"},
		{"gym", "review", "log-gym", "--approve", "00000000"},
		{"gym", "review", "log-gym", "--decline", reviewed.Items[0].Hash[:12]},
		{"gym", "review", "log-gym", "--approve", "all", "--accept-license", "CC-BY-4.0", "--no-send"},
		{"gym", "review", "log-gym"},
	})
}

// TestForgottenBothWays is the same for `memory forgotten` and `memory
// restore`, on memories a model forgot (soft): listing, JSON, restoring,
// restoring twice, and ids that are not there.
func TestForgottenBothWays(t *testing.T) {
	direct := newHome(t)
	ctx := context.Background()
	v, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: direct}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Unlock(ctx, []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	seeded := map[string]bool{}
	var ids []string
	for _, text := range []string{"Allergic to penicillin", "Lives in Porto", "Plays the cello"} {
		it, err := v.Add(ctx, memory.NewItem{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		seeded[it.ID] = true
		ids = append(ids, it.ID)
	}
	for _, id := range ids[:2] {
		if _, err := v.SoftForget(ctx, id, "asked by the model"); err != nil {
			t.Fatal(err)
		}
	}
	v.Close()
	runBothWays(t, direct, withPass, seeded, [][]string{
		{"memory", "forgotten"},
		{"memory", "forgotten", "--json"},
		{"memory", "restore", ids[0]},
		{"memory", "restore", ids[0]},
		{"memory", "restore", ids[2]},
		{"memory", "restore", "0190aaaa-0000-7000-8000-000000000000"},
		{"memory", "restore", "not an id!"},
		{"memory", "restore"},
		{"memory", "forgotten", "extra"},
		{"memory", "restore", ids[1]},
		{"memory", "forgotten"},
		{"memory", "list", "--json"},
	})
}

// TestGymCommandsBothWays is the same for the commands on the home's gym
// file and for feedback: listing, adding and removing gyms, rating replies
// (by a prefix of the id, and the mistakes), the outbox, sending, the
// receipts and a revocation, on a gym served on loopback.
func TestGymCommandsBothWays(t *testing.T) {
	direct := newHome(t)
	bad, good := conversationWithBranches(t, direct)
	g := serveGymAt(t, filepath.Join(t.TempDir(), "gym"), "127.0.0.1:0")
	for _, args := range [][]string{
		{"gym", "add", "http://" + g.addr},
		{"gym", "feedback", good, "--up"},
	} {
		if r := cairn(t, direct, withPass, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
	}
	var reviewed struct {
		Items []gym.Candidate `json:"items"`
	}
	if err := json.Unmarshal([]byte(cairn(t, direct, withPass, "gym", "review", "log-gym", "--json").stdout), &reviewed); err != nil || len(reviewed.Items) == 0 {
		t.Fatalf("review --json: %+v, %v", reviewed, err)
	}
	if r := cairn(t, direct, withPass, "gym", "review", "log-gym", "--approve", "all", "--accept-license", "CC-BY-4.0", "--no-send"); r.code != 0 {
		t.Fatalf("approve: %d %s", r.code, r.stderr)
	}
	const missing = "0190aaaa-0000-7000-8000-000000000000"
	runBothWays(t, direct, withPass, map[string]bool{bad: true, good: true}, [][]string{
		{"gym", "list"},
		{"gym", "outbox"},
		{"gym", "feedback", bad[:13], "--down", "--reason", "wrong city"},
		{"gym", "feedback", bad, "--correct", "Anna lives in Lisbon."},
		{"gym", "feedback", missing, "--up"},
		{"gym", "feedback", bad},
		{"gym", "feedback", bad, "--up", "--down"},
		{"gym", "feedback", bad, "--reason", "\xff", "--up"},
		{"gym", "send"},
		{"gym", "receipts", "log-gym"},
		{"gym", "receipts", "no-such-gym"},
		{"gym", "revoke", "log-gym", reviewed.Items[0].Hash},
		{"gym", "add", "http://127.0.0.1:1"},
		{"gym", "remove", "no-such-gym"},
		{"gym", "remove", "log-gym"},
		{"gym", "list"},
	})
}
