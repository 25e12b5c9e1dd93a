package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A browser signs in with a one-time login URL that `cairn serve` prints:
// the code in it is good once, for a few minutes, and trades for a
// session. A session is two secrets: a cookie (HttpOnly, SameSite=Strict)
// and a page secret that the login redirect hands the page in the URL
// fragment, which the page keeps in sessionStorage and sends back as the
// X-Cairn-Session header. Browsers send cookies to every port of a host,
// so another local server can capture the cookie; it cannot get the page
// secret: fragments are never sent to a server, and sessionStorage belongs
// to this origin (scheme, host and port) alone. Both are needed on every
// request (docs/SECURITY.md).
//
// A session stands for the token its login link came from (the default
// token) and ends when that token is rotated or revoked, after sessionIdle
// without a request, and after sessionTTL in any case. Locking the vault
// through the API suspends every session: it can then only see that the
// vault is locked and unlock it, with the passphrase (or the recovery
// key), which brings that session (and no other) back. A session can never read a token.

const (
	loginCodeTTL = 10 * time.Minute
	sessionTTL   = 12 * time.Hour
	sessionIdle  = time.Hour
	sessionName  = "cairn_session"
	// sessionHeader carries the page secret.
	sessionHeader = "X-Cairn-Session"
	// sessionFragment names the page secret in the login redirect's
	// fragment (frontend/src/lib/api.ts reads it).
	sessionFragment = "cairn-session"
	// loginUsedFragment tells the sign-in page that the link it came
	// from was used, expired or wrong.
	loginUsedFragment = "cairn-login=used"
)

// browserSession is a live session, kept under the hash of its cookie.
type browserSession struct {
	page    string // hash of the page secret
	from    string // hash of the token the login link stood for
	expires time.Time
	used    time.Time
	// locked: the vault was locked since; only the passphrase resumes it.
	locked bool
}

type loginCode struct {
	expires time.Time
	from    string
}

type browserSessions struct {
	mu       sync.Mutex
	codes    map[string]loginCode       // hash of the code → its use
	sessions map[string]*browserSession // hash of the cookie → session
	now      func() time.Time           // time.Now; tests move it
}

func newBrowserSessions() browserSessions {
	return browserSessions{codes: map[string]loginCode{}, sessions: map[string]*browserSession{}, now: time.Now}
}

// suspend suspends every session (a lock).
func (b *browserSessions) suspend() {
	b.mu.Lock()
	for _, s := range b.sessions {
		s.locked = true
	}
	b.mu.Unlock()
}

// resume brings back the session whose cookie hashes to h, once it proved
// the passphrase.
func (b *browserSessions) resume(h string) {
	b.mu.Lock()
	if s, ok := b.sessions[h]; ok {
		s.locked = false
	}
	b.mu.Unlock()
}

func randomHex() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// LoginURL makes a one-time login link for a browser, under base (the
// server's URL). The session it opens ends when the default token changes.
func (s *Server) LoginURL(base string) string {
	code := randomHex()
	from := ""
	if s.cfg.Tokens != nil {
		from = s.cfg.Tokens.DefaultHash()
	}
	s.browser.mu.Lock()
	s.browser.codes[hashHex(code)] = loginCode{expires: s.browser.now().Add(loginCodeTTL), from: from}
	s.browser.mu.Unlock()
	return base + "/login?code=" + code
}

// login trades a one-time code for a session: the cookie, and the page
// secret in the redirect's fragment.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	h := hashHex(r.URL.Query().Get("code"))
	s.browser.mu.Lock()
	code, ok := s.browser.codes[h]
	delete(s.browser.codes, h) // good once, whatever happens
	now := s.browser.now()
	var cookie, page string
	if ok && now.Before(code.expires) {
		cookie, page = randomHex(), randomHex()
		s.browser.sessions[hashHex(cookie)] = &browserSession{page: hashHex(page), from: code.from, expires: now.Add(sessionTTL), used: now}
	}
	s.browser.mu.Unlock()
	if cookie == "" {
		s.slowDown()
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			// A person opened it: the sign-in page says what happened.
			http.Redirect(w, r, "/#"+loginUsedFragment, http.StatusSeeOther)
			return
		}
		writeError(w, errorf(http.StatusUnauthorized, "bad_login", "this login link is used, expired or wrong: restart `cairn serve --ui` for a new one, or use the token (`cairn token`)"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionName, Value: cookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/#"+sessionFragment+"="+page, http.StatusSeeOther)
}

// sessionToken is the token a browser session acts with, if the request
// carries a live session's cookie and its page secret.
func (s *Server) sessionToken(r *http.Request) (Token, bool) {
	c, err := r.Cookie(sessionName)
	if err != nil {
		return Token{}, false
	}
	page := r.Header.Get(sessionHeader)
	if page == "" {
		return Token{}, false // a captured cookie alone is nothing
	}
	h := hashHex(c.Value)
	s.browser.mu.Lock()
	defer s.browser.mu.Unlock()
	sess, ok := s.browser.sessions[h]
	if !ok {
		return Token{}, false
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(page)), []byte(sess.page)) != 1 {
		return Token{}, false
	}
	now := s.browser.now()
	if now.After(sess.expires) || now.Sub(sess.used) > sessionIdle || !s.tokenLive(sess.from) {
		delete(s.browser.sessions, h)
		return Token{}, false
	}
	if sess.locked && !s.lockedRoutes[r.Method+" "+r.URL.Path] { // route.whileLocked
		return Token{}, false
	}
	sess.used = now
	return Token{Name: "browser", Hash: h, Scopes: []string{ScopeAdmin}, Session: true}, true
}

// tokenLive reports whether the token with hash h still exists (it was
// not rotated or revoked since the session began).
func (s *Server) tokenLive(h string) bool {
	if s.cfg.Tokens == nil || h == "" {
		return h == ""
	}
	return s.cfg.Tokens.Live(h)
}

// noSession refuses a browser session what only a token may do: read a
// token. A session ends; a token read through it would not.
func noSession(r *http.Request) error {
	if tok, _ := tokenFrom(r.Context()); tok.Session {
		return errorf(http.StatusForbidden, "session_cannot_read_token", "a browser session cannot see or make API tokens: run `cairn token` (or `cairn token --rotate`) in a terminal")
	}
	return nil
}
