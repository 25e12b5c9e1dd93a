package owner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
	cairnsync "github.com/cairnlabs/cairn/sync"
)

// Session is what a chat needs: settings, backends, the unlocked vault
// with its embedder, and the agent.
type Session struct {
	Settings Settings
	Backends *agent.Backends
	Ollama   *agent.Ollama
	Embedder *agent.Embedder // nil when semantic search is off
	Vault    *memory.Vault
	Agent    *agent.Agent
	// syncNode is sync started with a vault made on the first run; the
	// owner stops the one it starts itself.
	SyncNode *cairnsync.Node
}

// BackendsOnly loads settings and backends without opening the vault.
func (c *Env) BackendsOnly() (Settings, *agent.Backends, *agent.Ollama, error) {
	s, err := c.Home().LoadSettings()
	if err != nil {
		return s, nil, nil, err
	}
	bs, ollama, err := s.backends()
	return s, bs, ollama, err
}

// OpenRuntime opens the vault and wires the agent to it.
func (c *Env) OpenRuntime(ctx context.Context) (*Session, error) {
	r, err := c.NewSession(func(emb memory.Embedder) (*memory.Vault, error) { return c.OpenVaultWith(ctx, emb) })
	if err != nil {
		return nil, err
	}
	// Memories a model forgot more than 30 days ago are erased for good.
	if n, err := r.Vault.PurgeForgotten(ctx, time.Now()); err != nil {
		slog.Warn("erasing memories forgotten over 30 days ago failed", "err", err)
	} else if n > 0 {
		slog.Info("erased memories a model forgot over 30 days ago", "count", n)
	}
	return r, nil
}

// NewSession is the one place a Session is put together: the settings,
// the model backends, the embedder over them, the vault that open opens
// (or creates) with that embedder, and the agent over the vault.
// OpenRuntime, OpenLocked and the first run's vault creation all use it,
// so a backend added here (another device's models) reaches every path.
func (c *Env) NewSession(open func(memory.Embedder) (*memory.Vault, error)) (*Session, error) {
	s, bs, ollama, err := c.BackendsOnly()
	if err != nil {
		return nil, err
	}
	r := &Session{Settings: s, Backends: bs, Ollama: ollama}
	var emb memory.Embedder
	if s.EmbeddingModel != "off" {
		r.Embedder = agent.NewEmbedderVia(bs, s.EmbeddingModel)
		emb = r.Embedder
	}
	if r.Vault, err = open(emb); err != nil {
		return nil, err
	}
	r.Agent = agent.New(r.Vault, bs, agent.Config{
		Model: s.Model, System: s.System, NumCtx: s.NumCtx, NumPredict: s.MaxReplyTokens, NoExtraction: !s.ExtractionOn(), Logger: slog.Default(),
	})
	return r, nil
}

// Close waits a little for background work (extraction of the last turn)
// and closes everything.
func (r *Session) Close(ctx context.Context) {
	if err := r.Agent.Wait(ctx); err != nil && !errors.Is(err, context.Canceled) {
		slog.Debug("background work left undone", "err", err)
	}
	r.Agent.Close()
	if r.SyncNode != nil {
		r.SyncNode.Close()
	}
	r.Vault.Close()
}

// DefaultModel picks the model when none was chosen: the setting, else
// the only chat model Ollama has.
func (r *Session) DefaultModel(ctx context.Context, flag string) (string, error) {
	return ChooseModel(flag, r.Settings.Model, func() ([]string, error) {
		models, err := r.Ollama.Models(ctx)
		names := make([]string, len(models))
		for i, m := range models {
			names[i] = m.Name
		}
		return names, err
	})
}

// ChooseModel is the model a chat uses: flag when set, else setting, else
// the only chat model that list (this device's Ollama) names. The CLI
// calls it with the API's model list, a Session with Ollama's.
func ChooseModel(flag, setting string, list func() ([]string, error)) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if setting != "" {
		return setting, nil
	}
	models, err := list()
	if err != nil {
		return "", err
	}
	var chat []string
	for _, m := range models {
		if !isEmbeddingOnly(m) {
			chat = append(chat, m)
		}
	}
	switch len(chat) {
	case 0:
		return "", errors.New("no chat model in Ollama yet: pull one, e.g. `cairn pull llama3.2`")
	case 1:
		return chat[0], nil
	}
	return "", fmt.Errorf("which model? Ollama has %d: pass --model NAME, or set a default with `cairn models use NAME`", len(chat))
}

// isEmbeddingOnly guesses from the name whether a model only embeds
// (Ollama's list does not say; show does, at a request per model).
func isEmbeddingOnly(name string) bool {
	for _, p := range []string{"embed", "bge-", "minilm", "e5-"} {
		if strings.Contains(strings.ToLower(name), p) {
			return true
		}
	}
	return false
}
