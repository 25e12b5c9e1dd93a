package app

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

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
	cairnsync "github.com/cairnlabs/cairn/sync"
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

// errCannotListen means the owner's address could not be bound (the port
// is taken, say); the desktop app then tries a free port.
var errCannotListen = errors.New("listen on")

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

// RunningOwner reads owner.json.
func (h Home) RunningOwner() (Owner, error) {
	var o Owner
	b, err := os.ReadFile(h.OwnerPath())
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(b, &o)
}

func (c *cli) serveCommand() *cobra.Command {
	var addr string
	var anyHost, ui bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the local API (REST, OpenAI-compatible, MCP) for your scripts and agents",
		Long: `Serve this home's API on 127.0.0.1 (default ` + DefaultAddr + `), with the token
in $CAIRN_HOME/api-token (` + "`cairn token`" + ` shows it). One process serves a
home at a time. Without a passphrase ($CAIRN_PASSPHRASE, --passphrase-file,
or a terminal) the vault starts locked: POST /api/v1/unlock opens it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context() // ends on SIGINT and SIGTERM
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return usageError{fmt.Errorf("--addr %q is not host:port", addr)}
			}
			if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !anyHost {
				return usageError{fmt.Errorf("--addr %s is reachable from other machines: the API holds your memory, so it listens on loopback only unless you also pass --listen-beyond-loopback", addr)}
			}
			o, err := c.startOwner(ctx, addr, anyHost, ui)
			if err != nil {
				return err
			}
			defer o.stop()
			if ui || o.newToken {
				// Good once, for ten minutes: it signs a browser in without
				// pasting the token.
				fmt.Fprintf(c.stderr, "Open this in your browser to sign in (once, within 10 minutes):\n  %s\n", o.api.LoginURL(o.url))
			}
			state := "unlocked"
			if o.sess == nil {
				state = "not created yet: the web UI creates it"
			} else if o.sess.vault.Locked() {
				state = "locked: POST /api/v1/unlock with the passphrase"
			}
			fmt.Fprintf(c.stderr, "Serving %s at %s (vault %s). Ctrl-C stops.\n", c.home().Dir, o.url, state)
			select {
			case err := <-o.errc:
				return err
			case <-ctx.Done():
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", DefaultAddr, "address to listen on (loopback)")
	cmd.Flags().BoolVar(&ui, "ui", false, "serve the web UI too, and print a one-time login link for the browser")
	cmd.Flags().BoolVar(&anyHost, "listen-beyond-loopback", false, "allow an --addr other machines can reach (dangerous: see the README)")
	c.addSyncFlags(cmd)
	return cmd
}

// owning is a running owner of a home: the API on a socket, recorded in
// owner.json, over an open session.
type owning struct {
	sess *session
	// newToken says the API token was made just now.
	newToken bool
	api      *api.Server
	url      string
	errc     chan error
	stop     func()
}

// startOwner claims the home, opens its vault (locked without a
// passphrase at hand) and serves the API on addr.
func (c *cli) startOwner(ctx context.Context, addr string, anyHost, ui bool) (*owning, error) {
	h := c.home()
	if !h.HasVault() && !ui {
		return nil, h.noVaultError()
	}
	release, err := h.claimOwner()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*owning, error) {
		release()
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
		fmt.Fprintf(c.stderr, "Made an API token in %s (`cairn token` shows it).\n", api.DefaultTokenPath(h.Dir))
	}
	// With the web UI and no vault yet, the page creates it (first run).
	uiapp := &uiApp{c: c, keyring: rememberKey}
	var sess *session
	if h.HasVault() {
		if sess, err = c.openServing(ctx); err != nil {
			return fail(err)
		}
		uiapp.setSession(sess)
	}
	closeSess := func(ctx context.Context) {
		if sess != nil {
			sess.close(ctx)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		closeSess(context.WithoutCancel(ctx))
		return fail(fmt.Errorf("%w %s: %w (is another program using the port? pass --addr 127.0.0.1:PORT)", errCannotListen, addr, err))
	}
	var hosts []string
	if anyHost {
		host, _, _ := net.SplitHostPort(addr)
		hosts = append(hosts, host)
		fmt.Fprintln(c.stderr, "WARNING: listening beyond loopback: anyone who can reach this address and has a token can read your memory.")
	}
	cfg := api.Config{Tokens: toks, Hosts: hosts, App: uiapp, Keyring: osKeyring{}, Logger: slog.Default(), ImportDir: filepath.Join(h.Dir, "imports")}
	if sess != nil {
		cfg.Vault, cfg.Agent, cfg.Backends = sess.vault, sess.agent, sess.backends
	}
	// The gym file holds only what the person added or approved; opening
	// it sends nothing.
	stopGym := func() {}
	if gc, err := gym.OpenContributor(ctx, gym.ContributorConfig{Path: h.GymPath(), Logger: slog.Default()}); err == nil {
		cfg.Gym = gc
		// Retries what the person approved, when due; an empty outbox
		// sends nothing.
		gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { gc.RetryLoop(gctx, time.Minute); close(done) }()
		stopGym = func() { cancel(); <-done; gc.Close() }
	} else {
		slog.Warn("gym routes are off: the gym file did not open", "err", err)
	}
	// Sync starts with a vault, opening no socket until the person pairs
	// or turns it on; on a first run it starts once the vault is made
	// (appapi.go).
	var node *cairnsync.Node
	if sess != nil {
		if node, err = c.startSync(ctx, sess.vault); err != nil {
			fmt.Fprintf(c.stderr, "Sync is not running: %v\n", err)
		} else {
			cfg.Sync = node
		}
	}
	if ui {
		cfg.Assets = c.assets
	}
	srv := api.New(cfg)
	var sessMu sync.Mutex
	uiapp.created = func(s *session) {
		sessMu.Lock()
		sess = s
		sessMu.Unlock()
	}
	o := &owning{sess: sess, api: srv, newToken: created, url: "http://" + ln.Addr().String(), errc: make(chan error, 1)}
	b, _ := json.Marshal(Owner{PID: os.Getpid(), URL: o.url, Started: time.Now().UTC()})
	if err := os.WriteFile(h.OwnerPath(), b, 0o600); err != nil {
		ln.Close()
		stopGym()
		if node != nil {
			node.Close()
		}
		closeSess(context.WithoutCancel(ctx))
		return fail(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { o.errc <- hs.Serve(ln) }()
	o.stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		stopGym()
		if node != nil {
			node.Close()
		}
		sessMu.Lock()
		closeSess(sctx)
		sessMu.Unlock()
		release()
	}
	return o, nil
}

// openServing opens the vault for a server: unlocked when a passphrase
// is at hand, else locked until POST /api/v1/unlock.
func (c *cli) openServing(ctx context.Context) (*session, error) {
	if os.Getenv(envPassphrase) != "" || c.passFile != "" || c.term.isTerminal() {
		return c.openRuntime(ctx)
	}
	s, bs, ollama, err := c.backendsOnly()
	if err != nil {
		return nil, err
	}
	r := &session{settings: s, backends: bs, ollama: ollama}
	var emb memory.Embedder
	if s.EmbeddingModel != "off" {
		r.embedder = agent.NewEmbedder(ollama, s.EmbeddingModel)
		emb = r.embedder
	}
	if r.vault, err = memory.Open(ctx, memory.Config{Path: c.home().VaultPath(), Embedder: emb, Logger: slog.Default()}); err != nil {
		return nil, err
	}
	r.agent = agent.New(r.vault, bs, agent.Config{Model: s.Model, System: s.System, NumCtx: s.NumCtx, NumPredict: s.MaxReplyTokens, NoExtraction: !s.extraction(), Logger: slog.Default()})
	return r, nil
}
