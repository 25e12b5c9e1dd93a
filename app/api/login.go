package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// A browser signs in with a one-time login URL that `cairn serve` prints:
// the code in it is good once, for a few minutes, and trades for a
// session cookie (HttpOnly, SameSite=Strict) that stands in for the token
// while the server runs.

const (
	loginCodeTTL = 10 * time.Minute
	sessionTTL   = 12 * time.Hour
	sessionName  = "cairn_session"
)

type browserSessions struct {
	mu       sync.Mutex
	codes    map[string]time.Time // hash → expiry
	sessions map[string]time.Time // hash → expiry
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
// server's URL).
func (s *Server) LoginURL(base string) string {
	code := randomHex()
	s.browser.mu.Lock()
	s.browser.codes[hashHex(code)] = time.Now().Add(loginCodeTTL)
	s.browser.mu.Unlock()
	return base + "/login?code=" + code
}

// login trades a one-time code for a session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	h := hashHex(r.URL.Query().Get("code"))
	s.browser.mu.Lock()
	exp, ok := s.browser.codes[h]
	delete(s.browser.codes, h) // good once, whatever happens
	var session string
	if ok && time.Now().Before(exp) {
		session = randomHex()
		s.browser.sessions[hashHex(session)] = time.Now().Add(sessionTTL)
	}
	s.browser.mu.Unlock()
	if session == "" {
		s.slowDown()
		writeError(w, errorf(http.StatusUnauthorized, "bad_login", "this login link is used, expired or wrong: restart `cairn serve` for a new one, or use the token (`cairn token`)"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionName, Value: session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sessionToken is the token a browser session acts with, if the request
// carries a live session cookie.
func (s *Server) sessionToken(r *http.Request) (Token, bool) {
	c, err := r.Cookie(sessionName)
	if err != nil {
		return Token{}, false
	}
	h := hashHex(c.Value)
	s.browser.mu.Lock()
	defer s.browser.mu.Unlock()
	exp, ok := s.browser.sessions[h]
	if !ok || time.Now().After(exp) {
		delete(s.browser.sessions, h)
		return Token{}, false
	}
	return Token{Name: "browser", Hash: h, Scopes: []string{ScopeAdmin}}, true
}
