package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Plain `cairn` on a machine with no display (a server, an SSH session)
// serves the UI for a browser and says how to sign in, instead of failing.
func TestPlainCairnWithoutDisplayServesTheUI(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "WAYLAND_DISPLAY=") && !strings.HasPrefix(kv, "SSH_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(os.Args[0], "--home", home)
	cmd.Env = append(env, execMainEnv+"=1", "CAIRN_ADDR=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-done
		}
	})

	// Read what it says until the login link.
	var said strings.Builder
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var login string
	timeout := time.After(60 * time.Second)
	for login == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("plain cairn without a display exited: %v\n%s", <-done, said.String())
			}
			said.WriteString(l + "\n")
			if s := strings.TrimSpace(l); strings.HasPrefix(s, "http://127.0.0.1:") && strings.Contains(s, "/login") {
				login = s
			}
		case <-timeout:
			t.Fatalf("no login link within a minute; it said:\n%s", said.String())
		}
	}
	if !strings.Contains(said.String(), "there is no display") {
		t.Errorf("it does not say why no window opened:\n%s", said.String())
	}
	// Keep reading, so the process never blocks on a full pipe.
	go func() {
		for range lines {
		}
	}()

	// The link signs a browser in: the API answers it, on the first run.
	browser := signIn(t, login)
	base := login[:strings.Index(login, "/login")]
	resp, err := browser.Get(base + "/api/v1/app")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var app struct {
		Vault string `json:"vault"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &app) != nil || app.Vault != "none" {
		t.Fatalf("GET /api/v1/app after signing in with the link: %d %s; want 200 and vault \"none\"", resp.StatusCode, body)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("plain cairn did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("plain cairn did not stop on SIGTERM")
	}
}
