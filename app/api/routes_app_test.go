package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// firstRunApp creates a real vault in dir; settings live in memory (the
// app package tests the real settings.json through `cairn serve --ui`).
type firstRunApp struct {
	dir string
	mu  sync.Mutex
	st  Settings
	v   *memory.Vault
}

func (a *firstRunApp) DataDir() string { return a.dir }
func (a *firstRunApp) Settings() (Settings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st, nil
}
func (a *firstRunApp) SaveSettings(_ context.Context, p SettingsPatch) (Settings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.IdleLockMinutes != nil {
		a.st.IdleLockMinutes = *p.IdleLockMinutes
	}
	return a.st, nil
}
func (a *firstRunApp) CreateVault(ctx context.Context, req VaultRequest) (VaultCreated, error) {
	v, rec, err := memory.Create(context.WithoutCancel(ctx), memory.Config{Path: filepath.Join(a.dir, "vault.db"), KDF: testKDF}, []byte(req.Passphrase))
	if err != nil {
		return VaultCreated{}, err
	}
	a.v = v
	return VaultCreated{RecoveryKey: rec, Runtime: Runtime{Vault: v}}, nil
}

// newFirstRunServer serves a first-run server (no vault yet) over a
// firstRunApp in a temporary home, which it returns.
func newFirstRunServer(t *testing.T) (*Server, *httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	toks, err := OpenTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	app := &firstRunApp{dir: dir, st: Settings{IdleLockMinutes: 15}}
	t.Cleanup(func() {
		if app.v != nil {
			app.v.Close()
		}
	})
	s := New(Config{Tokens: toks, App: app})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv, dir
}

// A first-run server offers only vault creation, then serves the full API
// to the same signed-in browser.
func TestFirstRunServerCreatesTheVault(t *testing.T) {
	s, srv, dir := newFirstRunServer(t)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookie, page := browserLogin(t, s.LoginURL(srv.URL))
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{cookie})
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set(sessionHeader, page)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	if code, out := do("GET", "/api/v1/app", ""); code != 200 || out["vault"] != "none" || out["data_dir"] != dir {
		t.Fatalf("app state before: %d %v", code, out)
	}
	if code, out := do("GET", "/api/v1/memories", ""); code != http.StatusConflict || !strings.Contains(errMessage(out), "no vault yet") {
		t.Fatalf("memories before a vault: %d %v", code, out)
	}
	if code, out := do("POST", "/api/v1/vault", `{"passphrase":"short"}`); code != 400 || !strings.Contains(errMessage(out), "at least 8") {
		t.Fatalf("short passphrase: %d %v", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "vault.db")); err == nil {
		t.Fatal("a refused passphrase left a vault file")
	}
	code, out := do("POST", "/api/v1/vault", `{"passphrase":"`+testPass+`","keyring":false}`)
	if code != 201 || len(out["recovery_key"].(string)) < 20 {
		t.Fatalf("create: %d %v", code, out)
	}
	// The same browser session goes on, now with the whole API.
	if code, out := do("GET", "/api/v1/app", ""); code != 200 || out["vault"] != "unlocked" {
		t.Fatalf("app state after: %d %v", code, out)
	}
	if code, out := do("POST", "/api/v1/memories", `{"text":"I keep bees"}`); code != 201 {
		t.Fatalf("add after creation: %d %v", code, out)
	}
	if code, out := do("GET", "/api/v1/memories?q=bees", ""); code != 200 || !strings.Contains(toJSON(out), "I keep bees") {
		t.Fatalf("search after creation: %d %v", code, out)
	}
	if code, out := do("POST", "/api/v1/vault", `{"passphrase":"`+testPass+`"}`); code != http.StatusConflict {
		t.Fatalf("second create: %d %v", code, out)
	}
	// A wrong passphrase after a lock does not open the new vault.
	do("POST", "/api/v1/lock", "")
	if code, out := do("POST", "/api/v1/unlock", `{"passphrase":"not the passphrase"}`); code != 403 {
		t.Fatalf("wrong passphrase: %d %v", code, out)
	}
	if code, out := do("GET", "/api/v1/app", ""); out["vault"] != "locked" {
		t.Fatalf("app state when locked: %d %v", code, out)
	}
	if code, _ := do("POST", "/api/v1/unlock", `{"passphrase":"`+testPass+`"}`); code != 200 {
		t.Fatalf("unlock: %d", code)
	}
}

