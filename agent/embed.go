package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnlabs/cairn/memory"
)

// DefaultEmbeddingModel embeds memories unless the person picks another.
const DefaultEmbeddingModel = "nomic-embed-text"

// Embedder embeds texts with a backend's model; it implements the vault's
// memory.Embedder.
type Embedder struct {
	backend Backend
	model   string
}

// NewEmbedder returns an embedder for model on backend.
func NewEmbedder(b Backend, model string) *Embedder {
	if model == "" {
		model = DefaultEmbeddingModel
	}
	return &Embedder{backend: b, model: model}
}

// Model implements memory.Embedder.
func (e *Embedder) Model() string { return e.model }

// Embed implements memory.Embedder.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := e.backend.Embed(ctx, e.model, texts)
	if errors.Is(err, ErrModelNotFound) {
		return nil, fmt.Errorf("embedding model %s is not on %s: `cairn pull %s` turns semantic search on (keyword search works meanwhile): %w (%w)", e.model, e.backend.Name(), e.model, err, memory.ErrEmbeddingModelMissing)
	}
	return vecs, err
}

// Check says whether the embedding model is available, for doctor and
// the status API.
func (e *Embedder) Check(ctx context.Context) error {
	_, err := e.Embed(ctx, []string{"ok"})
	return err
}
