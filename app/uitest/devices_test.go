package uitest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// TestBrowserOtherDevicesModels runs frontend/e2e/devices.mjs against two
// real `cairn serve --ui`, paired on loopback: desk shares its models and
// has the real Ollama; the laptop has none. In the laptop's UI the switcher
// shows desk's models under its name and online, a chat through desk is
// kept, Settings has the sharing toggle, and once desk stops its models read
// offline and a chat says so. Screenshots land in frontend/test-results/devices.
func TestBrowserOtherDevicesModels(t *testing.T) {
	root := repoRoot(t)
	readInputs(t, root)
	if testing.Short() {
		t.Skip("the browser test takes a minute or more; it runs without -short")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pass := "correct horse battery staple"
	desk := deviceHome(t, ctx, "desk", pass, map[string]any{"extraction": false, "embedding_model": "off", "share_models": true})
	laptop := deviceHome(t, ctx, "laptop", pass, map[string]any{"extraction": false, "embedding_model": "off", "max_reply_tokens": 32})
	bin := buildCairn(t, ctx, root)
	env := []string{"CAIRN_PASSPHRASE=" + pass}
	p2p := []string{"--p2p-listen", "/ip4/127.0.0.1/tcp/0"}
	deskSrv := startUIArgs(t, ctx, bin, desk, env, append(p2p, "--device-name", "desk")...)
	laptopSrv := startUIArgs(t, ctx, bin, laptop, append(env, "OLLAMA_HOST=127.0.0.1:1"), append(p2p, "--device-name", "laptop")...)
	code := cairnCmd(t, ctx, bin, desk, "sync", "pair")
	cairnCmd(t, ctx, bin, laptop, "sync", "join", strings.TrimSpace(code))

	shots := filepath.Join(root, "frontend/test-results/devices")
	os.RemoveAll(shots)
	node := exec.CommandContext(ctx, "node", "e2e/devices.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_LOGIN_URL="+laptopSrv.login, "CAIRN_DESK_PID="+strconv.Itoa(deskSrv.pid),
		"CAIRN_PASSPHRASE="+pass, "CAIRN_SHOTS="+shots, "CHROMIUM="+browser)
	out, err := node.CombinedOutput()
	t.Logf("e2e devices output:\n%s", out)
	if err != nil || !strings.Contains(string(out), "e2e devices: OK") {
		t.Fatalf("the browser test of other devices' models failed (%v); screenshots in %s; laptop's log:\n%s\ndesk's log:\n%s", err, shots, laptopSrv.log.String(), deskSrv.log.String())
	}
	var s struct {
		ShareModels bool `json:"share_models"`
	}
	if b, err := os.ReadFile(filepath.Join(laptop, "settings.json")); err != nil || json.Unmarshal(b, &s) != nil || !s.ShareModels {
		t.Fatalf("the Settings toggle did not turn sharing on in the laptop's settings.json: %s %v", b, err)
	}
}

// deviceHome makes a home with a vault and settings.
func deviceHome(t *testing.T, ctx context.Context, name, pass string, settings map[string]any) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), name)
	v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(home, "vault.db"), KDF: memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}}, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	b, _ := json.Marshal(settings)
	if err := os.WriteFile(filepath.Join(home, "settings.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// cairnCmd runs the cairn binary on home and returns its output.
func cairnCmd(t *testing.T, ctx context.Context, bin, home string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--home", home}, args...)...)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cairn %v: %v: %s", args, err, out)
	}
	return string(out)
}