// The first-run routes need the token like every other route.
func TestFirstRunServerNeedsAToken(t *testing.T) {
	dir := t.TempDir()
	toks, _ := OpenTokens(dir)
	srv := httptest.NewServer(New(Config{Tokens: toks, App: &firstRunApp{dir: dir}}).Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/api/v1/vault", "application/json", strings.NewReader(`{"passphrase":"`+testPass+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "vault.db")); err == nil {
		t.Fatal("a request without a token made a vault")
	}
}

func TestTokenRoutesShowAndRotate(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/token", f.admin, nil)
	if r.status != 200 || !strings.Contains(r.body, f.admin) {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	r = f.do("POST", "/api/v1/token/rotate", f.admin, nil)
	var out struct{ Token string }
	json.Unmarshal([]byte(r.body), &out)
	if r.status != 200 || out.Token == "" || out.Token == f.admin {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/status", f.admin, nil); r.status != 401 {
		t.Fatalf("the old token still works: %d", r.status)
	}
	if r := f.do("GET", "/api/v1/status", out.Token, nil); r.status != 200 {
		t.Fatalf("the new token does not work: %d", r.status)
	}
	reader, err := f.tokens.Create("reader", []string{ScopeMemoryRead})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/v1/token", reader, nil); r.status != 403 {
		t.Fatalf("a read-only token saw the admin token: %d", r.status)
	}
}

func TestProcessorReadsLikeOllamaPS(t *testing.T) {
	for _, c := range []struct {
		size, vram int64
		want       string
	}{{100, 0, "CPU"}, {100, 100, "100% GPU"}, {200, 100, "50%/50% CPU/GPU"}, {100, 25, "75%/25% CPU/GPU"}, {0, 0, "CPU"}} {
		if got := processor(c.size, c.vram); got != c.want {
			t.Errorf("processor(%d, %d) = %q, want %q", c.size, c.vram, got, c.want)
		}
	}
}

func TestGetMessageByID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.vault.CreateConversation(ctx, memory.NewConversation{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, Role: memory.RoleUser, Content: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	r := f.do("GET", "/api/v1/messages/"+m.ID, f.admin, nil)
	if r.status != 200 || !strings.Contains(r.body, c.ID) || !strings.Contains(r.body, "hello") {
		t.Fatalf("message: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/messages/nope", f.admin, nil); r.status != 404 {
		t.Fatalf("missing message: %d", r.status)
	}
}

func errMessage(out map[string]any) string {
	if e, ok := out["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		return s
	}
	return ""
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFirstRunRuntimeAppearsUnderLoad: requests keep coming on the
// first-run server's listener while the vault is created; before it they
// are told there is no vault, after it the same server answers them (data,
// OpenAPI, the OpenAI-compatible models), and nothing races (go test
// -race).
func TestFirstRunRuntimeAppearsUnderLoad(t *testing.T) {
	s, srv, _ := newFirstRunServer(t)
	admin, _, err := s.cfg.Tokens.EnsureDefault()
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call("GET", "/v1/models", ""); code != http.StatusNotFound {
		t.Fatalf("OpenAI models before a vault: %d", code)
	}
	created := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-created:
					return
				default:
				}
				if code := call("GET", "/api/v1/memories", ""); code != http.StatusConflict && code != http.StatusOK {
					t.Errorf("memories while the vault is made: %d", code)
					return
				}
				call("GET", "/api/v1/app", "")
			}
		}()
	}
	if code := call("POST", "/api/v1/vault", `{"passphrase":"`+testPass+`"}`); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	close(created)
	wg.Wait()
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/v1/memories", `{"text":"I keep bees"}`, http.StatusCreated},
		{"GET", "/api/v1/memories?q=bees", "", http.StatusOK},
		{"GET", "/api/v1/openapi.json", "", http.StatusOK},
		{"GET", "/api/v1/status", "", http.StatusOK},
		{"GET", "/v1/models", "", http.StatusServiceUnavailable}, // the route is there; this App gave no models
		{"POST", "/api/v1/vault", `{"passphrase":"` + testPass + `"}`, http.StatusConflict},
	} {
		if code := call(c.method, c.path, c.body); code != c.want {
			t.Errorf("%s %s after creation: %d, want %d", c.method, c.path, code, c.want)
		}
	}
}
