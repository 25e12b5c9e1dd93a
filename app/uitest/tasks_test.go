package uitest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/cairnlabs/cairn/gym"
)

const taskFile = `{
  "sets": [
    {"id": "capitals", "kind": "compare", "title": "Which answer is right?"},
    {"id": "write", "kind": "answer", "title": "Answer plainly"},
    {"id": "quality", "kind": "rate", "title": "Rate the answer", "rubric": ["clear", "correct"], "scale": 5}
  ],
  "tasks": [
    {"id": "cap-pt", "set": "capitals", "kind": "compare", "prompt": "What is the capital of Portugal?", "answers": ["Porto.", "Lisbon."], "gold": {"choice": 1}},
    {"id": "cap-es", "set": "capitals", "kind": "compare", "prompt": "What is the capital of Spain?", "answers": ["Madrid.", "Seville."]},
    {"id": "say-hi", "set": "write", "kind": "answer", "prompt": "Greet a new colleague in one line.", "reference": "Welcome aboard!"},
    {"id": "sum", "set": "quality", "kind": "rate", "prompt": "What is 2+2?", "answers": ["It is 4."]}
  ]
}`

// TestGymTasksInBrowser: a gym publishes task sets on loopback; two people
// take the compare tasks through the CLI and a third takes one of each
// kind through the Tasks view in Chromium (frontend/e2e/tasks.mjs), from
// the keyboard. Every item each of them reviewed is in the gym's Parquet
// export, read back row by row, in TRL's columns with its provenance, and
// re-encodes to the exact bytes reviewed.
func TestGymTasksInBrowser(t *testing.T) {
	root := repoRoot(t)
	readInputs(t, root)
	if testing.Short() {
		t.Skip("the browser test takes a minute or more; it runs without -short")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	bin := buildCairn(t, ctx, root)
	tasksPath := filepath.Join(t.TempDir(), "tasks.json")
	if err := os.WriteFile(tasksPath, []byte(taskFile), 0o600); err != nil {
		t.Fatal(err)
	}
	gymDir := filepath.Join(t.TempDir(), "gym")
	gymURL, gymLog := startGym(t, ctx, bin, gymDir, "--tasks", tasksPath)

	run := func(home string, env []string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--home", home}, args...)...)
		cmd.Env = append(cleanEnv(), env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cairn %s: %v\n%s\ngym log:\n%s", strings.Join(args, " "), err, stderr.String(), gymLog.String())
		}
		return string(out)
	}
	// reviewed: for each person, the hash and exact bytes of each item
	// they were shown and sent.
	reviewed := map[string]map[string]string{}
	for _, who := range []string{"alice", "bob"} {
		home := filepath.Join(t.TempDir(), who)
		run(home, nil, "gym", "add", gymURL)
		run(home, nil, "gym", "tasks", "Test gym", "--set", "capitals", "--n", "10", "--json")
		results := `[{"task": "cap-pt", "choice": 2, "reason": "` + who + ` knows Lisbon"}, {"task": "cap-es", "choice": 1, "reason": "` + who + ` knows Madrid"}]`
		resultsPath := filepath.Join(t.TempDir(), "results.json")
		os.WriteFile(resultsPath, []byte(results), 0o600)
		reviewed[who] = map[string]string{}
		for _, block := range strings.Split(strings.TrimSpace(run(home, nil, "gym", "tasks", "Test gym", "--results", resultsPath)), "\n\n") {
			head, item, _ := strings.Cut(block, "\n")
			hash, _, _ := strings.Cut(head, " ")
			reviewed[who][hash] = item
		}
		run(home, nil, "gym", "tasks", "Test gym", "--results", resultsPath, "--accept-license", "CC-BY-4.0")
	}

	// Carol uses the app: a vault, the gym added, then the Tasks view.
	carol := filepath.Join(t.TempDir(), "carol")
	pass := []string{"CAIRN_PASSPHRASE=correct horse battery staple"}
	run(carol, pass, "init")
	run(carol, nil, "gym", "add", gymURL)
	srv := startUI(t, ctx, bin, carol, pass)
	shots := filepath.Join(root, "frontend/test-results/tasks")
	os.RemoveAll(shots)
	node := exec.CommandContext(ctx, "node", "e2e/tasks.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_LOGIN_URL="+srv.login, "CAIRN_SHOTS="+shots, "CHROMIUM="+browser)
	out, err := node.CombinedOutput()
	t.Logf("tasks output:\n%s", out)
	if err != nil || !strings.Contains(string(out), "tasks: OK") {
		t.Fatalf("the Tasks view browser test failed (%v); screenshots in %s; server log:\n%s\ngym log:\n%s", err, shots, srv.log.String(), gymLog.String())
	}
	reviewed["carol"] = map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "REVIEWED "); ok {
			hash, item, _ := strings.Cut(rest, " ")
			reviewed["carol"][hash] = item
		}
	}
	if len(reviewed["carol"]) != 4 {
		t.Fatalf("the browser reviewed %d items, want 4 (two compare, one answer, one rating)", len(reviewed["carol"]))
	}

	pq := filepath.Join(t.TempDir(), "dataset")
	run(carol, nil, "gym", "export", "--dir", gymDir, "--format", "parquet", "--out", pq)
	rows := readTaskRows(t, pq)
	if len(rows) != 8 {
		t.Fatalf("%d rows in the Parquet export, want 8 (2 + 2 by CLI, 4 in the browser)", len(rows))
	}
	keys := map[string]string{} // person -> the contributor key on their rows
	for who, items := range reviewed {
		for hash, raw := range items {
			row, ok := rows[hash]
			if !ok {
				t.Fatalf("%s's reviewed item %.16s… is not in the export: %s", who, hash, raw)
			}
			if gym.Hash([]byte(raw)) != hash || string(row.item.Encode()) != raw {
				t.Fatalf("%s's item %.16s… as exported:\n%s\nas reviewed:\n%s", who, hash, row.item.Encode(), raw)
			}
			if row.logIndex < 0 || row.license != "CC-BY-4.0" || (keys[who] != "" && keys[who] != row.contributor) {
				t.Fatalf("%s's row %.16s…: log index %d, licence %q, key %s (before %s)", who, hash, row.logIndex, row.license, row.contributor, keys[who])
			}
			keys[who] = row.contributor
		}
	}
	if keys["alice"] == keys["bob"] || keys["bob"] == keys["carol"] || keys["alice"] == keys["carol"] {
		t.Fatalf("two people share a contributor key: %v", keys)
	}
	card, err := os.ReadFile(filepath.Join(pq, "README.md"))
	if err != nil || !strings.Contains(string(card), "load_dataset(\"parquet\"") || !strings.Contains(string(card), "| rating | 1 |") {
		t.Fatalf("dataset card: %v\n%s", err, card)
	}
}

