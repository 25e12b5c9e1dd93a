package agent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// synonymEmbedder is the deterministic test embedder with a few words
// read as their synonyms, standing in for a model that knows a fiddle is a
// violin: what vector search finds and keywords cannot.
type synonymEmbedder struct {
	*memtest.Embedder
	same map[string]string
}

func (e synonymEmbedder) Model() string { return "memtest-synonyms" }

func (e synonymEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([]string, len(texts))
	for i, t := range texts {
		f := strings.Fields(strings.ToLower(t))
		for j, w := range f {
			if s, ok := e.same[strings.Trim(w, "?.!,")]; ok {
				f[j] = s
			}
		}
		out[i] = strings.Join(f, " ")
	}
	return e.Embedder.Embed(ctx, out)
}

// With an embedding model, chat recalls a past message by meaning (hybrid
// search over its passage embeddings); with none, by keyword only. A
// conversation deleted is never recalled again, by either.
func TestRecallFindsPastMessagesByMeaning(t *testing.T) {
	ctx := context.Background()
	emb := synonymEmbedder{memtest.NewEmbedder(64), map[string]string{"fiddle": "violin", "plays": "teaches"}}
	v := newVault(t, emb)
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("ok") })
	a := newAgent(t, v, b, Config{NoExtraction: true})
	conv, fact := pastChat(t, v, "Family news", time.Now().Add(-10*24*time.Hour), "My sister Ingrid teaches violin in Tromsø.")
	pastChat(t, v, "Weather", time.Now().Add(-9*24*time.Hour), "The weather in Bergen was rainy all week.")
	if err := v.EmbedPassages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	const question = "Who plays the fiddle?"
	turn, err := a.Chat(ctx, TurnRequest{Text: question}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(turn.Reply.RecalledIDs, fact[0]) {
		t.Fatalf("with an embedding model the message was not recalled by meaning: %v", turn.Reply.RecalledIDs)
	}

	if err := v.SetEmbedder(ctx, nil); err != nil {
		t.Fatal(err)
	}
	turn, err = a.Chat(ctx, TurnRequest{Text: question}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(turn.Reply.RecalledIDs, fact[0]) {
		t.Fatalf("keywords alone recalled a message sharing no word with the question; the test proves nothing: %v", turn.Reply.RecalledIDs)
	}

	if err := v.SetEmbedder(ctx, emb); err != nil {
		t.Fatal(err)
	}
	if err := v.DeleteConversation(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	turn, err = a.Chat(ctx, TurnRequest{Text: question}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := b.seen()
	if sys := reqs[len(reqs)-1].Messages[0].Content; slices.Contains(turn.Reply.RecalledIDs, fact[0]) || strings.Contains(sys, "Tromsø") {
		t.Fatalf("a deleted conversation was recalled (%v):\n%s", turn.Reply.RecalledIDs, sys)
	}
}

// Each reply queues embedding of the messages not embedded yet, in the
// background: the turn's own messages are then found by vector search.
func TestRepliesAreEmbeddedInTheBackground(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("a heron stands in the reeds") })
	a := newAgent(t, v, b, Config{NoExtraction: true})
	if _, err := a.Chat(ctx, TurnRequest{Text: "what bird did we see at the pond"}, nil); err != nil {
		t.Fatal(err)
	}
	if a.Busy() {
		t.Fatal("embedding past messages counts as work to wait for: `cairn chat` would wait for it")
	}
	if err := a.bg.waitFor(ctx, true); err != nil {
		t.Fatal(err)
	}
	st, err := v.EmbeddingStatus(ctx)
	if err != nil || st.MessagesTotal != 2 || st.MessagesEmbedded != 2 {
		t.Fatalf("after the reply and background work: %+v %v, want both messages embedded", st, err)
	}
}
