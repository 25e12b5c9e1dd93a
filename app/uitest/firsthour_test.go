package uitest

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
)

// TestFirstHour runs frontend/e2e/firsthour.mjs: a first run while Ollama
// is not running yet (cairn looks for it on a loopback port the script
// later forwards to the real Ollama), then chat, reply cap, the served
// address, an empty search and a pull with no registry. Screenshots, light
// and dark, land in frontend/test-results/firsthour.
func TestFirstHour(t *testing.T) {
	root := repoRoot(t)
	readInputs(t, root)
	if testing.Short() {
		t.Skip("the browser test takes a minute or more; it runs without -short")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	// No extraction: the tiny model's random JSON is slow to generate.
	settings, _ := json.Marshal(map[string]any{"extraction": false})
	if err := os.WriteFile(filepath.Join(home, "settings.json"), settings, 0o600); err != nil {
		t.Fatal(err)
	}
	port := closedPort(t)
	bin := buildCairn(t, ctx, root)
	srv := startUI(t, ctx, bin, home, []string{"OLLAMA_HOST=127.0.0.1:" + strconv.Itoa(port)})

	shots := filepath.Join(root, "frontend/test-results/firsthour")
	os.RemoveAll(shots)
	node := exec.CommandContext(ctx, "node", "e2e/firsthour.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_LOGIN_URL="+srv.login, "CAIRN_SHOTS="+shots, "CHROMIUM="+browser,
		"CAIRN_MODEL="+ollamatest.Tiny+":latest", "CAIRN_OLLAMA_PORT="+strconv.Itoa(port), "CAIRN_OLLAMA_REAL="+ollama.Host)
	out, err := node.CombinedOutput()
	t.Logf("firsthour output:\n%s", out)
	if err != nil || !strings.Contains(string(out), "firsthour: OK") {
		t.Fatalf("the first-hour browser test failed (%v); screenshots in %s; server log:\n%s", err, shots, srv.log.String())
	}
}

// closedPort is a loopback port nobody listens on (yet).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