type taskRow struct {
	item                 gym.Item
	logIndex             int64
	contributor, license string
}

// readTaskRows reads the export's sft, dpo and rating shards by TRL's
// column names (checked against the file's schema) into items by hash.
func readTaskRows(t *testing.T, dir string) map[string]taskRow {
	t.Helper()
	type turn struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	}
	type prov struct {
		ItemHash    string  `parquet:"item_hash"`
		LogIndex    int64   `parquet:"log_index"`
		Contributor string  `parquet:"contributor"`
		Score       float64 `parquet:"score"`
		License     string  `parquet:"license"`
		Task        string  `parquet:"task"`
	}
	type sft struct {
		Messages []turn `parquet:"messages,list"`
		prov
	}
	type dpo struct {
		Prompt   []turn `parquet:"prompt,list"`
		Chosen   []turn `parquet:"chosen,list"`
		Rejected []turn `parquet:"rejected,list"`
		Reason   string `parquet:"reason"`
		prov
	}
	type rating struct {
		Prompt     []turn `parquet:"prompt,list"`
		Completion []turn `parquet:"completion,list"`
		Ratings    []struct {
			Name  string `parquet:"name"`
			Score int64  `parquet:"score"`
		} `parquet:"ratings,list"`
		prov
	}
	turns := func(ts []turn) []gym.Turn {
		out := make([]gym.Turn, len(ts))
		for i, x := range ts {
			out[i] = gym.Turn(x)
		}
		return out
	}
	provCols := []string{"item_hash", "log_index", "contributor", "score", "license", "task"}
	file := func(format string, cols ...string) string {
		path := filepath.Join(dir, format, "train-00000-of-00001.parquet")
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("the export has no %s shard: %v", format, err)
		}
		defer f.Close()
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range pf.Schema().Fields() {
			names = append(names, c.Name())
		}
		if want := append(cols, provCols...); !slices.Equal(names, want) {
			t.Fatalf("%s columns %v, want %v", format, names, want)
		}
		return path
	}
	out := map[string]taskRow{}
	add := func(p prov, it gym.Item) {
		it.Task = p.Task
		out[p.ItemHash] = taskRow{item: it, logIndex: p.LogIndex, contributor: p.Contributor, license: p.License}
	}
	sfts, err := parquet.ReadFile[sft](file("sft", "messages"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sfts {
		add(r.prov, gym.Item{Format: gym.SFT, Messages: turns(r.Messages)})
	}
	dpos, err := parquet.ReadFile[dpo](file("dpo", "prompt", "chosen", "rejected", "reason"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range dpos {
		add(r.prov, gym.Item{Format: gym.DPO, Prompt: turns(r.Prompt), Chosen: turns(r.Chosen), Rejected: turns(r.Rejected), Reason: r.Reason})
	}
	ratings, err := parquet.ReadFile[rating](file("rating", "prompt", "completion", "ratings"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ratings {
		scores := map[string]int{}
		for _, s := range r.Ratings {
			scores[s.Name] = int(s.Score)
		}
		add(r.prov, gym.Item{Format: gym.Rating, Prompt: turns(r.Prompt), Completion: turns(r.Completion), Ratings: scores})
	}
	return out
}
