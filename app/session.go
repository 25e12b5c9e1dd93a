package app

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

// session is what a chat needs: settings, backends, the unlocked vault
// with its embedder, and the agent.
type session struct {
	settings Settings
	backends *agent.Backends
	ollama   *agent.Ollama
	embedder *agent.Embedder // nil when semantic search is off
	vault    *memory.Vault
	agent    *agent.Agent
	// syncNode is sync started with a vault made on the first run; the
	// owner stops the one it starts itself.
	syncNode *cairnsync.Node
}

// backendsOnly loads settings and backends without opening the vault.
func (c *cli) backendsOnly() (Settings, *agent.Backends, *agent.Ollama, error) {
	s, err := c.home().LoadSettings()
	if err != nil {
		return s, nil, nil, err
	}
	bs, ollama, err := s.backends()
	return s, bs, ollama, err
}

// openRuntime opens the vault and wires the agent to it.
func (c *cli) openRuntime(ctx context.Context) (*session, error) {
	s, bs, ollama, err := c.backendsOnly()
	if err != nil {
		return nil, err
	}
	r := &session{settings: s, backends: bs, ollama: ollama}
	if s.EmbeddingModel != "off" {
		r.embedder = agent.NewEmbedderVia(bs, s.EmbeddingModel)
	}
	var emb memory.Embedder
	if r.embedder != nil {
		emb = r.embedder
	}
	if r.vault, err = c.openVaultWith(ctx, emb); err != nil {
		return nil, err
	}
	// Memories a model forgot more than 30 days ago are erased for good.
	if n, err := r.vault.PurgeForgotten(ctx, time.Now()); err != nil {
		slog.Warn("erasing memories forgotten over 30 days ago failed", "err", err)
	} else if n > 0 {
		slog.Info("erased memories a model forgot over 30 days ago", "count", n)
	}
	r.agent = agent.New(r.vault, bs, agent.Config{
		Model: s.Model, System: s.System, NumCtx: s.NumCtx, NumPredict: s.MaxReplyTokens, NoExtraction: !s.extraction(), Logger: slog.Default(),
	})
	return r, nil
}

// close waits a little for background work (extraction of the last turn)
// and closes everything.
func (r *session) close(ctx context.Context) {
	if err := r.agent.Wait(ctx); err != nil && !errors.Is(err, context.Canceled) {
		slog.Debug("background work left undone", "err", err)
	}
	r.agent.Close()
	if r.syncNode != nil {
		r.syncNode.Close()
	}
	r.vault.Close()
}

// defaultModel picks the model when none was chosen: the setting, else
// the only chat model Ollama has.
func (r *session) defaultModel(ctx context.Context, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if r.settings.Model != "" {
		return r.settings.Model, nil
	}
	models, err := r.ollama.Models(ctx)
	if err != nil {
		return "", err
	}
	var chat []string
	for _, m := range models {
		if !isEmbeddingOnly(m.Name) {
			chat = append(chat, m.Name)
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
