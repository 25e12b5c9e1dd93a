package api

import (
	"context"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/agent/ollamatest"
)

// Preparing a draft (the UI sends it while the person types) answers 204
// with the real model and embedder, stores no conversation or message,
// and refuses an empty draft or an unknown conversation with a reason.
func TestPrepareDraft(t *testing.T) {
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	ctx := context.Background()
	if err := f.vault.SetEmbedder(ctx, agent.NewEmbedder(agent.NewOllama("ollama", ollama.URL), ollamatest.Tiny)); err != nil {
		t.Fatal(err)
	}
	chatOnly, err := f.tokens.Create("chat-only", []string{ScopeChat})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{f.admin, chatOnly} {
		if r := f.do("POST", "/api/v1/chat/prepare", tok, strings.NewReader(`{"text":"what do you know about my sister"}`)); r.status != 204 {
			t.Fatalf("prepare: %d %s", r.status, r.body)
		}
	}
	if convs, err := f.vault.Conversations(ctx, 0); err != nil || len(convs) != 0 {
		t.Fatalf("preparing a draft stored %d conversations (%v)", len(convs), err)
	}
	r := f.do("POST", "/api/v1/chat/prepare", f.admin, strings.NewReader(`{"text":"  "}`))
	if r.status != 400 || !strings.Contains(r.body, "draft is empty") {
		t.Fatalf("an empty draft: %d %s", r.status, r.body)
	}
	r = f.do("POST", "/api/v1/chat/prepare", f.admin, strings.NewReader(`{"text":"hi","conversation_id":"0190aaaa-0000-7000-8000-00000000dead"}`))
	if r.status != 404 {
		t.Fatalf("a draft for a missing conversation: %d %s", r.status, r.body)
	}
}
