package wintest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds the wait for serve to answer: Wine starting a
// process on a loaded machine takes seconds, never minutes.
const startTimeout = 2 * time.Minute

// serveWin starts cairn-headless.exe serve under Wine on a free loopback
// port and returns its URL once it answers.
func serveWin(t *testing.T, b binaries, home string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(b.wine, b.headlessExe, "--home", winPath(home), "serve", "--addr", addr)
	cmd.Env = env()
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return url, cmd, &errb
		}
		select {
		case err := <-exited:
			t.Fatalf("serve under Wine exited (%v) before answering: %s", err, errb.String())
		case <-ctx.Done():
			t.Fatalf("serve under Wine did not answer on %s within %s: %s", addr, startTimeout, errb.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// serve under Wine answers the README's curl examples from Linux over
// loopback; killed with SIGKILL, it leaves the home to a new serve, with
// what it stored.
func TestServeUnderWineAnswersTheREADMEExamples(t *testing.T) {
	b := need(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed: `make test-windows` installs it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, found := strings.Cut(string(readme), "<!-- api-examples -->\n```sh\n")
	if !found {
		t.Fatal("README has no api-examples block")
	}
	block, _, _ = strings.Cut(block, "```")

	home := t.TempDir()
	ok(t, "init", b.win(t, home, "init"))
	url, cmd, _ := serveWin(t, b, home)
	tok, err := os.ReadFile(filepath.Join(home, "api-token"))
	if err != nil {
		t.Fatalf("serve wrote no api-token: %v", err)
	}
	ran := 0
	for _, line := range strings.Split(block, "\n") {
		if !strings.HasPrefix(line, "curl ") || strings.Contains(line, " -sfN ") {
			continue // streams (events) run forever
		}
		line = strings.ReplaceAll(line, "http://127.0.0.1:7420", url)
		c := exec.Command("sh", "-c", line)
		c.Env = append(os.Environ(), "TOKEN="+strings.TrimSpace(string(tok)))
		out, err := c.CombinedOutput()
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "{") {
			t.Errorf("%s\n-> %v: %s", line, err, out)
		}
		ran++
	}
	if ran < 4 {
		t.Fatalf("ran %d examples", ran)
	}

	// While it serves, a second serve is refused (the owner lock).
	if r := b.win(t, home, "serve", "--addr", "127.0.0.1:1"); r.code == 0 || !strings.Contains(r.stderr, "already serves this home") {
		t.Fatalf("a second serve on the same home: exit %d, %q", r.code, r.stderr)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown code runs
		t.Fatal(err)
	}
	url2, _, _ := serveWin(t, b, home)
	req, _ := http.NewRequest("GET", url2+"/api/v1/memories?q=window+seats&limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), "window seats") {
		t.Fatalf("after kill -9 and a new serve, the example's memory: %d %s", resp.StatusCode, body.String())
	}
}

// The desktop exe cannot open a WebView2 window under Wine: it says so and
// exits non-zero, within runTimeout (a hang fails the test).
func TestDesktopExeSaysWebView2IsMissing(t *testing.T) {
	b := need(t)
	home := t.TempDir()
	r := run(t, b.wine, []string{b.desktopExe, "--home", winPath(home)})
	if r.code == 0 || !strings.Contains(r.stderr, "WebView2 runtime, which is not installed") {
		t.Fatalf("desktop exe without WebView2: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
}
