package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
)

// The test binary doubles as the cairn binary: with this variable set it
// runs Main instead of the tests, so the CLI is tested as separate
// processes, as people and scripts run it.
const execMainEnv = "CAIRN_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		// As main does: the context ends on SIGINT and SIGTERM.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], fstest.MapFS{})
		stop()
		os.Exit(code)
	}
	// A real Ollama with the tiny model, for the chat commands.
	os.Exit(ollamatest.Main(m, &ollama))
}

var ollama *ollamatest.Server

const testPassphrase = "correct horse battery staple"

// fastKDF keeps test vaults quick to unlock; `cairn init` itself is tested
// with the default parameters.
var fastKDF = memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}

type result struct {
	stdout, stderr string
	code           int
}

// cairn runs the CLI as a separate process with the given home and extra
// environment (KEY=VALUE).
func cairn(t *testing.T, home string, env []string, args ...string) result {
	t.Helper()
	return cairnStdin(t, home, env, "", args...)
}

func cairnStdin(t *testing.T, home string, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--home", home}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cleanEnv(), execMainEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// cleanEnv is the environment without any Cairn or Ollama settings of the
// machine running the tests.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") && !strings.HasPrefix(kv, "OLLAMA_") {
			out = append(out, kv)
		}
	}
	return out
}

var withPass = []string{"CAIRN_PASSPHRASE=" + testPassphrase}

// newHome creates a home with a vault (fast KDF) and returns its folder.
func newHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	v, _, err := memory.Create(context.Background(), memory.Config{Path: owner.Home{Dir: home}.VaultPath(), KDF: fastKDF}, []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	return home
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("files changed: %d before, %d after", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Fatalf("%s changed", p)
		}
	}
}

func TestInitPasswdAndRecovery(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	r := cairn(t, home, withPass, "init")
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	recovery := strings.TrimSpace(r.stdout)
	if len(strings.ReplaceAll(recovery, "-", "")) != 52 || !strings.Contains(r.stderr, "safe") {
		t.Fatalf("init should print the recovery key and say to keep it safe:\nstdout %q\nstderr %q", r.stdout, r.stderr)
	}
	before := readTree(t, home)
	if r := cairn(t, home, withPass, "init"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("second init: %+v", r)
	}
	sameTree(t, before, readTree(t, home))

	id := strings.TrimSpace(cairn(t, home, withPass, "memory", "add", "kept across passphrase changes").stdout)
	second := "second passphrase"
	if r := cairn(t, home, append(withPass, "CAIRN_NEW_PASSPHRASE="+second), "passwd"); r.code != 0 {
		t.Fatalf("passwd: %+v", r)
	}
	if r := cairn(t, home, withPass, "memory", "show", id); r.code == 0 || !strings.Contains(r.stderr, "wrong passphrase") {
		t.Fatalf("old passphrase after passwd: %+v", r)
	}
	newPass := []string{"CAIRN_PASSPHRASE=" + second}
	if r := cairn(t, home, newPass, "memory", "show", id); r.code != 0 || !strings.Contains(r.stdout, "kept across") {
		t.Fatalf("new passphrase: %+v", r)
	}

	// A wrong recovery key changes nothing; the right one sets a new passphrase.
	before = readTree(t, home)
	wrong := strings.Repeat("AAAA-", 12) + "AAAA"
	if r := cairn(t, home, []string{"CAIRN_RECOVERY_KEY=" + wrong, "CAIRN_NEW_PASSPHRASE=third passphrase"}, "passwd", "--recovery-key"); r.code == 0 || !strings.Contains(r.stderr, "recovery key") {
		t.Fatalf("wrong recovery key: %+v", r)
	}
	sameTree(t, before, readTree(t, home))
	if r := cairn(t, home, []string{"CAIRN_RECOVERY_KEY=" + recovery, "CAIRN_NEW_PASSPHRASE=third passphrase"}, "passwd", "--recovery-key"); r.code != 0 {
		t.Fatalf("recovery: %+v", r)
	}
	if r := cairn(t, home, []string{"CAIRN_PASSPHRASE=third passphrase"}, "memory", "show", id); r.code != 0 {
		t.Fatalf("after recovery: %+v", r)
	}
}

