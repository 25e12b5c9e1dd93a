package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// Every kind of answer the socket gives (the UI's page and files, API
// JSON, each kind of error, a login, an event stream) carries the headers
// that keep it to this origin: a CSP that allows only the bundle and no
// framing, X-Frame-Options, no Referer, no content sniffing.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	f := newFixture(t)
	assets := fstest.MapFS{
		"index.html":    {Data: []byte(`<!doctype html><script type="module" src="/assets/app.js"></script>`)},
		"assets/app.js": {Data: []byte(`console.log("cairn")`)},
	}
	s := New(Config{Vault: f.vault, Tokens: f.tokens, Assets: assets})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	want := map[string]string{
		"Content-Security-Policy": uiPolicy,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	}
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(uiPolicy, directive) {
			t.Fatalf("the CSP lacks %s: %s", directive, uiPolicy)
		}
	}
	script, _, _ := strings.Cut(strings.SplitN(uiPolicy, "script-src", 2)[1], ";")
	if strings.Contains(uiPolicy, "unsafe-eval") || strings.Contains(script, "unsafe-inline") {
		t.Fatalf("the CSP lets scripts run inline or through eval: %s", uiPolicy)
	}
	cases := []struct {
		name, method, path string
		header             []string
		status             int
	}{
		{"the UI page", "GET", "/", nil, 200},
		{"a UI file", "GET", "/assets/app.js", nil, 200},
		{"a UI file that is not there", "GET", "/assets/none.js", nil, 404},
		{"API JSON", "GET", "/api/v1/memories", []string{"Authorization", "Bearer " + f.admin}, 200},
		{"no token", "GET", "/api/v1/memories", nil, 401},
		{"a wrong token", "GET", "/api/v1/memories", []string{"Authorization", "Bearer cairn_nottoken"}, 401},
		{"an unknown route", "GET", "/api/v1/nothing-here", []string{"Authorization", "Bearer " + f.admin}, 404},
		{"a bad body", "POST", "/api/v1/memories", []string{"Authorization", "Bearer " + f.admin}, 400},
		{"a foreign Host", "GET", "/api/v1/memories", []string{"Host", "evil.example"}, 421},
		{"a foreign Origin", "GET", "/api/v1/memories", []string{"Origin", "https://evil.example"}, 403},
		{"the wails origin on TCP", "GET", "/api/v1/memories", []string{"Origin", "wails://wails.localhost"}, 403},
		{"a used or wrong login code", "GET", "/login?code=0000", nil, 0},
		{"health", "GET", "/healthz", nil, 200},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{"))
		for i := 0; i+1 < len(c.header); i += 2 {
			if c.header[i] == "Host" {
				req.Host = c.header[i+1]
				continue
			}
			req.Header.Set(c.header[i], c.header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if c.status != 0 && resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s (%d): %s is %q, want %q", c.name, resp.StatusCode, k, got, v)
			}
		}
	}

	// An event stream: the headers come with the first byte, before any event.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, ct)
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("the event stream: %s is %q, want %q", k, got, v)
		}
	}
}
