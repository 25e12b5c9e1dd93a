package owner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory/atomicfile"
)

// Settings are the person's choices, kept in settings.json in the home.
// Nothing in it is memory: it stays out of the vault so a locked home can
// still say which model and backends it uses.
type Settings struct {
	// Model is the default chat model.
	Model string `json:"model,omitempty"`
	// EmbeddingModel embeds memories for semantic search; "" means
	// nomic-embed-text, "off" means keyword search only.
	EmbeddingModel string `json:"embedding_model,omitempty"`
	// NumCtx is the context window per model; others get Ollama's default.
	NumCtx map[string]int `json:"num_ctx,omitempty"`
	// Extraction turns memory extraction on (the default) or off.
	Extraction *bool `json:"extraction,omitempty"`
	// MaxReplyTokens caps a reply's length; 0 means a quarter of the
	// model's context window (never more than the window leaves).
	MaxReplyTokens int `json:"max_reply_tokens,omitempty"`
	// System replaces the default system prompt.
	System string `json:"system_prompt,omitempty"`
	// Backends are OpenAI-compatible servers besides Ollama.
	Backends []BackendSettings `json:"backends,omitempty"`
	// OllamaMemory lets a remote Ollama (OLLAMA_HOST on another machine)
	// receive memories and history.
	OllamaMemory bool `json:"ollama_allow_memory,omitempty"`
	// IdleLockMinutes locks the vault after that long without use in the
	// UI; nil means 15, 0 never.
	IdleLockMinutes *int `json:"idle_lock_minutes,omitempty"`
	// ShareModels offers this device's Ollama models to the person's
	// other paired devices (off by default).
	ShareModels bool `json:"share_models,omitempty"`
}

// BackendSettings configure one OpenAI-compatible backend.
type BackendSettings struct {
	Name string `json:"name"`
	// URL is the API root, e.g. http://gpu-box:8000/v1.
	URL string `json:"url"`
	// APIKeyEnv names the environment variable that holds its key, so the
	// key itself is not written to disk.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// AllowMemory lets a remote backend receive memories and history.
	AllowMemory bool `json:"allow_memory,omitempty"`
	// Remote marks a loopback URL as another machine (an SSH tunnel).
	Remote bool `json:"remote,omitempty"`
}

// SettingsPath is where a home keeps its settings.
func (h Home) SettingsPath() string { return filepath.Join(h.Dir, "settings.json") }

// LoadSettings reads the home's settings; a missing file means defaults.
func (h Home) LoadSettings() (Settings, error) {
	var s Settings
	b, err := os.ReadFile(h.SettingsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s is not valid JSON (%v): fix it or delete it to start from defaults", h.SettingsPath(), err)
	}
	return s, s.validate()
}

// SaveSettings writes the settings atomically, readable by the owner only.
func (h Home) SaveSettings(s Settings) error {
	if err := s.validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(h.SettingsPath(), append(b, '\n'), 0o600)
}

func (s Settings) validate() error {
	for model, n := range s.NumCtx {
		if n < 256 || n > 1<<21 {
			return fmt.Errorf("settings: num_ctx %d for %s is out of range: use 256 to 2097152 tokens", n, model)
		}
	}
	if s.MaxReplyTokens < 0 {
		return fmt.Errorf("settings: max_reply_tokens %d is negative: use 0 for the default (a quarter of the context window)", s.MaxReplyTokens)
	}
	seen := map[string]bool{"ollama": true}
	for _, b := range s.Backends {
		if b.Name == "" || strings.ContainsAny(b.Name, "/ ") || seen[b.Name] {
			return fmt.Errorf("settings: backend name %q must be unique, not \"ollama\", and have no '/' or spaces", b.Name)
		}
		seen[b.Name] = true
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("settings: backend %s: url %q must be http(s)://host:port/v1", b.Name, b.URL)
		}
	}
	return nil
}

// IdleLock is the UI's idle lock (api.DefaultIdleLockMinutes unless set).
func (s Settings) IdleLock() int {
	if s.IdleLockMinutes == nil {
		return 15
	}
	return *s.IdleLockMinutes
}

// ExtractionOn reports whether memory extraction is on.
func (s Settings) ExtractionOn() bool { return s.Extraction == nil || *s.Extraction }

// backends builds the model backends: Ollama first (from OLLAMA_HOST),
// then the configured OpenAI-compatible ones.
func (s Settings) backends() (*agent.Backends, *agent.Ollama, error) {
	u, err := agent.OllamaURL(os.Getenv("OLLAMA_HOST"))
	if err != nil {
		return nil, nil, err
	}
	ollama := agent.NewOllama("ollama", u)
	list := []agent.Backend{ollama}
	for _, b := range s.Backends {
		bu, _ := url.Parse(b.URL)
		key := ""
		if b.APIKeyEnv != "" {
			key = os.Getenv(b.APIKeyEnv)
		}
		list = append(list, agent.NewOpenAI(b.Name, bu, key))
	}
	bs, err := agent.NewBackends(list...)
	if err != nil {
		return nil, nil, err
	}
	bs.AllowMemory("ollama", s.OllamaMemory)
	for _, b := range s.Backends {
		bs.AllowMemory(b.Name, b.AllowMemory)
		if b.Remote {
			bs.MarkRemote(b.Name)
		}
	}
	return bs, ollama, nil
}
