package memory

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// gatedEmbedder blocks every Embed call until released, and says when the
// first one started.
type gatedEmbedder struct {
	*memtest.Embedder
	entered chan struct{}
	release chan struct{}
}

func (e *gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case e.entered <- struct{}{}:
	default:
	}
	select {
	case <-e.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.Embedder.Embed(ctx, texts)
}

// A search does not wait behind a catch-up that is busy embedding (a slow
// model, a large import arriving): it answers from what is indexed.
func TestSearchDoesNotWaitBehindCatchUp(t *testing.T) {
	ctx := context.Background()
	emb := &gatedEmbedder{Embedder: memtest.NewEmbedder(64), entered: make(chan struct{}, 1), release: make(chan struct{})}
	v, _, err := Create(ctx, testConfig(t, emb), testPass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	added := make(chan error, 1)
	go func() {
		_, err := v.Add(ctx, NewItem{Kind: Fact, Text: "the spare key is under the blue flowerpot"})
		added <- err
	}()
	<-emb.entered // the Add's catch-up now holds the index, embedding
	done := make(chan []Result, 1)
	go func() {
		res, err := v.Search(ctx, Query{Text: "flowerpot", Mode: Keyword})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		if len(res) != 1 {
			t.Errorf("keyword search during the catch-up found %d memories, want the one stored", len(res))
		}
	case err := <-added:
		t.Fatalf("the add returned (%v) before the search: the embedder was not holding it", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the search waited behind the catch-up")
	}
	close(emb.release)
	if err := <-added; err != nil {
		t.Fatal(err)
	}
}

// countingEmbedder counts the texts it embeds.
type countingEmbedder struct {
	*memtest.Embedder
	texts atomic.Int64
}

func (e *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.texts.Add(int64(len(texts)))
	return e.Embedder.Embed(ctx, texts)
}

// A query asked again is not embedded again (the embedding is most of a
// hybrid search's time), and finds the same; a lock forgets the queries.
func TestRepeatedQueryIsEmbeddedOnce(t *testing.T) {
	ctx := context.Background()
	emb := &countingEmbedder{Embedder: memtest.NewEmbedder(64)}
	cfg := testConfig(t, emb)
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	mustAdd(t, v, "my sister lives in Lisbon")
	before := emb.texts.Load()
	first, err := v.Search(ctx, Query{Text: "where does my sister live"})
	if err != nil || len(first) == 0 {
		t.Fatalf("first search: %v %v", first, err)
	}
	again, err := v.Search(ctx, Query{Text: "where does my sister live"})
	if err != nil || len(again) != len(first) || again[0].ID != first[0].ID {
		t.Fatalf("second search: %v %v, want %v", again, err, first)
	}
	if n := emb.texts.Load() - before; n != 1 {
		t.Fatalf("two searches of one query embedded %d texts, want 1", n)
	}
	v.Lock()
	if err := v.Unlock(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	before = emb.texts.Load()
	if _, err := v.Search(ctx, Query{Text: "where does my sister live"}); err != nil {
		t.Fatal(err)
	}
	if n := emb.texts.Load() - before; n != 1 {
		t.Fatalf("after a lock the query was embedded %d times, want 1 (the cache goes with the keys)", n)
	}
}
