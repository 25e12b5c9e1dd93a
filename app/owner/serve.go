package owner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
)

// DefaultAddr is where cairn serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7420"

// Owner is the one long-running process that serves a home's API,
// recorded in owner.json while it runs.
type Owner struct {
	PID     int       `json:"pid"`
	URL     string    `json:"url"`
	Started time.Time `json:"started"`
}

func (h Home) ownerLockPath() string { return filepath.Join(h.Dir, "owner.lock") }

// OwnerPath is where the running owner records itself.
func (h Home) OwnerPath() string { return filepath.Join(h.Dir, "owner.json") }

// ErrCannotListen means the owner's address could not be bound (the port
// is taken, say); the desktop app then tries a free port.
var ErrCannotListen = errors.New("listen on")

// ErrOwned means another process already serves this home.
var ErrOwned = errors.New("another process already serves this home")

// claimOwner takes the home's owner lock (held until release), or says
// who holds it.
func (h Home) claimOwner() (release func(), err error) {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(h.ownerLockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := tryLockFile(f); err != nil {
		f.Close()
		if o, rerr := h.RunningOwner(); rerr == nil {
			return nil, fmt.Errorf("%w: cairn (pid %d) serves %s at %s since %s: stop it first, or use another --home", ErrOwned, o.PID, h.Dir, o.URL, o.Started.Local().Format(time.DateTime))
		}
		return nil, fmt.Errorf("%w: a cairn process holds %s: stop it first, or use another --home", ErrOwned, h.ownerLockPath())
	}
	return func() {
		os.Remove(h.OwnerPath())
		unlockFile(f)
		f.Close()
	}, nil
}

// OwnerAlive reports whether a process holds the home's owner lock.
func (h Home) OwnerAlive() bool {
	f, err := os.OpenFile(h.ownerLockPath(), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := tryLockFile(f); err != nil {
		return true
	}
	unlockFile(f)
	return false
}

// RunningOwner reads owner.json.
func (h Home) RunningOwner() (Owner, error) {
	var o Owner
	b, err := os.ReadFile(h.OwnerPath())
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(b, &o)
}

// Running is a running owner of a home: the API on a socket, recorded in
// owner.json, over an open session.
type Running struct {
	Sess *Session
	// NewToken says the API token was made just now.
	NewToken bool
	API      *api.Server
	URL      string
	Errc     chan error
	Stop     func()
}

// StartOwner claims the home, opens its vault (locked without a
// passphrase at hand) and serves the API on addr.
func (c *Env) StartOwner(ctx context.Context, addr string, anyHost, ui bool) (*Running, error) {
	h := c.Home()
	if !h.HasVault() && !ui {
		return nil, h.NoVaultError()
	}
	release, err := h.claimOwner()
	if err != nil {
		return nil, err
	}
	var undo cleanup
	undo.add(func(context.Context) { release() })
	fail := func(err error) (*Running, error) {
		undo.run(context.WithoutCancel(ctx))
		return nil, err
	}
	toks, err := api.OpenTokens(h.Dir)
	if err != nil {
		return fail(err)
	}
	_, created, err := toks.EnsureDefault()
	if err != nil {
		return fail(err)
	}
	if created {
		fmt.Fprintf(c.Stderr, "Made an API token in %s (`cairn token` shows it).\n", api.DefaultTokenPath(h.Dir))
	}
	// With the web UI and no vault yet, the page creates it (first run).
	uiapp := &uiApp{c: c, keyring: RememberKey}
	var sess *Session
	var sessMu sync.Mutex
	if h.HasVault() {
		if sess, err = c.OpenServing(ctx); err != nil {
			return fail(err)
		}
		uiapp.setSession(sess)
	}
	// The session served, or the one the first run makes (uiapp.created).
	undo.add(func(ctx context.Context) {
		sessMu.Lock()
		defer sessMu.Unlock()
		if sess != nil {
			sess.Close(ctx)
		}
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(fmt.Errorf("%w %s: %w (is another program using the port? pass --addr 127.0.0.1:PORT)", ErrCannotListen, addr, err))
	}
	undo.add(func(context.Context) { ln.Close() })
	var hosts []string
	if anyHost {
		host, _, _ := net.SplitHostPort(addr)
		hosts = append(hosts, host)
		fmt.Fprintln(c.Stderr, "WARNING: listening beyond loopback: anyone who can reach this address and has a token can read your memory.")
	}
	cfg := api.Config{Tokens: toks, Hosts: hosts, App: uiapp, Keyring: OSKeyring{}, Logger: slog.Default(), ImportDir: filepath.Join(h.Dir, "imports"), ResumeExtractions: true}
	if sess != nil {
		cfg.Vault, cfg.Agent, cfg.Backends = sess.Vault, sess.Agent, sess.Backends
	}
	// The gym file holds only what the person added or approved; opening
	// it sends nothing.
	if gc, err := gym.OpenContributor(ctx, gym.ContributorConfig{Path: h.GymPath(), Logger: slog.Default()}); err == nil {
		cfg.Gym = gc
		// Retries what the person approved, when due; an empty outbox
		// sends nothing.
		gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { gc.RetryLoop(gctx, time.Minute); close(done) }()
		undo.add(func(context.Context) { cancel(); <-done; gc.Close() })
	} else {
		slog.Warn("gym routes are off: the gym file did not open", "err", err)
	}
	// Sync starts with a vault, opening no socket until the person pairs
	// or turns it on; on a first run it starts once the vault is made
	// (appapi.go).
	if sess != nil {
		if node, err := c.StartSync(ctx, sess.Vault); err != nil {
			fmt.Fprintf(c.Stderr, "Sync is not running: %v\n", err)
		} else {
			cfg.Sync = node
			undo.add(func(context.Context) { node.Close() })
			uiapp.attachSync(sess, node)
		}
	}
	if ui {
		cfg.Assets = c.Assets
	}
	srv := api.New(cfg)
	if sess != nil && !sess.Vault.Locked() {
		sess.Agent.EmbedPastMessages() // messages not embedded yet, in the background
	}
	// Before the session closes: it would wait for a long extraction.
	undo.add(func(context.Context) { srv.StopExtractions() })
	uiapp.created = func(s *Session) {
		sessMu.Lock()
		sess = s
		sessMu.Unlock()
	}
	o := &Running{Sess: sess, API: srv, NewToken: created, URL: "http://" + ln.Addr().String(), Errc: make(chan error, 1)}
	b, _ := json.Marshal(Owner{PID: os.Getpid(), URL: o.URL, Started: time.Now().UTC()})
	if err := os.WriteFile(h.OwnerPath(), b, 0o600); err != nil {
		return fail(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { o.Errc <- hs.Serve(ln) }()
	undo.add(func(ctx context.Context) { hs.Shutdown(ctx) })
	var stopOnce sync.Once
	o.Stop = func() {
		stopOnce.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			undo.run(sctx)
		})
	}
	return o, nil
}

// OpenServing opens the vault for a server: unlocked when a passphrase
// is at hand, else locked until POST /api/v1/unlock.
func (c *Env) OpenServing(ctx context.Context) (*Session, error) {
	if os.Getenv(EnvPassphrase) != "" || c.PassFile != "" || c.Term.IsTerminal() {
		return c.OpenRuntime(ctx)
	}
	return c.OpenLocked(ctx)
}

// OpenLocked opens the vault locked, with no passphrase: the agent and the
// backends work (the model routes), the vault's contents wait for an
// unlock.
func (c *Env) OpenLocked(ctx context.Context) (*Session, error) {
	if h := c.Home(); !h.HasVault() {
		return nil, h.NoVaultError()
	}
	return c.NewSession(func(emb memory.Embedder) (*memory.Vault, error) {
		return memory.Open(ctx, memory.Config{Path: c.Home().VaultPath(), Embedder: emb, Logger: slog.Default()})
	})
}