func TestWrongPassphraseLeavesVaultUntouched(t *testing.T) {
	home := newHome(t)
	cairn(t, home, withPass, "memory", "add", "a private note")
	before := readTree(t, home)
	for _, args := range [][]string{{"memory", "list"}, {"memory", "add", "should not be stored"}, {"memory", "search", "private"}} {
		r := cairn(t, home, []string{"CAIRN_PASSPHRASE=not the right one"}, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "wrong passphrase") {
			t.Fatalf("%v with a wrong passphrase: %+v", args, r)
		}
	}
	sameTree(t, before, readTree(t, home))
	// A passphrase file works the same way as the variable.
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte(testPassphrase+"\n"), 0o600)
	if r := cairn(t, home, nil, "--passphrase-file", pf, "memory", "list"); r.code != 0 || !strings.Contains(r.stdout, "a private note") {
		t.Fatalf("passphrase file: %+v", r)
	}
	// No passphrase and no terminal: a clear message, not a hang.
	if r := cairn(t, home, nil, "memory", "list"); r.code == 0 || !strings.Contains(r.stderr, "CAIRN_PASSPHRASE") {
		t.Fatalf("no passphrase: %+v", r)
	}
}

func TestMemoryCommands(t *testing.T) {
	home := newHome(t)
	add := cairn(t, home, withPass, "memory", "add", "I am learning to play the cello", "--kind", "note", "--tag", "music", "--tag", "Hobby")
	if add.code != 0 {
		t.Fatalf("add: %+v", add)
	}
	id := strings.TrimSpace(add.stdout)
	if len(id) != 36 {
		t.Fatalf("add should print only the new id, got %q", add.stdout)
	}
	if r := cairnStdin(t, home, withPass, "My favourite composer is Bach\n", "memory", "add", "-"); r.code != 0 {
		t.Fatalf("add from stdin: %+v", r)
	}

	search := cairn(t, home, withPass, "memory", "search", "playing cellos", "--json")
	lines := strings.Split(strings.TrimSpace(search.stdout), "\n")
	if search.code != 0 || len(lines) != 1 {
		t.Fatalf("search: %+v", search)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "kind", "text", "tags", "score", "created_at", "updated_at"} {
		if _, ok := got[k]; !ok {
			t.Errorf("--json result lacks %q: %s", k, lines[0])
		}
	}
	if got["id"] != id || got["kind"] != "note" || got["score"].(float64) <= 0 {
		t.Fatalf("search result: %v", got)
	}
	if tags := got["tags"].([]any); len(tags) != 2 || tags[1] != "hobby" {
		t.Fatalf("tags: %v", tags)
	}

	list := cairn(t, home, withPass, "memory", "list", "--json")
	if n := strings.Count(strings.TrimSpace(list.stdout), "\n") + 1; list.code != 0 || n != 2 {
		t.Fatalf("list --json: %d lines, %+v", n, list)
	}
	if r := cairn(t, home, withPass, "memory", "edit", id, "I play the cello in an orchestra"); r.code != 0 {
		t.Fatalf("edit: %+v", r)
	}
	show := cairn(t, home, withPass, "memory", "show", id)
	if !strings.Contains(show.stdout, "orchestra") || !strings.Contains(show.stdout, "earlier") || !strings.Contains(show.stdout, "learning to play") {
		t.Fatalf("show should give the text and the earlier version: %s", show.stdout)
	}
	if r := cairn(t, home, withPass, "memory", "search", "learning"); strings.Contains(r.stdout, id) {
		t.Fatalf("search still finds the old text after edit: %s", r.stdout)
	}
	if r := cairn(t, home, withPass, "memory", "forget", id); r.code != 0 {
		t.Fatalf("forget: %+v", r)
	}
	if r := cairn(t, home, withPass, "memory", "show", id); r.code == 0 || !strings.Contains(r.stderr, "no memory with that id") {
		t.Fatalf("show after forget: %+v", r)
	}
	if r := cairn(t, home, withPass, "memory", "search", "orchestra"); strings.Contains(r.stdout, id) {
		t.Fatal("search finds a forgotten memory")
	}
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	home := newHome(t)
	cairn(t, home, withPass, "memory", "add", "already here")
	before := cairn(t, home, withPass, "memory", "list", "--json").stdout
	big := strings.Repeat("x", 70<<10)
	cases := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"memory", "add", ""}, "text is empty", 1},
		{[]string{"memory", "add", big}, "limit", 1},
		{[]string{"memory", "add", "ok \xc3\x28"}, "UTF-8", 1},
		{[]string{"memory", "add", "fine", "--kind", "gossip"}, "unknown kind", 1},
		{[]string{"memory", "show", "0190aaaa-0000-7000-8000-00000000dead"}, "no memory with that id", 1},
		{[]string{"memory", "forget", "nope"}, "no memory with that id", 1},
		{[]string{"memory", "add"}, "expects", 2},
		{[]string{"memory", "search", "x", "--limit", "many"}, "invalid argument", 2},
	}
	for _, c := range cases {
		r := cairn(t, home, withPass, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args[:min(3, len(c.args))], r.code, r.stderr, c.code, c.want)
		}
	}
	// Ten megabytes through standard input: refused, and nothing stored.
	if r := cairnStdin(t, home, withPass, strings.Repeat("y", 10<<20), "memory", "add", "-"); r.code != 1 || !strings.Contains(r.stderr, "limit") {
		t.Errorf("10 MB on stdin: %+v", r.code)
	}
	if after := cairn(t, home, withPass, "memory", "list", "--json").stdout; after != before {
		t.Fatalf("refused input changed what is stored:\n%s\nvs\n%s", before, after)
	}
}

