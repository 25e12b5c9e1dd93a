package agent

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
)

// countingEmbedder records every text it is asked to embed.
type countingEmbedder struct {
	memory.Embedder
	mu    sync.Mutex
	texts []string
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.texts = append(c.texts, texts...)
	c.mu.Unlock()
	return c.Embedder.Embed(ctx, texts)
}

func (c *countingEmbedder) asked(text string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.texts {
		if t == text {
			n++
		}
	}
	return n
}

// A draft prepared while the person types is embedded once: the turn sent
// with it finds the query's embedding ready and does not ask the model
// again, and still recalls the memory the draft is about.
func TestPreparedDraftIsNotEmbeddedAgain(t *testing.T) {
	ctx := context.Background()
	emb := &countingEmbedder{Embedder: memtest.NewEmbedder(32)}
	v := newVault(t, emb)
	if _, err := v.Add(ctx, memory.NewItem{Text: "My sister lives in Lisbon"}); err != nil {
		t.Fatal(err)
	}
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("Lisbon.") })
	a := newAgent(t, v, b, Config{NoExtraction: true, NoTools: true})
	const draft = "Where does my sister live?"
	if err := a.Prepare(ctx, PrepareRequest{Text: "  " + draft + " "}); err != nil {
		t.Fatal(err)
	}
	if n := emb.asked(draft); n != 1 {
		t.Fatalf("preparing the draft embedded it %d times, want 1", n)
	}
	if _, err := a.Chat(ctx, TurnRequest{Text: draft}, nil); err != nil {
		t.Fatal(err)
	}
	if n := emb.asked(draft); n != 1 {
		t.Fatalf("the turn embedded its prepared query again (%d embeddings in all)", n)
	}
	prompt := b.seen()[0].Messages
	if !slices.ContainsFunc(prompt, func(m Message) bool { return strings.Contains(m.Content, "Lisbon") }) {
		t.Fatalf("the prepared turn recalled nothing about Lisbon: %+v", prompt)
	}
}

// A client that may not read memory prepares no retrieval, and an empty
// draft is refused with a reason.
func TestPrepareRespectsLimits(t *testing.T) {
	ctx := context.Background()
	emb := &countingEmbedder{Embedder: memtest.NewEmbedder(32)}
	v := newVault(t, emb)
	a := newAgent(t, v, newScripted(func(int, ChatRequest) ChatResponse { return reply("ok") }), Config{NoExtraction: true})
	if err := a.Prepare(ctx, PrepareRequest{Text: "my sister", Limits: Limits{NoRecall: true}}); err != nil {
		t.Fatal(err)
	}
	if n := emb.asked("my sister"); n != 0 {
		t.Fatalf("a draft without recall was embedded %d times", n)
	}
	if err := a.Prepare(ctx, PrepareRequest{Text: "  "}); err == nil {
		t.Fatal("an empty draft was accepted")
	}
	if err := a.Prepare(ctx, PrepareRequest{Text: "hi", ConversationID: "nope"}); err == nil {
		t.Fatal("a draft for a conversation that does not exist was accepted")
	}
}
