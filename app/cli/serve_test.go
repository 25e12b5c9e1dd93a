package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/internal/apptest"
	"github.com/cairnlabs/cairn/app/owner"
)

// serveExited holds, for each process startServe started, a channel
// closed once it has exited and all it printed is read.
var serveExited gosync.Map

// startServe runs `cairn serve` on a free port and returns its URL once
// it has recorded itself as the home's owner.
func startServe(t *testing.T, home string, env []string, args ...string) (string, *exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--home", home, "serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(cleanEnv(), execMainEnv+"=1"), env...)
	var errb syncBuffer
	cmd.Stderr = &errb
	done, _ := apptest.Start(t, cmd)
	serveExited.Store(cmd, done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if o, err := (owner.Home{Dir: home}).RunningOwner(); err == nil && o.PID == cmd.Process.Pid {
			return o.URL, cmd, &errb
		}
		select {
		case <-done:
			t.Fatalf("cairn serve exited: %s", errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("cairn serve did not start: %s", errb.String())
	return "", nil, nil
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeOwnsTheHomeAndChecksTokens(t *testing.T) {
	home := newHome(t)
	url, cmd, _ := startServe(t, home, withOllama("127.0.0.1:1"))
	tok := strings.TrimSpace(cairn(t, home, nil, "token").stdout)
	if !strings.HasPrefix(tok, "cairn_") {
		t.Fatalf("token %q", tok)
	}
	if code, body := get(t, url+"/api/v1/status", tok); code != 200 || !strings.Contains(body, `"locked":false`) {
		t.Fatalf("status: %d %s", code, body)
	}
	if code, _ := get(t, url+"/api/v1/status", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	// A second server on the home names the first and fails.
	r := cairn(t, home, withPass, "serve", "--addr", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, url) || !strings.Contains(r.stderr, "pid") {
		t.Fatalf("second serve: code %d, %q", r.code, r.stderr)
	}
	// Named tokens: made, listed, revoked while the server runs.
	reader := strings.TrimSpace(cairn(t, home, nil, "token", "create", "editor", "--scope", api.ScopeMemoryRead).stdout)
	if code, _ := get(t, url+"/api/v1/memories", reader); code != 200 {
		t.Fatalf("named token: %d", code)
	}
	if r := cairn(t, home, nil, "token", "list"); !strings.Contains(r.stdout, "editor") || strings.Contains(r.stdout, reader) {
		t.Fatalf("token list: %q", r.stdout)
	}
	if r := cairn(t, home, nil, "token", "revoke", "editor"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if code, _ := get(t, url+"/api/v1/memories", reader); code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", code)
	}
	// Rotation: the old default token stops working at once.
	newTok := strings.TrimSpace(cairn(t, home, nil, "token", "--rotate").stdout)
	if code, _ := get(t, url+"/api/v1/status", tok); code != http.StatusUnauthorized {
		t.Fatalf("old token after rotate: %d", code)
	}
	if code, _ := get(t, url+"/api/v1/status", newTok); code != 200 {
		t.Fatalf("new token: %d", code)
	}
	// SIGTERM stops it and frees the home.
	cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(owner.Home{Dir: home}.OwnerPath()); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("owner.json left behind")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeWithoutPassphraseStartsLocked(t *testing.T) {
	home := newHome(t)
	url, _, _ := startServe(t, home, []string{"OLLAMA_HOST=127.0.0.1:1"})
	tok := strings.TrimSpace(cairn(t, home, nil, "token").stdout)
	if code, body := get(t, url+"/api/v1/memories", tok); code != http.StatusLocked {
		t.Fatalf("locked server: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", url+"/api/v1/unlock", strings.NewReader(`{"passphrase":"`+testPassphrase+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unlock: %d", resp.StatusCode)
	}
	code, body := get(t, url+"/api/v1/memories", tok)
	var list struct {
		Memories []json.RawMessage `json:"memories"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("after unlock: %d %s", code, body)
	}
}

func TestServeRefusesANonLoopbackAddress(t *testing.T) {
	home := newHome(t)
	r := cairn(t, home, withPass, "serve", "--addr", "0.0.0.0:0")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--listen-beyond-loopback") {
		t.Fatalf("code %d, %q", r.code, r.stderr)
	}
}

func TestCommandsGoThroughTheRunningOwner(t *testing.T) {
	home := newHome(t)
	url, _, _ := startServe(t, home, withOllama("127.0.0.1:1"))
	tok := strings.TrimSpace(cairn(t, home, nil, "token").stdout)
	req, _ := http.NewRequest("GET", url+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				events <- string(buf[:n])
			}
			if err != nil {
				close(events)
				return
			}
		}
	}()
	// No passphrase: the owner has the vault open.
	r := cairn(t, home, nil, "memory", "add", "Sails a blue dinghy")
	if r.code != 0 {
		t.Fatalf("add through the owner: %q", r.stderr)
	}
	it := struct{ ID string }{strings.TrimSpace(r.stdout)}
	deadline := time.After(10 * time.Second)
	seen := ""
	for !strings.Contains(seen, it.ID) {
		select {
		case s, ok := <-events:
			if !ok {
				t.Fatalf("events ended: %q", seen)
			}
			seen += s
		case <-deadline:
			t.Fatalf("the add %s did not show in the owner's events: %q", it.ID, seen)
		}
	}
	if r := cairn(t, home, nil, "memory", "search", "dinghy"); r.code != 0 || !strings.Contains(r.stdout, it.ID) {
		t.Fatalf("search through the owner: %q %q", r.stdout, r.stderr)
	}
	if r := cairn(t, home, nil, "memory", "show", "no-such-id"); r.code == 0 || !strings.Contains(r.stderr, "no memory") {
		t.Fatalf("show of a missing id through the owner: %q", r.stderr)
	}
}

// The README's curl examples run against a real `cairn serve`.
func TestREADMECurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed for this test: `make test` installs it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- api-examples -->\n```sh\n")
	if !ok {
		t.Fatal("README has no api-examples block")
	}
	block, _, _ = strings.Cut(block, "```")
	home := newHome(t)
	url, _, _ := startServe(t, home, withOllama("127.0.0.1:1"))
	tok := strings.TrimSpace(cairn(t, home, nil, "token").stdout)
	ran := 0
	for _, line := range strings.Split(block, "\n") {
		if !strings.HasPrefix(line, "curl ") || strings.Contains(line, " -sfN ") {
			continue // streams (events) run forever
		}
		line = strings.ReplaceAll(line, "http://127.0.0.1:7420", url)
		cmd := exec.Command("sh", "-c", line)
		cmd.Env = append(os.Environ(), "TOKEN="+tok)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "{") {
			t.Errorf("%s\n-> %v: %s", line, err, out)
		}
		ran++
	}
	if ran < 4 {
		t.Fatalf("ran %d examples", ran)
	}
	if r := cairn(t, home, nil, "memory", "search", "window seats"); !strings.Contains(r.stdout, "window seats") {
		t.Fatalf("the example's memory is not there: %q", r.stdout)
	}
}

func TestServeUIPrintsAOneTimeLoginLink(t *testing.T) {
	home := newHome(t)
	url, _, errb := startServe(t, home, withOllama("127.0.0.1:1"), "--ui")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "/login?code=") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, rest, ok := strings.Cut(errb.String(), url+"/login?code=")
	if !ok {
		t.Fatalf("no login link for %s in %q", url, errb.String())
	}
	link := url + "/login?code=" + strings.Fields(rest)[0]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("login link: %d", resp.StatusCode)
	}
	loc, _ := resp.Location()
	_, secret, _ := strings.Cut(loc.Fragment, "cairn-session=")
	req, _ := http.NewRequest("GET", url+"/api/v1/memories", nil)
	req.AddCookie(resp.Cookies()[0])
	req.Header.Set("X-Cairn-Session", secret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("API with the browser session (cookie and page secret): %v %v", err, resp)
	}
}
