package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/cairnlabs/cairn/app/internal/apptest"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// startKeyring starts a private D-Bus session bus with a real GNOME
// Keyring on it, its login keyring unlocked with a password given on
// stdin (as a desktop session's PAM module does), and points this process
// and its children at it. It returns the environment to add to children.
func startKeyring(t *testing.T) []string {
	t.Helper()
	for _, bin := range []string{"dbus-daemon", "gnome-keyring-daemon", "secret-tool"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: `make test` installs it (APT_TEST_PACKAGES)", bin)
			}
			t.Skipf("%s is missing: apt-get install dbus gnome-keyring libsecret-tools (make test does)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "cairn-keyring-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o700)
	addr := apptest.StartBus(t, run)
	env := []string{"DBUS_SESSION_BUS_ADDRESS=" + addr, "XDG_RUNTIME_DIR=" + run, "HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data")}
	gk := exec.Command("gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground")
	gk.Env = append(os.Environ(), env...)
	gk.Stdin = strings.NewReader("login keyring password")
	var gkOut syncBuffer
	gk.Stdout, gk.Stderr = &gkOut, &gkOut
	if err := gk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gk.Process.Kill(); gk.Wait() })
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	// Ready when the keyring owns the Secret Service's name and answers.
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var has bool
		conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
		if has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnome-keyring did not take the Secret Service name:\n%s", gkOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if err := (owner.OSKeyring{}).Available(context.Background()); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("gnome-keyring did not come up: %v\n%s", err, gkOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return env
}

// secretTool looks the vault's device key up as any Secret Service client
// would, to prove it is in the OS keyring itself.
func secretTool(t *testing.T, vaultID string) string {
	t.Helper()
	out, _ := exec.Command("secret-tool", "lookup", "service", owner.KeyringService, "username", "vault "+vaultID).Output()
	return strings.TrimSpace(string(out))
}

func apiCall(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The person ticks "keep the key in the OS keyring" when creating the
// vault: the key goes into GNOME Keyring, the vault then opens at start
// without the passphrase, and removing it leaves only the passphrase.
func TestKeyringKeepsTheVaultKey(t *testing.T) {
	env := startKeyring(t)
	home := filepath.Join(t.TempDir(), "home")
	url, _, errb := startServe(t, home, env, "--ui")
	tok := strings.TrimSpace(cairn(t, home, nil, "token").stdout)

	code, created := apiCall(t, "POST", url+"/api/v1/vault", tok, map[string]any{"passphrase": testPassphrase, "keyring": true})
	if code != http.StatusCreated || created["keyring"] != true {
		t.Fatalf("create the vault with the keyring: %d %v\n%s", code, created, errb.String())
	}
	code, st := apiCall(t, "GET", url+"/api/v1/keyring", tok, nil)
	if code != http.StatusOK || st["available"] != true || st["stored"] != true {
		t.Fatalf("GET /api/v1/keyring: %d %v", code, st)
	}
	code, status := apiCall(t, "GET", url+"/api/v1/status", tok, nil)
	vaultID, _ := status["vault_id"].(string)
	if code != http.StatusOK || vaultID == "" {
		t.Fatalf("status: %d %v", code, status)
	}
	if secretTool(t, vaultID) == "" {
		t.Fatal("secret-tool finds no Cairn key in GNOME Keyring")
	}

	// At start: the key from the keyring opens the vault (the desktop app
	// does this before showing the window).
	ctx := context.Background()
	c := &owner.Env{Stderr: io.Discard, HomeDir: home}
	v, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !c.UnlockFromKeyring(ctx, v) || v.Locked() {
		t.Fatal("the vault did not open with the key from the keyring")
	}
	v.Lock()

	// Removing it: gone from GNOME Keyring, and the vault no longer opens
	// without the passphrase.
	code, st = apiCall(t, "DELETE", url+"/api/v1/keyring", tok, nil)
	if code != http.StatusOK || st["stored"] != false {
		t.Fatalf("DELETE /api/v1/keyring: %d %v", code, st)
	}
	if got := secretTool(t, vaultID); got != "" {
		t.Fatal("the key is still in GNOME Keyring after removing it")
	}
	if c.UnlockFromKeyring(ctx, v) || !v.Locked() {
		t.Fatal("the vault opened without the passphrase after the key was removed")
	}

	// Keeping it again later takes the passphrase; a wrong one stores nothing.
	if code, out := apiCall(t, "PUT", url+"/api/v1/keyring", tok, map[string]any{"passphrase": "not the passphrase"}); code < 400 {
		t.Fatalf("PUT /api/v1/keyring with a wrong passphrase: %d %v", code, out)
	}
	if secretTool(t, vaultID) != "" {
		t.Fatal("a wrong passphrase put a key in the keyring")
	}
	if code, out := apiCall(t, "PUT", url+"/api/v1/keyring", tok, map[string]any{"passphrase": testPassphrase}); code != http.StatusOK || out["stored"] != true {
		t.Fatalf("PUT /api/v1/keyring: %d %v", code, out)
	}
	if !c.UnlockFromKeyring(ctx, v) {
		t.Fatal("the vault did not open with the key kept again")
	}
}
