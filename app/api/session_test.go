package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserLogin follows a login link as a browser would and returns the
// session cookie and the page secret the redirect's fragment carries.
func browserLogin(t *testing.T, link string) (*http.Cookie, string) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionName {
			cookie = c
		}
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || cookie == nil || err != nil {
		t.Fatalf("login: %d, cookie %v, location %q", resp.StatusCode, cookie, resp.Header.Get("Location"))
	}
	page, ok := strings.CutPrefix(loc.Fragment, sessionFragment+"=")
	if !ok || len(page) < 32 || loc.RawQuery != "" || strings.Contains(loc.Path, page) {
		t.Fatalf("the page secret must travel in the fragment alone: %q", loc)
	}
	return cookie, page
}

// asSession sends a request with a session's cookie and, when page is
// set, its page secret.
func asSession(t *testing.T, method, u string, cookie *http.Cookie, page string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.AddCookie(cookie)
	if page != "" {
		req.Header.Set(sessionHeader, page)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type sessionFixture struct {
	*fixture
	s   *Server
	url string
}

func newSessionFixture(t *testing.T) *sessionFixture {
	f := newFixture(t)
	s := New(Config{Vault: f.vault, Tokens: f.tokens})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &sessionFixture{fixture: f, s: s, url: srv.URL}
}

// TestCapturedCookieAloneIsNobody: browsers send cookies to every port of
// 127.0.0.1, so another local server sees the session cookie. Replayed
// without the page secret (which only the page holds), it opens nothing.
func TestCapturedCookieAloneIsNobody(t *testing.T) {
	f := newSessionFixture(t)
	cookie, page := browserLogin(t, f.s.LoginURL(f.url))
	if code := asSession(t, "GET", f.url+"/api/v1/memories", cookie, ""); code != http.StatusUnauthorized {
		t.Fatalf("the cookie alone read memories: %d", code)
	}
	if code := asSession(t, "GET", f.url+"/api/v1/memories", cookie, strings.Repeat("0", len(page))); code != http.StatusUnauthorized {
		t.Fatalf("the cookie with a made-up page secret: %d", code)
	}
	if code := asSession(t, "GET", f.url+"/api/v1/memories", cookie, page); code != http.StatusOK {
		t.Fatalf("the page's own session: %d", code)
	}
	// The page secret without the cookie is nobody either.
	req, _ := http.NewRequest("GET", f.url+"/api/v1/memories", nil)
	req.Header.Set(sessionHeader, page)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the page secret alone: %d", resp.StatusCode)
	}
}

// TestSessionCannotReadTheToken: a token read through a session would
// outlive it.
func TestSessionCannotReadTheToken(t *testing.T) {
	f := newSessionFixture(t)
	cookie, page := browserLogin(t, f.s.LoginURL(f.url))
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/token"}, {"POST", "/api/v1/token/rotate"}} {
		if code := asSession(t, c.method, f.url+c.path, cookie, page); code != http.StatusForbidden {
			t.Errorf("%s %s through a session: %d, want 403", c.method, c.path, code)
		}
	}
	if _, ok := f.tokens.Check(f.admin); !ok {
		t.Fatal("the default token changed")
	}
	if r := f.do("GET", "/api/v1/token", f.admin, nil); r.status != 200 || !strings.Contains(r.body, f.admin) {
		t.Fatalf("the token itself may read the token: %d", r.status)
	}
}

// TestSessionsEnd: a session ends with the token it came from (rotated
// through the API or by another process such as `cairn token --rotate`,
// or revoked), on lock, and after the idle limit.
func TestSessionsEnd(t *testing.T) {
	cases := []struct {
		name string
		end  func(f *sessionFixture)
	}{
		{"rotated through the API", func(f *sessionFixture) {
			if r := f.do("POST", "/api/v1/token/rotate", f.admin, nil); r.status != 200 {
				t.Fatalf("rotate: %d %s", r.status, r.body)
			}
		}},
		{"rotated by another process", func(f *sessionFixture) {
			other, _ := OpenTokens(filepath.Dir(f.path))
			if _, err := other.Rotate(); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoked", func(f *sessionFixture) {
			other, _ := OpenTokens(filepath.Dir(f.path))
			if err := other.Revoke(DefaultTokenName); err != nil {
				t.Fatal(err)
			}
		}},
		{"idle", func(f *sessionFixture) {
			f.s.browser.mu.Lock()
			f.s.browser.now = func() time.Time { return time.Now().Add(sessionIdle + time.Minute) }
			f.s.browser.mu.Unlock()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newSessionFixture(t)
			cookie, page := browserLogin(t, f.s.LoginURL(f.url))
			if code := asSession(t, "GET", f.url+"/api/v1/status", cookie, page); code != 200 {
				t.Fatalf("before: %d", code)
			}
			c.end(f)
			if code := asSession(t, "GET", f.url+"/api/v1/status", cookie, page); code != http.StatusUnauthorized {
				t.Fatalf("the session still works after it was %s: %d", c.name, code)
			}
		})
	}
	// A lock suspends every session: only the passphrase brings it back.
	f := newSessionFixture(t)
	cookie, page := browserLogin(t, f.s.LoginURL(f.url))
	other, otherPage := browserLogin(t, f.s.LoginURL(f.url))
	if code := asSession(t, "POST", f.url+"/api/v1/lock", cookie, page); code != 200 {
		t.Fatalf("lock: %d", code)
	}
	for _, c := range []struct {
		cookie *http.Cookie
		page   string
	}{{cookie, page}, {other, otherPage}} {
		if code := asSession(t, "GET", f.url+"/api/v1/settings", c.cookie, c.page); code != http.StatusUnauthorized {
			t.Fatalf("a session after a lock: %d, want 401", code)
		}
	}
	req, _ := http.NewRequest("POST", f.url+"/api/v1/unlock", strings.NewReader(`{"passphrase":"`+testPass+`"}`))
	req.AddCookie(cookie)
	req.Header.Set(sessionHeader, page)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("unlock through the suspended session: %v %v", resp.StatusCode, err)
	}
	if code := asSession(t, "GET", f.url+"/api/v1/memories", cookie, page); code != 200 {
		t.Fatalf("the session that unlocked: %d", code)
	}
	if code := asSession(t, "GET", f.url+"/api/v1/memories", other, otherPage); code != http.StatusUnauthorized {
		t.Fatalf("another session, after someone else unlocked: %d", code)
	}

	// Used within the idle limit, a session lives on.
	f = newSessionFixture(t)
	cookie, page = browserLogin(t, f.s.LoginURL(f.url))
	f.s.browser.mu.Lock()
	f.s.browser.now = func() time.Time { return time.Now().Add(sessionIdle - time.Minute) }
	f.s.browser.mu.Unlock()
	if code := asSession(t, "GET", f.url+"/api/v1/status", cookie, page); code != 200 {
		t.Fatalf("a session used within the idle limit: %d", code)
	}
}

// TestReusedLoginLinkShowsTheSignInPage: a person who opens a login link a
// second time lands on the sign-in page, which says why (the fragment
// tells it), not on a page of raw JSON; a script still gets the JSON error.
func TestReusedLoginLinkShowsTheSignInPage(t *testing.T) {
	f := newSessionFixture(t)
	link := f.s.LoginURL(f.url)
	browserLogin(t, link)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", link, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/#"+loginUsedFragment || len(resp.Cookies()) != 0 {
		t.Fatalf("a reused link in a browser: %d to %q, cookies %v; want the sign-in page", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	resp, err = noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a reused link from a script: %d, want 401", resp.StatusCode)
	}
}
