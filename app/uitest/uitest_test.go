package uitest

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/internal/apptest"
)

var ollama *ollamatest.Server

func TestMain(m *testing.M) { os.Exit(ollamatest.Main(m, &ollama)) }

// repoRoot is the module's folder (this package is app/uitest).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// lockedBuffer collects a process's output safely across goroutines.
type lockedBuffer = apptest.LockedBuffer

func chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatal("no Chromium: install Debian's chromium (`make deps-apt-test` does), or set CHROMIUM to its path")
	return ""
}

// TestBrowserEndToEnd: create a vault, stream, stop, regenerate and switch
// branches, rate, add/edit/forget a memory, lock and unlock, all through
// the page in Chromium. Screenshots land in frontend/test-results/e2e.
func TestBrowserEndToEnd(t *testing.T) {
	root := repoRoot(t)
	readInputs(t, root)
	if testing.Short() {
		t.Skip("the browser test takes a minute or more; it runs without -short")
	}
	browser := chromium(t)
	if _, err := os.Stat(filepath.Join(root, "frontend/node_modules/playwright-core")); err != nil {
		t.Fatal("frontend/node_modules has no playwright-core: run `make frontend` (npm ci) first")
	}
	if _, err := os.Stat(filepath.Join(root, "frontend/dist/index.html")); err != nil {
		t.Fatal("frontend/dist is not built: run `make frontend` first")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// An empty home, with settings that suit the tiny model: no extraction
	// (its random JSON is slow to generate) and replies long enough to be
	// stopped part way.
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(map[string]any{"extraction": false, "max_reply_tokens": 200})
	if err := os.WriteFile(filepath.Join(home, "settings.json"), settings, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildCairn(t, ctx, root)
	srv := startUI(t, ctx, bin, home, nil)

	shots := filepath.Join(root, "frontend/test-results/e2e")
	os.RemoveAll(shots)
	node := exec.CommandContext(ctx, "node", "e2e/e2e.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_LOGIN_URL="+srv.login, "CAIRN_SHOTS="+shots, "CHROMIUM="+browser, "CAIRN_MODEL="+ollamatest.Tiny+":latest")
	out, err := node.CombinedOutput()
	t.Logf("e2e output:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed (%v); screenshots in %s; server log:\n%s", err, shots, srv.log.String())
	}
	if !strings.Contains(string(out), "e2e: OK") {
		t.Fatal("the browser script ended without OK")
	}
	pngs, _ := filepath.Glob(filepath.Join(shots, "*.png"))
	if len(pngs) < 10 {
		t.Fatalf("only %d screenshots in %s", len(pngs), shots)
	}

	// Sync starts with a vault that exists when the server starts, so the
	// Sync page's pairing is tried on a restarted server over the same
	// home (libp2p on loopback only).
	// A real gym on loopback HTTP takes what the Gyms page approves.
	srv.stop()
	gymURL, gymLog := startGym(t, ctx, bin, filepath.Join(t.TempDir(), "gym"))
	srv2 := startUIArgs(t, ctx, bin, home, []string{"CAIRN_PASSPHRASE=correct horse battery staple"}, "--p2p-listen", "/ip4/127.0.0.1/tcp/0")
	node = exec.CommandContext(ctx, "node", "e2e/pages.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_LOGIN_URL="+srv2.login, "CAIRN_GYM_URL="+gymURL, "CAIRN_SHOTS="+shots, "CHROMIUM="+browser)
	out, err = node.CombinedOutput()
	t.Logf("e2e pages output:\n%s", out)
	if err != nil || !strings.Contains(string(out), "e2e pages: OK") {
		t.Fatalf("the browser test of the Sync and Gyms pages failed (%v); screenshots in %s; server log:\n%s\ngym log:\n%s", err, shots, srv2.log.String(), gymLog.String())
	}
}

// startGym runs `cairn gym serve` over dir on loopback HTTP (no libp2p),
// with more arguments if given, until the test ends and returns its URL
// and log.
func startGym(t testing.TB, ctx context.Context, bin, dir string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"gym", "serve", "--dir", dir, "--name", "Test gym", "--license", "CC-BY-4.0", "--http", "127.0.0.1:0", "--p2p="}, args...)...)
	cmd.Env = cleanEnv()
	errb := &lockedBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		for _, line := range strings.Split(errb.String(), "\n") {
			if u, ok := strings.CutPrefix(line, "HTTP: "); ok && strings.Contains(errb.String(), "serving") {
				return strings.TrimSpace(u), errb
			}
		}
		select {
		case <-done:
			t.Fatalf("cairn gym serve exited: %s", errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("cairn gym serve printed no HTTP address: %s", errb.String())
	return "", nil
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") && !strings.HasPrefix(kv, "OLLAMA_") {
			out = append(out, kv)
		}
	}
	return out
}

// buildCairn builds the headless cairn binary (the web UI embedded) into a
// temp folder.
func buildCairn(t testing.TB, ctx context.Context, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cairn")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "sqlite_fts5", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type uiServer struct {
	url, login string
	pid        int
	log        *lockedBuffer
	// stop ends the server now (it also ends when the test does).
	stop func()
}

// startUI runs `cairn serve --ui` on a free port until the test ends and
// returns its URL and one-time login link.
func startUI(t testing.TB, ctx context.Context, bin, home string, env []string) uiServer {
	t.Helper()
	return startUIArgs(t, ctx, bin, home, env)
}

// startUIArgs is startUI with more arguments for `cairn serve`.
func startUIArgs(t testing.TB, ctx context.Context, bin, home string, env []string, args ...string) uiServer {
	t.Helper()
	serve := exec.Command(bin, append([]string{"--home", home, "serve", "--ui", "--addr", "127.0.0.1:0"}, args...)...)
	serve.Env = append(append(cleanEnv(), "OLLAMA_HOST="+ollama.Host), env...)
	errb := &lockedBuffer{}
	serve.Stderr = errb
	done, stop := apptest.Start(t, serve)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		for _, f := range strings.Fields(errb.String()) {
			if u, _, ok := strings.Cut(f, "/login?code="); ok {
				return uiServer{url: u, login: f, pid: serve.Process.Pid, log: errb, stop: stop}
			}
		}
		select {
		case <-done:
			t.Fatalf("cairn serve --ui exited: %s", errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("cairn serve --ui printed no login link: %s", errb.String())
	return uiServer{}
}

// readInputs reads what the browser test runs (the script, the built UI,
// the Go sources of the binary it builds), so that `go test`'s cache, which
// notes the files a test opens, reruns it when any of them changes.
func readInputs(t testing.TB, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", "frontend/node_modules", "frontend/test-results":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") || rel == "go.sum" || strings.HasPrefix(rel, "frontend/dist/") || strings.HasPrefix(rel, "frontend/e2e/") {
			_, err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
