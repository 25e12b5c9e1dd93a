package memory

import (
	"context"
	"fmt"
)

// EmbeddingStatus says how far embedding has got for the current model.
type EmbeddingStatus struct {
	// Model is the embedding model in use; "" for keyword search only.
	Model string `json:"model"`
	// Embedded memories have a vector for Model, out of Total that should:
	// every memory but soft-forgotten, damaged and newer-schema ones.
	Embedded int `json:"embedded"`
	Total    int `json:"total"`
	// MessagesEmbedded past messages have passage vectors for Model, out
	// of MessagesTotal user and assistant messages with words to embed
	// (counted once a model is set).
	MessagesEmbedded int `json:"messages_embedded"`
	MessagesTotal    int `json:"messages_total"`
	// LastError is the embedder's last failure, "" once it works again.
	LastError string `json:"last_error,omitempty"`
}

// SetEmbedder switches the embedding model at run time; nil means keyword
// search only. The in-memory vector index is rebuilt for the new model from
// the embeddings stored for it (so switching back to a model used before
// is quick); memories without one are embedded later: a few by each search
// and write, the rest by EmbedAll or Refresh.
func (v *Vault) SetEmbedder(ctx context.Context, e Embedder) error {
	err := v.rebuildVectors(ctx, func() {
		v.embedder.Store(&embedderRef{e})
		v.embedRetry.Store(0)
		v.embedErr.Store(nil)
	})
	if err != nil {
		return fmt.Errorf("switch embedding model: %w", err)
	}
	return nil
}

// EmbeddingStatus reports how many memories have a vector for the current
// model, out of how many should.
func (v *Vault) EmbeddingStatus(ctx context.Context) (EmbeddingStatus, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return EmbeddingStatus{}, err
	}
	var st EmbeddingStatus
	if msg := v.embedErr.Load(); msg != nil {
		st.LastError = *msg
	}
	emb := v.currentEmbedder()
	if emb == nil {
		// Nothing is tracked without a model: count what one would embed.
		err := v.scanRecords(ctx, KindMemory, func(r *Record) bool {
			if keys.embeddable(r) {
				st.Total++
			}
			return true
		})
		return st, err
	}
	st.Model = emb.Model()
	if err := v.sync(ctx, 0); err != nil {
		return st, fmt.Errorf("embedding status: %w", err)
	}
	st.Embedded, st.Total = v.embedCounts(st.Model)
	st.MessagesEmbedded, st.MessagesTotal = v.passageCounts(st.Model)
	return st, nil
}

// embedCounts is how many memories are in the vector index for model, and
// how many with those noted as missing an embedding.
func (v *Vault) embedCounts(model string) (done, total int) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.vectors != nil && v.vectors.model == model {
		done = v.vectors.len()
	}
	return done, done + len(v.missing)
}

// EmbedAll embeds every memory that has no vector for the current model,
// in batches, and calls progress (when not nil) after each batch with how
// many of how many have one. It asks the embedder even if it failed a
// moment ago, and returns ErrNoEmbedder without a model, the embedder's
// error (naming the model) if it fails, and ctx's error if cancelled; what
// was embedded until then is kept. Searches go on meanwhile.
func (v *Vault) EmbedAll(ctx context.Context, progress func(done, total int)) error {
	for {
		if _, err := v.unlockedKeys(); err != nil {
			return err
		}
		emb := v.currentEmbedder()
		if emb == nil {
			return fmt.Errorf("embed memories: %w", ErrNoEmbedder)
		}
		// One batch at a time, so that searches catch up in between.
		if _, err := v.syncEmbed(ctx, embedBatch, true); err != nil {
			return err
		}
		done, total := v.embedCounts(emb.Model())
		if progress != nil {
			progress(done, total)
		}
		if done >= total {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
