package cli

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/owner"
)

// browserFor signs a cookie-keeping client in with the login link that
// `cairn serve --ui` printed.
func browserFor(t *testing.T, url string, errb *syncBuffer) *http.Client {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "/login?code=") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, rest, ok := strings.Cut(errb.String(), url+"/login?code=")
	if !ok {
		t.Fatalf("no login link for %s in %q", url, errb.String())
	}
	return signIn(t, url+"/login?code="+strings.Fields(rest)[0])
}

func call(t *testing.T, c *http.Client, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// `cairn serve --ui` in an empty home starts, lets the page create the
// vault, and then keeps the page's settings in settings.json.
func TestServeUIFirstRunAndSettings(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	// Short replies: the tiny model's random weights seldom end one.
	if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{MaxReplyTokens: 16}); err != nil {
		t.Fatal(err)
	}
	url, _, errb := startServe(t, home, []string{"OLLAMA_HOST=" + ollama.Host}, "--ui")
	// The owner file can be written before the line is printed.
	eventually(t, "serve says the vault is still to be made", func() bool { return strings.Contains(errb.String(), "not created yet") })
	b := browserFor(t, url, errb)
	if code, out := call(t, b, "GET", url+"/api/v1/app", ""); code != 200 || out["vault"] != "none" {
		t.Fatalf("app: %d %v", code, out)
	}
	code, out := call(t, b, "POST", url+"/api/v1/vault", `{"passphrase":"`+testPassphrase+`"}`)
	if code != 201 || out["recovery_key"] == "" {
		t.Fatalf("create: %d %v", code, out)
	}
	if !(owner.Home{Dir: home}).HasVault() {
		t.Fatal("no vault file after creation")
	}
	// The vault opens with that passphrase from the command line too.
	// (It is owned by the server, so the CLI goes through it.)
	if r := cairn(t, home, withPass, "memory", "add", "I grow tomatoes"); r.code != 0 {
		t.Fatalf("memory add through the owner: %s", r.stderr)
	}

	code, out = call(t, b, "PATCH", url+"/api/v1/settings", `{"model":"`+ollamatest.Tiny+`","embedding_model":"`+ollamatest.Tiny+`","extraction":false,"idle_lock_minutes":5}`)
	if code != 200 || out["model"] != ollamatest.Tiny || out["idle_lock_minutes"] != float64(5) {
		t.Fatalf("patch settings: %d %v", code, out)
	}
	s, err := owner.Home{Dir: home}.LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Model != ollamatest.Tiny || s.EmbeddingModel != ollamatest.Tiny || s.ExtractionOn() || s.IdleLock() != 5 || s.MaxReplyTokens != 16 {
		t.Fatalf("settings.json after the patch: %+v", s)
	}
	if code, out := call(t, b, "PATCH", url+"/api/v1/settings", `{"idle_lock_minutes":-1}`); code != 400 {
		t.Fatalf("a negative idle lock was accepted: %d %v", code, out)
	}
	if code, out := call(t, b, "GET", url+"/api/v1/app", ""); out["idle_lock_minutes"] != float64(5) || out["vault"] != "unlocked" {
		t.Fatalf("app after the patch: %d %v", code, out)
	}

	// A reply loads the model; ps then lists it, on the GPU or the CPU.
	if code, out := call(t, b, "POST", url+"/api/v1/chat", `{"text":"Hello","model":"`+ollamatest.Tiny+`"}`); code != 200 {
		t.Fatalf("chat: %d %v", code, out)
	}
	code, out = call(t, b, "GET", url+"/api/v1/models/running", "")
	models, _ := out["models"].([]any)
	if code != 200 || len(models) == 0 {
		t.Fatalf("running: %d %v", code, out)
	}
	m := models[0].(map[string]any)
	if !strings.HasPrefix(m["name"].(string), ollamatest.Tiny) || (m["size_vram"] == float64(0)) != (m["processor"] == "CPU") {
		t.Fatalf("running model: %v", m)
	}
}

// signIn follows a one-time login link as a page does: it keeps the session
// cookie and sends the page secret from the redirect's fragment as the
// session header on every later request.
func signIn(t *testing.T, link string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("login link %s: %d, no redirect (%v)", link, resp.StatusCode, err)
	}
	_, secret, ok := strings.Cut(loc.Fragment, "cairn-session=")
	if !ok {
		t.Fatalf("login redirect %s carries no page secret", loc)
	}
	c.CheckRedirect = nil
	c.Transport = sessionHeader{secret: secret}
	return c
}

type sessionHeader struct{ secret string }

func (s sessionHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Cairn-Session", s.secret)
	return http.DefaultTransport.RoundTrip(r)
}
