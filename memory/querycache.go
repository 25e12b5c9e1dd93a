package memory

import (
	"context"
	"fmt"
	"sync"
)

// queryVectors remembers the embeddings of recent search queries, so that
// a query asked again (a chat turn retrieved for twice, a draft the UI
// warmed while the person typed, a retried request) does not wait for the
// model again: the query embedding is most of a hybrid search's time. It
// lives in vaultKeys, so Lock drops it with the keys.
type queryVectors struct {
	mu    sync.Mutex
	vecs  map[queryKey][]float32 // unit length, never written after put
	order []queryKey             // oldest first, for eviction
}

type queryKey struct{ model, text string }

// maxCachedQueries bounds the cache: 128 queries of 768 float32s is 400 KB.
const maxCachedQueries = 128

func (c *queryVectors) get(model, text string) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vecs[queryKey{model, text}]
	return v, ok
}

func (c *queryVectors) put(model, text string, v []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := queryKey{model, text}
	if _, ok := c.vecs[k]; ok {
		return
	}
	if c.vecs == nil {
		c.vecs = make(map[queryKey][]float32)
	}
	if len(c.order) >= maxCachedQueries {
		delete(c.vecs, c.order[0])
		c.order = c.order[1:]
	}
	c.vecs[k] = v
	c.order = append(c.order, k)
}

// queryVector is the unit embedding of a query with the current embedder,
// from the cache when it was asked lately, and the model it is of.
func (v *Vault) queryVector(ctx context.Context, keys *vaultKeys, text string) ([]float32, string, error) {
	emb := v.currentEmbedder()
	if emb == nil {
		return nil, "", ErrNoEmbedder
	}
	model := emb.Model()
	if qv, ok := keys.queries.get(model, text); ok {
		return qv, model, nil
	}
	vecs, err := emb.Embed(ctx, []string{text})
	if err != nil {
		return nil, model, fmt.Errorf("embed query with %s: %w", model, err)
	}
	v.embedderWorks()
	if len(vecs) != 1 || !normalize(vecs[0]) {
		return nil, model, fmt.Errorf("embed query with %s: the model returned no usable vector", model)
	}
	keys.queries.put(model, text, vecs[0])
	return vecs[0], model, nil
}

// WarmQuery embeds text as a search query ahead of the search, so that a
// search for the same text soon after (a chat turn for the draft the UI
// warmed while the person typed) finds its embedding ready. It does
// nothing without an embedder, or while a failed one rests (a failure
// rests it, as a search's does); an empty or oversized text is refused as
// Search refuses it.
func (v *Vault) WarmQuery(ctx context.Context, text string) error {
	keys, err := v.unlockedKeys()
	if err != nil {
		return err
	}
	q := Query{Text: text}
	if err := q.normalize(); err != nil {
		return err
	}
	if v.currentEmbedder() == nil || v.embedderResting() {
		return nil
	}
	if _, _, err = v.queryVector(ctx, keys, q.Text); err != nil && ctx.Err() == nil {
		v.embedderFailed(err)
	}
	return err
}
