package uitest

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrossPortCookieIsUseless is the probe of issue 16: sign in with the
// login link in a real Chromium, then visit an unrelated local server on
// another port. Chromium sends it the session cookie (cookies do not
// separate ports); replayed, the cookie reads no memory and no token.
func TestCrossPortCookieIsUseless(t *testing.T) {
	root := repoRoot(t)
	if testing.Short() {
		t.Skip("builds cairn and runs Chromium")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := buildCairn(t, ctx, root)
	srv := startUI(t, ctx, bin, home, nil)

	// The other local server keeps every Cookie header it is sent.
	var mu sync.Mutex
	var cookies []string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		mu.Unlock()
		w.Write([]byte("<html><body>another local app</body></html>"))
	})}
	go other.Serve(ln)
	t.Cleanup(func() { other.Close() })

	node := exec.CommandContext(ctx, "node", "e2e/crossport.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_LOGIN_URL="+srv.login, "OTHER_URL=http://127.0.0.1:"+strings.Split(ln.Addr().String(), ":")[1]+"/", "CHROMIUM="+browser)
	out, err := node.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "crossport: OK") {
		t.Fatalf("the browser script failed (%v):\n%s\nserver log:\n%s", err, out, srv.log.String())
	}
	mu.Lock()
	captured := strings.Join(cookies, "; ")
	mu.Unlock()
	if !strings.Contains(captured, "cairn_session=") {
		t.Fatalf("Chromium did not send the session cookie to the other port (%q): the probe proves nothing", captured)
	}
	for _, path := range []string{"/api/v1/memories", "/api/v1/token", "/api/v1/status"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.url+path, nil)
		req.Header.Set("Cookie", captured)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with the cookie another server captured: %d, want 401", path, resp.StatusCode)
		}
	}
}
