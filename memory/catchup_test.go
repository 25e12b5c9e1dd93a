package memory

import (
	"context"
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