// A long-running process (the desktop app, later `cairn serve`) finds what a
// `cairn memory add` in another process stored, by keyword and by vector,
// without a restart.
func TestRunningProcessSeesCLIAdds(t *testing.T) {
	ctx := context.Background()
	home := newHome(t)
	running, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath(), Embedder: memtest.NewEmbedder(64)})
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	if err := running.Unlock(ctx, []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	r := cairn(t, home, withPass, "memory", "add", "The spare house key is under the blue flowerpot")
	id := strings.TrimSpace(r.stdout)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, mode := range []memory.Mode{memory.Keyword, memory.Vector} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			res, err := running.Search(ctx, memory.Query{Text: "spare key flowerpot", Mode: mode})
			if err == nil && len(res) > 0 && res[0].ID == id {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s search in the running process never found the CLI's memory: %+v %v", mode, res, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// The app and several CLI commands write at once: no "database is locked"
// reaches anyone, and every acknowledged add is there.
func TestConcurrentProcessesShareTheVault(t *testing.T) {
	ctx := context.Background()
	home := newHome(t)
	app, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Unlock(ctx, []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	var failures []string
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 3 {
				r := cairn(t, home, withPass, "memory", "add", "cli memory "+string(rune('a'+i))+string(rune('a'+j)))
				mu.Lock()
				if r.code != 0 {
					failures = append(failures, r.stderr)
				} else {
					ids = append(ids, strings.TrimSpace(r.stdout))
				}
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for n := 0; ; n++ {
		select {
		case <-done:
			if len(failures) > 0 {
				t.Fatalf("CLI adds failed while the app wrote: %v", failures)
			}
			for _, id := range ids {
				if _, err := app.Get(ctx, id); err != nil {
					t.Fatalf("acknowledged add %s missing: %v", id, err)
				}
			}
			if len(ids) != 18 {
				t.Fatalf("%d acknowledged adds, want 18", len(ids))
			}
			return
		default:
			if _, err := app.Add(ctx, memory.NewItem{Text: "app memory"}); err != nil {
				t.Fatalf("app add while CLIs wrote: %v", err)
			}
			if _, err := app.Search(ctx, memory.Query{Text: "memory"}); err != nil {
				t.Fatalf("app search while CLIs wrote: %v", err)
			}
		}
	}
}

func TestDoctor(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	down := []string{"OLLAMA_HOST=127.0.0.1:1"}
	r := cairn(t, empty, down, "doctor")
	if r.code == 0 || !strings.Contains(r.stdout, "cairn init") || !strings.Contains(r.stdout, "ollama serve") {
		t.Fatalf("doctor without vault or Ollama should fail with fixes: %+v", r)
	}
	ollama := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/version" {
			w.Write([]byte(`{"version":"0.11.4"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer ollama.Close()
	home := newHome(t)
	r = cairn(t, home, append(withPass, "OLLAMA_HOST="+ollama.Listener.Addr().String()), "doctor")
	if !strings.Contains(r.stdout, "Ollama 0.11.4") || !strings.Contains(r.stdout, "all intact") {
		t.Fatalf("doctor with vault and Ollama: %+v", r)
	}
	if r.code != 0 && !strings.Contains(r.stdout, "fail  desktop") {
		t.Fatalf("doctor failed for another reason than the desktop libraries: %+v", r)
	}
}

// Plain `cairn` without a window serves the UI: see desktop_test.go.
func TestVersion(t *testing.T) {
	if r := cairn(t, t.TempDir(), nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "cairn ") {
		t.Fatalf("version: %+v", r)
	}
}
