package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/gym"
)

const testTaskFile = `{
  "sets": [
    {"id": "capitals", "kind": "compare", "title": "Which answer is right?"},
    {"id": "write", "kind": "answer", "title": "Answer plainly"}
  ],
  "tasks": [
    {"id": "cap-pt", "set": "capitals", "kind": "compare", "prompt": "What is the capital of Portugal?", "answers": ["Porto.", "Lisbon."], "gold": {"choice": 1}},
    {"id": "cap-es", "set": "capitals", "kind": "compare", "prompt": "What is the capital of Spain?", "answers": ["Madrid.", "Seville."]},
    {"id": "say-hi", "set": "write", "kind": "answer", "prompt": "Greet a new colleague in one line.", "reference": "Welcome aboard!"}
  ]
}`

// TestGymTasksTwoContributors: a gym publishes task sets; two people take
// them through the CLI; the items they reviewed arrive byte for byte (by
// hash on the gym's signed receipts) and are exported as TRL rows.
func TestGymTasksTwoContributors(t *testing.T) {
	ok := func(r result) result {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		return r
	}
	tasksPath := filepath.Join(t.TempDir(), "tasks.json")
	os.WriteFile(tasksPath, []byte(testTaskFile), 0o600)
	gymDir := filepath.Join(t.TempDir(), "gym")
	alice, bob := newHome(t), newHome(t)
	addr := startBackground(t, alice, regexp.MustCompile(`libp2p: (\S+)`), "gym", "serve", "--dir", gymDir, "--name", "task-gym", "--tasks", tasksPath, "--p2p", "/ip4/127.0.0.1/tcp/0")

	sent := map[string]string{} // hash -> the exact bytes shown for review
	for i, home := range []string{alice, bob} {
		ok(cairn(t, home, nil, "gym", "add", addr))
		var batch struct {
			Tasks []gym.Task `json:"tasks"`
		}
		if err := json.Unmarshal([]byte(ok(cairn(t, home, withPass, "gym", "tasks", "task-gym", "--set", "capitals", "--n", "10", "--json")).stdout), &batch); err != nil || len(batch.Tasks) != 2 {
			t.Fatalf("task batch: %+v, %v", batch, err)
		}
		for _, task := range batch.Tasks {
			if strings.Contains(task.Reference+strings.Join(task.Answers, ""), "gold") {
				t.Fatalf("a gold task stands out: %+v", task)
			}
		}
		// Alice picks Lisbon (the gold answer), Bob Porto; both pick Madrid.
		choice := []int{2, 1}[i]
		results := `[{"task": "cap-pt", "choice": ` + string(rune('0'+choice)) + `, "reason": "it is the capital"}, {"task": "cap-es", "choice": 1}]`
		resultsPath := filepath.Join(t.TempDir(), "results.json")
		os.WriteFile(resultsPath, []byte(results), 0o600)
		review := ok(cairn(t, home, withPass, "gym", "tasks", "task-gym", "--results", resultsPath))
		if !strings.Contains(review.stderr, "nothing approved or sent") {
			t.Fatalf("results without the licence: %+v", review)
		}
		blocks := strings.Split(strings.TrimSpace(review.stdout), "\n\n")
		if len(blocks) != 2 {
			t.Fatalf("review shows %d items:\n%s", len(blocks), review.stdout)
		}
		for _, b := range blocks {
			head, item, _ := strings.Cut(b, "\n")
			hash, _, _ := strings.Cut(head, " ")
			if gym.Hash([]byte(item)) != hash {
				t.Fatalf("the hash shown is not that of the bytes shown: %s", b)
			}
			sent[hash] = item
		}
		if r := ok(cairn(t, home, withPass, "gym", "tasks", "task-gym", "--results", resultsPath, "--accept-license", "CC-BY-4.0")); !strings.Contains(r.stderr, "1 delivered") {
			t.Fatalf("sending results: %+v", r)
		}
		// The gym's signed receipt lists each reviewed item, by hash.
		var recs []gym.KeptReceipt
		json.Unmarshal([]byte(ok(cairn(t, home, nil, "gym", "receipts", "task-gym")).stdout), &recs)
		if len(recs) != 1 || len(recs[0].Items) != 2 {
			t.Fatalf("receipts: %+v", recs)
		}
		for _, it := range recs[0].Items {
			if _, shown := sent[it.Hash]; !shown || (it.Status != gym.StatusAccepted && it.Status != gym.StatusDuplicate) {
				t.Fatalf("receipt item %+v was not reviewed, or not taken", it)
			}
		}
		// Done tasks are not offered again.
		var again struct {
			Tasks []gym.Task `json:"tasks"`
		}
		json.Unmarshal([]byte(ok(cairn(t, home, withPass, "gym", "tasks", "task-gym", "--set", "capitals", "--json")).stdout), &again)
		if len(again.Tasks) != 0 {
			t.Fatalf("done tasks offered again: %+v", again.Tasks)
		}
	}
	// Three distinct preference rows (Madrid twice is one item), in TRL's
	// DPO columns, with the reason kept in the item.
	out := filepath.Join(t.TempDir(), "dpo.jsonl")
	ok(cairn(t, alice, nil, "gym", "export", "--dir", gymDir, "--format", "dpo", "--out", out))
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d DPO rows, want 3:\n%s", len(lines), b)
	}
	for _, l := range lines {
		var row map[string]json.RawMessage
		json.Unmarshal([]byte(l), &row)
		if len(row) != 3 || row["prompt"] == nil || row["chosen"] == nil || row["rejected"] == nil {
			t.Fatalf("not a TRL DPO row: %s", l)
		}
	}
	if len(sent) != 3 {
		t.Fatalf("%d distinct items reviewed, want 3", len(sent))
	}

	// Bob got the gold task wrong: a scored export keeps Alice's rows only
	// (Madrid is hers, byte for byte), and a rejection takes one out.
	scored := func() []string {
		ok(cairn(t, alice, nil, "gym", "export", "--dir", gymDir, "--format", "dpo", "--min-score", "0.6", "--out", out))
		b, _ := os.ReadFile(out)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	rows := scored()
	if len(rows) != 2 || strings.Contains(strings.Join(rows, ""), `"chosen":[{"role":"assistant","content":"Porto."}]`) {
		t.Fatalf("scored export:\n%s", strings.Join(rows, "\n"))
	}
	var madrid string
	for h, item := range sent {
		if strings.Contains(item, `"chosen":[{"role":"assistant","content":"Madrid."}]`) {
			madrid = h
		}
	}
	if r := cairn(t, alice, nil, "gym", "reject", "--dir", gymDir, madrid); r.code == 0 || !strings.Contains(r.stderr, "reason") {
		t.Fatalf("reject without a reason: %+v", r)
	}
	ok(cairn(t, alice, nil, "gym", "reject", "--dir", gymDir, madrid, "--reason", "spam"))
	if rows := scored(); len(rows) != 1 || strings.Contains(rows[0], "Madrid") {
		t.Fatalf("export after a rejection:\n%s", strings.Join(rows, "\n"))
	}
}

