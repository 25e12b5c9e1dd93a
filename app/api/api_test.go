package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

var testKDF = memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}

const testPass = "correct horse battery staple"

type fixture struct {
	t      testing.TB
	srv    *httptest.Server
	vault  *memory.Vault
	tokens *Tokens
	admin  string
	path   string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault.db")
	v, _, err := memory.Create(context.Background(), memory.Config{Path: path, KDF: testKDF}, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	toks, err := OpenTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	admin, created, err := toks.EnsureDefault()
	if err != nil || !created {
		t.Fatalf("default token: %v (created %v)", err, created)
	}
	s := New(Config{Vault: v, Tokens: toks})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, vault: v, tokens: toks, admin: admin, path: path}
}

type response struct {
	status int
	body   string
}

func (f *fixture) do(method, path, token string, body io.Reader, header ...string) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}
}

func (f *fixture) count() int {
	items, err := f.vault.List(context.Background(), memory.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(items)
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not the error shape: %d %q", r.status, r.body)
	}
	return e.Error.Code
}

func TestMemoriesOverREST(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "/api/v1/memories", f.admin, strings.NewReader(`{"text":"Lives in Lisbon","kind":"fact","tags":["home"]}`))
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	var it memory.Item
	json.Unmarshal([]byte(r.body), &it)
	r = f.do("GET", "/api/v1/memories?q=lisbon&limit=5", f.admin, nil)
	if r.status != 200 || !strings.Contains(r.body, it.ID) || !strings.Contains(r.body, `"score"`) {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	r = f.do("PATCH", "/api/v1/memories/"+it.ID, f.admin, strings.NewReader(`{"text":"Lives in Porto"}`))
	if r.status != 200 || !strings.Contains(r.body, "Porto") {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = f.do("GET", "/api/v1/memories/"+it.ID+"/revisions", f.admin, nil)
	if r.status != 200 || !strings.Contains(r.body, "Lisbon") {
		t.Fatalf("revisions: %d %s", r.status, r.body)
	}
	r = f.do("GET", "/api/v1/memories?tag=home", f.admin, nil)
	if r.status != 200 || !strings.Contains(r.body, "Porto") {
		t.Fatalf("list by tag: %d %s", r.status, r.body)
	}
	if r = f.do("DELETE", "/api/v1/memories/"+it.ID, f.admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = f.do("GET", "/api/v1/memories/"+it.ID, f.admin, nil); r.status != 404 || errorCode(t, r) != "not_found" {
		t.Fatalf("get after delete: %d %s", r.status, r.body)
	}
	if r = f.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("health: %d", r.status)
	}
}

func TestScopesAndRevocation(t *testing.T) {
	f := newFixture(t)
	it, _ := f.vault.Add(context.Background(), memory.NewItem{Text: "Allergic to penicillin"})
	reader, err := f.tokens.Create("editor", []string{ScopeMemoryRead})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/v1/memories?q=penicillin", reader, nil); r.status != 200 || !strings.Contains(r.body, it.ID) {
		t.Fatalf("read token search: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/memories", `{"text":"x"}`},
		{"PATCH", "/api/v1/memories/" + it.ID, `{"text":"x"}`},
		{"DELETE", "/api/v1/memories/" + it.ID, ""},
		{"POST", "/api/v1/lock", ""},
	} {
		r := f.do(c.method, c.path, reader, strings.NewReader(c.body))
		if r.status != http.StatusForbidden || errorCode(t, r) != "forbidden" {
			t.Errorf("%s %s with memory:read: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if got, _ := f.vault.Get(context.Background(), it.ID); got.Text != "Allergic to penicillin" {
		t.Fatalf("a read-only token changed the memory: %+v", got)
	}
	if err := f.tokens.Revoke("editor"); err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/v1/memories", reader, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.status)
	}
	// A revocation by another process (another Tokens on the same home).
	other, _ := OpenTokens(filepath.Dir(f.path))
	second, _ := other.Create("script", []string{ScopeMemoryRead})
	if r := f.do("GET", "/api/v1/memories", second, nil); r.status != 200 {
		t.Fatalf("token created by another process: %d", r.status)
	}
	other.Revoke("script")
	if r := f.do("GET", "/api/v1/memories", second, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("token revoked by another process: %d", r.status)
	}
	fi, _ := os.Stat(DefaultTokenPath(filepath.Dir(f.path)))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("api-token mode %v", fi.Mode().Perm())
	}
}

