package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	ollamaapi "github.com/ollama/ollama/api"
)

// What the app's own UI needs beyond the data routes: the first run
// (creating the vault from the page), settings, the API token, which models
// Ollama has loaded, and one message by id. Settings and vault creation
// belong to the app package (settings.json, the session), so the server
// reaches them through App.

// App is what the server asks of the program that runs it.
type App interface {
	// Settings reads settings.json.
	Settings() (Settings, error)
	// SaveSettings applies a change, writes it and returns the result.
	SaveSettings(ctx context.Context, p SettingsPatch) (Settings, error)
	// DataDir is the home folder.
	DataDir() string
	// CreateVault makes the vault on the first run and returns the
	// runtime the server then serves over.
	CreateVault(ctx context.Context, req VaultRequest) (VaultCreated, error)
}

// Settings are the person's choices the UI shows (a subset of
// settings.json).
type Settings struct {
	Model          string `json:"model"`
	EmbeddingModel string `json:"embedding_model"`
	Extraction     bool   `json:"extraction"`
	// IdleLockMinutes locks the vault after that long without use; 0 never.
	IdleLockMinutes int            `json:"idle_lock_minutes"`
	NumCtx          map[string]int `json:"num_ctx,omitempty"`
	// MaxReplyTokens caps a reply; 0 is the default, a quarter of the
	// model's context window.
	MaxReplyTokens int `json:"max_reply_tokens"`
	// ShareModels offers this device's models to the person's other
	// paired devices.
	ShareModels bool `json:"share_models"`
}

// SettingsPatch changes the fields that are set.
type SettingsPatch struct {
	Model           *string `json:"model"`
	EmbeddingModel  *string `json:"embedding_model"`
	Extraction      *bool   `json:"extraction"`
	IdleLockMinutes *int    `json:"idle_lock_minutes"`
	MaxReplyTokens  *int    `json:"max_reply_tokens"`
	ShareModels     *bool   `json:"share_models"`
}

// VaultRequest creates a vault.
type VaultRequest struct {
	Passphrase string `json:"passphrase"`
	// Keyring asks to keep the vault key in the OS keyring, so the app
	// unlocks without the passphrase on this device.
	Keyring bool `json:"keyring"`
}

// VaultCreated is a new vault: its recovery key (shown once) and the
// runtime over it.
type VaultCreated struct {
	RecoveryKey string
	// Keyring says whether the key went into the OS keyring; KeyringError
	// says why not, when it was asked for.
	Keyring      bool
	KeyringError string
	Runtime      Runtime
}

// ErrVaultExists means the home has a vault already.
var ErrVaultExists = errors.New("a vault already exists here: unlock it instead")

// routesApp registers the UI's routes; they answer on a first-run server too.
func (s *Server) routesApp() []route {
	return []route{
		{pattern: "GET /api/v1/app", scope: ScopeMemoryRead, whileLocked: true, firstRun: true, serve: s.appState,
			summary: "What the UI needs first: whether a vault exists and is locked, the data folder, the idle lock"},
		{pattern: "POST /api/v1/vault", scope: ScopeAdmin, maxBody: smallBody, firstRun: true, serve: s.createVault,
			summary: "Create the vault on the first run (admin); answers the recovery key, shown once", fields: "passphrase, keyring"},
		{pattern: "GET /api/v1/settings", scope: ScopeChat, firstRun: true, serve: s.getSettings,
			summary: "Settings: chat and embedding model, extraction, idle lock, reply cap, sharing this device's models"},
		{pattern: "PATCH /api/v1/settings", scope: ScopeAdmin, maxBody: smallBody, firstRun: true, serve: s.patchSettings,
			summary: "Change settings (admin)", fields: "model, embedding_model, extraction, idle_lock_minutes, max_reply_tokens, share_models"},
		{pattern: "GET /api/v1/token", scope: ScopeAdmin, firstRun: true, serve: s.getToken,
			summary: "The default API token, to copy into scripts (admin)"},
		{pattern: "POST /api/v1/token/rotate", scope: ScopeAdmin, firstRun: true, serve: s.rotateToken,
			summary: "Replace the default API token; the old one stops working at once (admin)"},
		{pattern: "GET /api/v1/models/running", scope: ScopeChat, firstRun: true, serve: s.runningModels,
			summary: "Models Ollama has loaded: size, VRAM used (0: on the CPU), context length"},
		{pattern: "GET /api/v1/messages/{id}", scope: ScopeChat, firstRun: true, serve: s.getMessage,
			summary: "One message, with its conversation id"},
	}
}

type appBody struct {
	// Vault is "none" (first run), "locked" or "unlocked".
	Vault   string `json:"vault"`
	Version string `json:"version"`
	DataDir string `json:"data_dir,omitempty"`
	// IdleLockMinutes is how long the UI waits before locking; 0 never.
	IdleLockMinutes int `json:"idle_lock_minutes"`
	// APIURL is where this API listens on loopback, for scripts (the
	// desktop window's own origin is not it).
	APIURL string `json:"api_url,omitempty"`
	// Keyring says the OS keyring answers here, so offering to keep the
	// vault's key in it can work.
	Keyring bool `json:"keyring"`
}

// servedURL is what an App offers when it knows where the API listens.
type servedURL interface {
	// APIURL is the loopback URL the API is served at, "" if none.
	APIURL() string
}

