// Package api is Cairn's local HTTP API: the native REST routes under
// /api/v1, an OpenAI-compatible /v1 and an MCP endpoint, all behind one
// handler that checks the token, the Host and the Origin of every request.
// cairn serve and the desktop window both serve it.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
)

// Version is reported by /api/v1/status.
var Version = "dev"

// Config wires a Server.
type Config struct {
	// Vault is open, locked or not.
	Vault *memory.Vault
	// Agent chats over the vault.
	Agent *agent.Agent
	// Backends are the model servers.
	Backends *agent.Backends
	// Tokens checks bearer tokens.
	Tokens *Tokens
	// Gym is the person's gyms, review and outbox; nil: no gym routes.
	Gym *gym.Contributor
	// Hosts are extra Host names to accept, for a server deliberately
	// bound beyond loopback; loopback names are always accepted.
	Hosts []string
	// Assets, when set, is the web UI, served at / to a browser that signed
	// in with a login URL.
	Assets fs.FS
	// Keyring, when set, is the OS keyring that may keep the vault's key
	// (routes_keyring.go).
	Keyring KeyStore
	// App, when set, is the program's settings and first run
	// (routes_app.go). With App set and Vault nil the server is a first-run
	// server: it offers vault creation, then serves the full API over the
	// Runtime the App made (runtime.go).
	App App
	// ImportDir holds uploads while they are imported, and the journals
	// that let a stopped import resume (the home's imports/ folder).
	ImportDir string
	// ResumeExtractions, for the home's owner, goes on with the
	// extraction jobs a stopped owner left unfinished, once the vault is
	// open (routes_extractions.go).
	ResumeExtractions bool
	// Sync is the owner's sync node; nil answers the sync routes with 503.
	Sync   Syncer
	Logger *slog.Logger
}

// Server is the API's state and handler.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	// assets serves the web UI, when there is one.
	assets http.Handler

	// table is every route (route.go); firstRunRoutes answer before there
	// is a vault, lockedRoutes to a browser session paused by a lock.
	table          []route
	firstRunRoutes map[string]bool
	lockedRoutes   map[string]bool

	browser browserSessions
	// extractions are the background extraction jobs; nil without an
	// agent or an ImportDir.
	extractions *agent.Extractions

	// rt is the runtime, nil on a first-run server until the vault is
	// created (runtime.go).
	rt       atomic.Pointer[Runtime]
	createMu sync.Mutex

	failMu sync.Mutex
	// failed counts recent failed authentications, to slow guessing.
	failed int
	since  time.Time
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.browser = newBrowserSessions()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if cfg.Assets != nil {
		s.assets = http.FileServerFS(cfg.Assets)
	}
	// Every route is registered once; on a first-run server only the
	// app's own answer until the vault is created (runtime.go).
	s.register(s.routes())
	s.routesMCP()
	if cfg.Vault != nil {
		s.setRuntime(&Runtime{Vault: cfg.Vault, Agent: cfg.Agent, Backends: cfg.Backends, Sync: cfg.Sync})
	}
	return s
}

// Body limits per kind of route.
const (
	smallBody = 64 << 10
	chatBody  = 8 << 20
)

// Timeouts for what is not a stream: a slow or stalled client cannot hold
// a connection. Streams (replies, events, pulls) run as long as they need.
const (
	bodyTimeout  = 30 * time.Second
	replyTimeout = 2 * time.Minute
)

// Handler is the API with its checks, for a socket. A request must name
// a loopback host (so a web page cannot reach it through DNS rebinding),
// come from no browser or the app's own origin, and carry a token.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w.Header())
		if !s.hostAllowed(r.Host) {
			writeError(w, errorf(http.StatusMisdirectedRequest, "bad_host", "Host "+strconvQuote(r.Host)+" is not this machine: use http://127.0.0.1 or http://localhost"))
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !s.originAllowed(o, r.Host) {
			writeError(w, errorf(http.StatusForbidden, "bad_origin", "requests from web pages of other sites are refused"))
			return
		}
		switch {
		case r.URL.Path == "/healthz":
			s.mux.ServeHTTP(w, r)
			return
		case r.URL.Path == "/login" && r.Method == http.MethodGet:
			s.login(w, r)
			return
		case s.cfg.Assets != nil && r.Method == http.MethodGet && !isAPIPath(r.URL.Path):
			// The web UI's files hold no data: the page asks the API.
			s.assets.ServeHTTP(w, r)
			return
		}
		tok, ok := s.cfg.Tokens.Check(bearer(r))
		if !ok && bearer(r) == "" {
			tok, ok = s.sessionToken(r)
		}
		if !ok {
			s.slowDown()
			w.Header().Set("WWW-Authenticate", `Bearer realm="cairn"`)
			writeError(w, errorf(http.StatusUnauthorized, "unauthorized", "a valid token is needed: send Authorization: Bearer TOKEN (`cairn token` shows yours)"))
			return
		}
		if s.waitsForVault(w, r) {
			return
		}
		s.mux.ServeHTTP(w, r.WithContext(withToken(r.Context(), tok)))
	})
}

// InProcess is the API for the desktop window, served through Wails'
// asset server: no socket, so no token; it acts with the admin token.
func (s *Server) InProcess() http.Handler {
	admin := Token{Name: "desktop", Hash: "desktop", Scopes: []string{ScopeAdmin}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The MCP SDK wants a bearer header; who asks is in the context.
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer in-process")
		}
		if s.waitsForVault(w, r) {
			return
		}
		s.mux.ServeHTTP(w, r.WithContext(withToken(r.Context(), admin)))
	})
}

// slowDown delays a failed authentication, more as failures pile up, so
// a token cannot be guessed at speed.
func (s *Server) slowDown() {
	s.failMu.Lock()
	if time.Since(s.since) > time.Minute {
		s.failed, s.since = 0, time.Now()
	}
	s.failed++
	d := time.Duration(min(s.failed, 20)) * 50 * time.Millisecond
	s.failMu.Unlock()
	time.Sleep(d)
}

// isAPIPath reports whether a path belongs to the API rather than the web UI.
func isAPIPath(p string) bool {
	for _, prefix := range []string{"/api/", "/v1/", "/mcp"} {
		if strings.HasPrefix(p, prefix) || p+"/" == prefix {
			return true
		}
	}
	return false
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return ""
}

func (s *Server) hostAllowed(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, x := range s.cfg.Hosts {
		if strings.EqualFold(x, h) {
			return true
		}
	}
	return false
}

// originAllowed accepts the API's own origin (its web UI) only. The
// desktop window's origins (wails://wails, http://wails.localhost) are
// refused here: the window calls InProcess, never the socket, so a page
// that claims them over TCP is not the window.
func (s *Server) originAllowed(origin, host string) bool {
	return origin == "http://"+host
}

type tokenKey struct{}

func withToken(ctx context.Context, t Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

func tokenFrom(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(Token)
	return t, ok
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func strconvQuote(s string) string { return strconv.Quote(s) }
