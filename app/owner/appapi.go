package owner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/memory"
	cairnsync "github.com/cairnlabs/cairn/sync"
)

// uiApp is what the API asks of the app for the UI (api.App): settings.json,
// the data folder, and the vault's creation on the first run.
type uiApp struct {
	c *Env
	// keyring, when set, keeps the new vault's key in the OS keyring
	// (the desktop side provides it); nil means not available here.
	keyring func(ctx context.Context, v *memory.Vault, passphrase []byte) error

	mu sync.Mutex
	// sess is the session the API serves, once there is a vault.
	sess *Session
	// created is called with the session made on the first run, so the
	// owner closes it when it stops.
	created func(*Session)
	// node is the sync node, once it runs: sharing models is applied to it.
	node *cairnsync.Node
}

func (a *uiApp) DataDir() string { return a.c.Home().Dir }

// APIURL is the address the owner serves the API at (owner.json), which
// is what scripts and MCP clients must use, whatever --addr said.
func (a *uiApp) APIURL() string {
	o, err := a.c.Home().RunningOwner()
	if err != nil {
		return ""
	}
	return o.URL
}

func (a *uiApp) Settings() (api.Settings, error) {
	s, err := a.c.Home().LoadSettings()
	if err != nil {
		return api.Settings{}, err
	}
	return uiSettings(s), nil
}

func uiSettings(s Settings) api.Settings {
	out := api.Settings{Model: s.Model, EmbeddingModel: s.EmbeddingModel, Extraction: s.ExtractionOn(), IdleLockMinutes: s.IdleLock(), NumCtx: s.NumCtx, MaxReplyTokens: s.MaxReplyTokens, ShareModels: s.ShareModels}
	if out.EmbeddingModel == "" {
		out.EmbeddingModel = agent.DefaultEmbeddingModel
	}
	return out
}

// SaveSettings writes the change and applies it to the running session
// where it can be applied live (the embedding model, the reply cap,
// extraction); the chat model is chosen per request by the UI.
func (a *uiApp) SaveSettings(ctx context.Context, p api.SettingsPatch) (api.Settings, error) {
	h := a.c.Home()
	s, err := h.LoadSettings()
	if err != nil {
		return api.Settings{}, err
	}
	oldEmbed := s.EmbeddingModel
	if p.Model != nil {
		s.Model = *p.Model
	}
	if p.EmbeddingModel != nil {
		s.EmbeddingModel = *p.EmbeddingModel
		if s.EmbeddingModel == agent.DefaultEmbeddingModel {
			s.EmbeddingModel = ""
		}
	}
	if p.Extraction != nil {
		on := *p.Extraction
		s.Extraction = &on
	}
	if p.IdleLockMinutes != nil {
		n := *p.IdleLockMinutes
		s.IdleLockMinutes = &n
	}
	if p.MaxReplyTokens != nil {
		s.MaxReplyTokens = *p.MaxReplyTokens
	}
	if p.ShareModels != nil {
		s.ShareModels = *p.ShareModels
	}
	if err := h.SaveSettings(s); err != nil {
		return api.Settings{}, err
	}
	a.mu.Lock()
	sess, node := a.sess, a.node
	a.mu.Unlock()
	if sess != nil && p.ShareModels != nil {
		applyShare(s.ShareModels, sess.Ollama, node)
	}
	if sess != nil && p.MaxReplyTokens != nil {
		sess.Agent.SetReplyCap(s.MaxReplyTokens) // the next reply has it
	}
	if sess != nil && p.Extraction != nil {
		sess.Agent.SetExtraction(*p.Extraction) // from the next turn
	}
	if sess != nil && s.EmbeddingModel != oldEmbed && !sess.Vault.Locked() {
		var emb memory.Embedder
		if s.EmbeddingModel != "off" {
			sess.Embedder = agent.NewEmbedderVia(sess.Backends, cmpOr(s.EmbeddingModel, agent.DefaultEmbeddingModel))
			emb = sess.Embedder
		}
		if err := sess.Vault.SetEmbedder(ctx, emb); err != nil {
			slog.Warn("switching the embedding model failed", "err", err)
		}
	}
	return uiSettings(s), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CreateVault makes the vault, its API token and the session over it, for
// a first-run server.
func (a *uiApp) CreateVault(ctx context.Context, req api.VaultRequest) (api.VaultCreated, error) {
	h := a.c.Home()
	if h.HasVault() {
		return api.VaultCreated{}, api.ErrVaultExists
	}
	s, bs, ollama, err := a.c.BackendsOnly()
	if err != nil {
		return api.VaultCreated{}, err
	}
	r := &Session{Settings: s, Backends: bs, Ollama: ollama}
	var emb memory.Embedder
	if s.EmbeddingModel != "off" {
		r.Embedder = agent.NewEmbedderVia(bs, s.EmbeddingModel)
		emb = r.Embedder
	}
	// The vault outlives this request.
	v, recovery, err := memory.Create(context.WithoutCancel(ctx), memory.Config{Path: h.VaultPath(), Embedder: emb, Logger: slog.Default()}, []byte(req.Passphrase))
	if errors.Is(err, memory.ErrVaultExists) {
		return api.VaultCreated{}, api.ErrVaultExists
	}
	if err != nil {
		return api.VaultCreated{}, err
	}
	r.Vault = v
	r.Agent = agent.New(v, bs, agent.Config{Model: s.Model, System: s.System, NumCtx: s.NumCtx, NumPredict: s.MaxReplyTokens, NoExtraction: !s.ExtractionOn(), Logger: slog.Default()})
	out := api.VaultCreated{RecoveryKey: recovery}
	if req.Keyring {
		if a.keyring == nil {
			out.KeyringError = "the OS keyring is not available in this build: unlock with the passphrase"
		} else if err := a.keyring(ctx, v, []byte(req.Passphrase)); err != nil {
			out.KeyringError = fmt.Sprintf("the OS keyring refused the key (%v): unlock with the passphrase", err)
		} else {
			out.Keyring = true
		}
	}
	toks, err := api.OpenTokens(h.Dir)
	if err != nil {
		return api.VaultCreated{}, err
	}
	if _, _, err := toks.EnsureDefault(); err != nil {
		return api.VaultCreated{}, err
	}
	a.mu.Lock()
	a.sess = r
	created := a.created
	a.mu.Unlock()
	if created != nil {
		created(r)
	}
	out.Next = api.Config{Vault: v, Agent: r.Agent, Backends: bs, Tokens: toks, Assets: a.c.Assets, App: a, Keyring: OSKeyring{}, Logger: slog.Default(),
		ImportDir: filepath.Join(a.c.Home().Dir, "imports"), ResumeExtractions: true}
	// Sync comes with the vault, off until the person pairs or turns it on.
	if node, err := a.c.StartSync(context.WithoutCancel(ctx), v); err != nil {
		slog.Warn("sync is not running", "err", err)
	} else {
		r.SyncNode = node
		out.Next.Sync = node
		a.attachSync(r, node)
	}
	return out, nil
}

// setSession tells the app which session the API serves.
func (a *uiApp) setSession(s *Session) {
	a.mu.Lock()
	a.sess = s
	a.mu.Unlock()
}