func TestLockedDown(t *testing.T) {
	f := newFixture(t)
	f.vault.Add(context.Background(), memory.NewItem{Text: "Keeps bees"})
	before, _ := os.ReadFile(f.path)
	add := `{"text":"should not be stored"}`
	cases := []struct {
		name   string
		token  string
		body   io.Reader
		header []string
		status int
		code   string
	}{
		{"no token", "", strings.NewReader(add), nil, 401, "unauthorized"},
		{"wrong token", "cairn_" + strings.Repeat("0", 64), strings.NewReader(add), nil, 401, "unauthorized"},
		{"foreign host", f.admin, strings.NewReader(add), []string{"Host", "evil.example"}, http.StatusMisdirectedRequest, "bad_host"},
		{"rebound host with port", f.admin, strings.NewReader(add), []string{"Host", "evil.example:" + strings.Split(f.srv.URL, ":")[2]}, http.StatusMisdirectedRequest, "bad_host"},
		{"cross-site origin", f.admin, strings.NewReader(add), []string{"Origin", "https://evil.example"}, 403, "bad_origin"},
		{"10 MB body", f.admin, bytes.NewReader(append(append([]byte(`{"text":"`), bytes.Repeat([]byte("a"), 10<<20)...), '"', '}')), nil, 413, "too_large"},
		{"malformed JSON", f.admin, strings.NewReader(`{"text": "unterminated`), nil, 400, "bad_json"},
		{"unknown field", f.admin, strings.NewReader(`{"txt": "typo"}`), nil, 400, "bad_json"},
	}
	for _, c := range cases {
		r := f.do("POST", "/api/v1/memories", c.token, c.body, c.header...)
		if r.status != c.status || errorCode(t, r) != c.code {
			t.Errorf("%s: %d %s; want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	if n := f.count(); n != 1 {
		t.Fatalf("%d memories after refused requests, want 1", n)
	}
	after, _ := os.ReadFile(f.path)
	if !bytes.Equal(before, after) {
		t.Log("note: the vault file changed (WAL checkpoint?)")
	}
	// The app's own origin is fine.
	if r := f.do("GET", "/api/v1/memories", f.admin, nil, "Origin", f.srv.URL); r.status != 200 {
		t.Fatalf("own origin: %d %s", r.status, r.body)
	}
}

func TestLockAndUnlock(t *testing.T) {
	f := newFixture(t)
	if r := f.do("POST", "/api/v1/lock", f.admin, nil); r.status != 200 {
		t.Fatalf("lock: %d %s", r.status, r.body)
	}
	r := f.do("GET", "/api/v1/memories", f.admin, nil)
	if r.status != http.StatusLocked || errorCode(t, r) != "locked" {
		t.Fatalf("while locked: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/status", f.admin, nil); r.status != 200 || !strings.Contains(r.body, `"locked":true`) {
		t.Fatalf("status while locked: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/api/v1/unlock", f.admin, strings.NewReader(`{"passphrase":"wrong one"}`)); r.status != 403 || errorCode(t, r) != "wrong_passphrase" {
		t.Fatalf("wrong passphrase: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/api/v1/unlock", f.admin, strings.NewReader(`{"passphrase":"`+testPass+`"}`)); r.status != 200 {
		t.Fatalf("unlock: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/memories", f.admin, nil); r.status != 200 {
		t.Fatalf("after unlock: %d %s", r.status, r.body)
	}
}

// The desktop window reaches the API in-process, through Wails' asset
// server: no socket, so no token.
func TestInProcessNeedsNoToken(t *testing.T) {
	f := newFixture(t)
	s := New(Config{Vault: f.vault, Tokens: f.tokens})
	rec := httptest.NewRecorder()
	s.InProcess().ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/memories", strings.NewReader(`{"text":"From the window"}`)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("in-process add: %d %s", rec.Code, rec.Body.String())
	}
	// The same request over the socket handler needs its token.
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/memories", strings.NewReader(`{"text":"From a web page"}`))
	req.Host = "127.0.0.1:7420"
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || f.count() != 1 {
		t.Fatalf("socket handler without a token: %d, %d memories", rec.Code, f.count())
	}
	// MCP too answers the window without a token.
	rec = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"window","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	s.InProcess().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "serverInfo") {
		t.Fatalf("in-process MCP initialize: %d %s", rec.Code, rec.Body.String())
	}
}

func TestFeedbackOverREST(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv, _ := f.vault.CreateConversation(ctx, memory.NewConversation{Title: "t"})
	user, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: "Capital of Portugal?"})
	reply, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: user.ID, Role: memory.RoleAssistant, Content: "Porto."})
	r := f.do("POST", "/api/v1/messages/"+reply.ID+"/feedback", f.admin, strings.NewReader(`{"rating":-1,"correction":"Lisbon."}`))
	if r.status != http.StatusCreated {
		t.Fatalf("feedback: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/api/v1/messages/"+reply.ID+"/feedback", f.admin, strings.NewReader(`{"rating":7}`)); r.status != 400 || errorCode(t, r) != "invalid" {
		t.Fatalf("bad rating: %d %s", r.status, r.body)
	}
	r = f.do("GET", "/api/v1/messages/"+reply.ID+"/feedback", f.admin, nil)
	if r.status != 200 || !strings.Contains(r.body, "Lisbon.") || strings.Count(r.body, `"id"`) != 1 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
}

func TestOneTimeLoginForABrowser(t *testing.T) {
	f := newFixture(t)
	s := New(Config{Vault: f.vault, Tokens: f.tokens})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	link := s.LoginURL(srv.URL)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	session, page := browserLogin(t, link)
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", session)
	}
	// The cookie and the page secret stand in for the token.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/status", nil)
	req.AddCookie(session)
	req.Header.Set(sessionHeader, page)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status with the session: %v %v", resp.StatusCode, err)
	}
	// The link works once.
	if resp, _ := noRedirect.Get(link); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second use of the link: %d", resp.StatusCode)
	}
	// A page of another site cannot ride on the cookie.
	req, _ = http.NewRequest("POST", srv.URL+"/api/v1/memories", strings.NewReader(`{"text":"planted"}`))
	req.AddCookie(session)
	req.Header.Set(sessionHeader, page)
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusForbidden || f.count() != 0 {
		t.Fatalf("cross-site POST with the cookie: %d, %d memories", resp.StatusCode, f.count())
	}
	// A made-up session is nobody.
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/status", nil)
	req.AddCookie(&http.Cookie{Name: sessionName, Value: strings.Repeat("ab", 32)})
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("made-up session: %d", resp.StatusCode)
	}
}