func (s *Server) appState(w http.ResponseWriter, r *http.Request) error {
	b := appBody{Vault: "unlocked", Version: Version, IdleLockMinutes: DefaultIdleLockMinutes}
	switch {
	case s.firstRun():
		b.Vault = "none"
	case s.cfg.Vault.Locked():
		b.Vault = "locked"
	}
	if s.cfg.App != nil {
		b.DataDir = s.cfg.App.DataDir()
		if u, ok := s.cfg.App.(servedURL); ok {
			b.APIURL = u.APIURL()
		}
		if st, err := s.cfg.App.Settings(); err == nil {
			b.IdleLockMinutes = st.IdleLockMinutes
		}
	}
	if s.cfg.Keyring != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		b.Keyring = s.cfg.Keyring.Available(ctx) == nil
		cancel()
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// MaxReplyCap is the largest reply cap the settings take, in tokens.
const MaxReplyCap = 1 << 20

// DefaultIdleLockMinutes is the idle lock when settings say nothing.
const DefaultIdleLockMinutes = 15

// MinPassphrase is the shortest passphrase the UI accepts for a new vault.
const MinPassphrase = 8

func (s *Server) createVault(w http.ResponseWriter, r *http.Request) error {
	var in VaultRequest
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if !s.firstRun() {
		return errorf(http.StatusConflict, "vault_exists", ErrVaultExists.Error())
	}
	if s.cfg.App == nil {
		return errorf(http.StatusNotImplemented, "not_supported", "this server cannot create a vault: run `cairn init`")
	}
	if len([]rune(in.Passphrase)) < MinPassphrase {
		return errorf(http.StatusBadRequest, "weak_passphrase", "the passphrase is too short: use at least 8 characters (a few unrelated words are best)")
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if !s.firstRun() {
		return errorf(http.StatusConflict, "vault_exists", ErrVaultExists.Error())
	}
	created, err := s.cfg.App.CreateVault(r.Context(), in)
	if errors.Is(err, ErrVaultExists) {
		return errorf(http.StatusConflict, "vault_exists", err.Error())
	}
	if err != nil {
		return err
	}
	// This server, its tokens, signed-in browsers, web UI and gyms, now
	// serves every route over the new vault.
	s.setRuntime(&created.Runtime)
	writeJSON(w, http.StatusCreated, map[string]any{"recovery_key": created.RecoveryKey, "keyring": created.Keyring, "keyring_error": created.KeyringError})
	return nil
}

func (s *Server) needApp() error {
	if s.cfg.App == nil {
		return errorf(http.StatusNotImplemented, "not_supported", "this server has no settings: edit settings.json in the data folder")
	}
	return nil
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	if err := s.needApp(); err != nil {
		return err
	}
	st, err := s.cfg.App.Settings()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request) error {
	if err := s.needApp(); err != nil {
		return err
	}
	var p SettingsPatch
	if err := readJSON(r, &p); err != nil {
		return err
	}
	if p.IdleLockMinutes != nil && (*p.IdleLockMinutes < 0 || *p.IdleLockMinutes > 24*60) {
		return errorf(http.StatusBadRequest, "invalid", "idle_lock_minutes must be 0 (never) to 1440")
	}
	if p.MaxReplyTokens != nil && (*p.MaxReplyTokens < 0 || *p.MaxReplyTokens > MaxReplyCap) {
		return errorf(http.StatusBadRequest, "invalid", "max_reply_tokens must be 0 (a quarter of the context window) to "+itoa(MaxReplyCap))
	}
	st, err := s.cfg.App.SaveSettings(r.Context(), p)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid", err.Error())
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	if err := noSession(r); err != nil {
		return err
	}
	tok, _, err := s.cfg.Tokens.EnsureDefault()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "path": DefaultTokenPath(s.cfg.Tokens.dir)})
	return nil
}

func (s *Server) rotateToken(w http.ResponseWriter, r *http.Request) error {
	if err := noSession(r); err != nil {
		return err
	}
	tok, err := s.cfg.Tokens.Rotate()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "path": DefaultTokenPath(s.cfg.Tokens.dir)})
	return nil
}

// runningModel is one model Ollama holds in memory.
type runningModel struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// SizeVRAM is how much of it sits in GPU memory; 0 means all on the CPU.
	SizeVRAM int64 `json:"size_vram"`
	// Processor reads like Ollama's ps: "100% GPU", "CPU", "48%/52% CPU/GPU".
	Processor     string    `json:"processor"`
	ContextLength int       `json:"context_length,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
}

type runningLister interface {
	Running(ctx context.Context) ([]ollamaapi.ProcessModelResponse, error)
}

func (s *Server) runningModels(w http.ResponseWriter, r *http.Request) error {
	if err := s.needAgent(); err != nil {
		return err
	}
	rl, ok := s.cfg.Backends.Default().(runningLister)
	if !ok {
		return errorf(http.StatusNotImplemented, "not_supported", "the default backend does not say which models are loaded")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	list, err := rl.Running(ctx)
	if err != nil {
		return err
	}
	out := []runningModel{}
	for _, m := range list {
		out = append(out, runningModel{Name: m.Name, Size: m.Size, SizeVRAM: m.SizeVRAM, Processor: processor(m.Size, m.SizeVRAM), ContextLength: m.ContextLength, ExpiresAt: m.ExpiresAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
	return nil
}

// processor says where a model runs, as `ollama ps` does.
func processor(size, vram int64) string {
	switch {
	case vram <= 0 || size <= 0:
		return "CPU"
	case vram >= size:
		return "100% GPU"
	}
	gpu := int(vram * 100 / size)
	return itoa(int64(100-gpu)) + "%/" + itoa(int64(gpu)) + "% CPU/GPU"
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	if s.firstRun() {
		return errorf(http.StatusConflict, "no_vault", "there is no vault yet")
	}
	m, err := s.cfg.Vault.Message(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}