// TestGymTasksBothWays runs `cairn gym tasks` with no owner and through a
// running `cairn serve` (no passphrase asked) on copies of one home that
// added a gym publishing tasks: fetching, reviewing results, the licence
// gate, approving into the outbox, and the mistakes.
func TestGymTasksBothWays(t *testing.T) {
	dir := t.TempDir()
	tasksPath := filepath.Join(dir, "tasks.json")
	os.WriteFile(tasksPath, []byte(testTaskFile), 0o600)
	addr := startBackground(t, newHome(t), regexp.MustCompile(`libp2p: (\S+)`), "gym", "serve", "--dir", filepath.Join(dir, "gym"), "--name", "task-gym", "--tasks", tasksPath, "--p2p", "/ip4/127.0.0.1/tcp/0")
	direct := newHome(t)
	if r := cairn(t, direct, nil, "gym", "add", addr); r.code != 0 {
		t.Fatalf("gym add: %+v", r)
	}
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	results := file("results.json", `[{"task": "cap-pt", "choice": 2, "reason": "it is the capital"}, {"task": "cap-es", "choice": 1}]`)
	notJSON := file("bad.json", `{"task": `)
	unknown := file("unknown.json", `[{"task": "no-such-task", "answer": "hi"}]`)
	tasks := func(args ...string) bothWaysStep {
		return bothWaysStep{args: append([]string{"gym", "tasks"}, args...)}
	}
	// The gym shuffles each batch it gives: compare the tasks by id.
	fetch := func(args ...string) bothWaysStep {
		st := tasks(args...)
		st.blank = func(stdout string) string {
			var batch apitype.GymTasks
			if json.Unmarshal([]byte(stdout), &batch) != nil {
				return stdout
			}
			slices.SortFunc(batch.Tasks, func(a, b gym.Task) int { return strings.Compare(a.ID, b.ID) })
			b, _ := json.Marshal(batch)
			return string(b)
		}
		return st
	}
	runStepsBothWays(t, direct, withPass, nil, []bothWaysStep{
		fetch("task-gym", "--set", "capitals", "--n", "10", "--json"),
		fetch("task-gym", "--set", "capitals", "--json"),
		tasks("task-gym", "--set", "no-such-set", "--json"),
		tasks("no-such-gym", "--json"),
		tasks(),
		tasks("task-gym", "--results", results),
		tasks("task-gym", "--results", notJSON),
		tasks("task-gym", "--results", unknown),
		tasks("task-gym", "--results", filepath.Join(dir, "missing.json")),
		tasks("task-gym", "--results", results, "--accept-license", "WTFPL"),
		tasks("task-gym", "--results", results, "--accept-license", "CC-BY-4.0", "--no-send"),
		fetch("task-gym", "--set", "capitals", "--json"),
	})
}
