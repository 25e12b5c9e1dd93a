package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// memoryModel is a scripted model that tries everything with memory it
// can: asked to extract, it proposes a memory quoting the person; asked to
// chat, it calls remember and forget (offered or not); given the results,
// it answers. The tiny real model never calls tools.
type memoryModel struct {
	toolModel
	forgetID string

	mu   sync.Mutex
	reqs []agent.ChatRequest
}

func (b *memoryModel) Chat(ctx context.Context, req agent.ChatRequest, onDelta func(agent.Delta)) (agent.ChatResponse, error) {
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	b.mu.Unlock()
	if req.Format != nil {
		out := `{"memories":[{"text":"Keeps bees on the roof","kind":"fact","source":"stated","source_quote":"I keep bees"}]}`
		return agent.ChatResponse{Message: agent.Message{Role: "assistant", Content: out}, DoneReason: "stop"}, nil
	}
	if last := req.Messages[len(req.Messages)-1]; last.Role == "tool" {
		onDelta(agent.Delta{Content: "Done."})
		return agent.ChatResponse{Message: agent.Message{Role: "assistant", Content: "Done."}, DoneReason: "stop"}, nil
	}
	calls := []agent.ToolCall{
		{ID: "c1", Name: "remember", Arguments: json.RawMessage(`{"text":"Likes the open sea"}`)},
		{ID: "c2", Name: "forget", Arguments: json.RawMessage(`{"id":"` + b.forgetID + `"}`)},
	}
	return agent.ChatResponse{Message: agent.Message{Role: "assistant", ToolCalls: calls}, DoneReason: "stop"}, nil
}

// saw reports whether any chat request (not extraction) matched.
func (b *memoryModel) saw(match func(agent.ChatRequest) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.ContainsFunc(b.reqs, func(r agent.ChatRequest) bool { return r.Format == nil && match(r) })
}

// TestScopesComposeOnEveryChatPath: with every scope, on the native chat,
// regenerate and /v1/chat/completions, memories reach the prompt only with
// memory:read, the model's remember and forget work only with
// memory:write, and extraction stores only with memory:learn.
func TestScopesComposeOnEveryChatPath(t *testing.T) {
	scopes := [][]string{
		{ScopeChat},
		{ScopeChat, ScopeMemoryRead},
		{ScopeChat, ScopeMemoryWrite},
		{ScopeChat, ScopeMemoryLearn},
		{ScopeChat, ScopeConversationsWrite},
		{ScopeAdmin},
	}
	const said = "I keep bees and paddle my kayak"
	paths := map[string]func(f *oaiFixture, tok string) (int, string){
		"POST /api/v1/chat": func(f *oaiFixture, tok string) (int, string) {
			r := f.do("POST", "/api/v1/chat", tok, strings.NewReader(`{"text":"`+said+`","model":"caller"}`))
			return r.status, r.body
		},
		"POST /api/v1/messages/{id}/regenerate": func(f *oaiFixture, tok string) (int, string) {
			// The first answer comes from a turn that may do nothing.
			first, err := f.agent.Chat(context.Background(), agent.TurnRequest{Text: said, Model: "caller",
				Limits: agent.Limits{NoRecall: true, NoMemoryWrite: true, NoExtraction: true}}, nil)
			if err != nil {
				f.t.Fatal(err)
			}
			f.agent.Wait(context.Background())
			f.backend().mu.Lock()
			f.backend().reqs = nil
			f.backend().mu.Unlock()
			r := f.do("POST", "/api/v1/messages/"+first.Reply.ID+"/regenerate", tok, strings.NewReader(`{}`))
			return r.status, r.body
		},
		"POST /v1/chat/completions": func(f *oaiFixture, tok string) (int, string) {
			r := f.do("POST", "/v1/chat/completions", tok, strings.NewReader(`{"model":"caller","messages":[{"role":"user","content":"`+said+`"}]}`))
			return r.status, r.body
		},
	}
	for path, run := range paths {
		for _, sc := range scopes {
			t.Run(path+" "+strings.Join(sc, ","), func(t *testing.T) {
				ctx := testCtx(t)
				m := &memoryModel{}
				f := newOAIFixture(t, m, "caller")
				f.model = m
				kayak, err := f.vault.Add(ctx, memory.NewItem{Text: "Owns a red kayak"})
				if err != nil {
					t.Fatal(err)
				}
				m.forgetID = kayak.ID
				tok := f.admin
				if !slices.Contains(sc, ScopeAdmin) {
					if tok, err = f.tokens.Create("client", sc); err != nil {
						t.Fatal(err)
					}
				}
				if code, body := run(f, tok); code != 200 {
					t.Fatalf("%s: %d %s", path, code, body)
				}
				if err := f.agent.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				has := func(s string) bool { return (Token{Scopes: sc}).Has(s) }

				recalled := m.saw(func(r agent.ChatRequest) bool {
					return slices.ContainsFunc(r.Messages, func(x agent.Message) bool { return strings.Contains(x.Content, "red kayak") })
				})
				if recalled != has(ScopeMemoryRead) {
					t.Errorf("a memory entered the prompt: %v; the token has memory:read: %v", recalled, has(ScopeMemoryRead))
				}
				offered := m.saw(func(r agent.ChatRequest) bool {
					return slices.ContainsFunc(r.Tools, func(x agent.Tool) bool { return x.Name == "remember" || x.Name == "forget" })
				})
				if offered != has(ScopeMemoryWrite) {
					t.Errorf("remember/forget offered: %v; memory:write: %v", offered, has(ScopeMemoryWrite))
				}
				items, _ := f.vault.List(ctx, memory.ListOptions{})
				texts := []string{}
				for _, it := range items {
					texts = append(texts, it.Text)
				}
				remembered := slices.Contains(texts, "Likes the open sea")
				forgotten := !slices.Contains(texts, "Owns a red kayak")
				if remembered != has(ScopeMemoryWrite) || forgotten != has(ScopeMemoryWrite) {
					t.Errorf("the model's remember worked: %v, its forget: %v; memory:write: %v (memories %q)", remembered, forgotten, has(ScopeMemoryWrite), texts)
				}
				if forgotten {
					// A model's forget is soft: the person can restore it.
					gone, _ := f.vault.Forgotten(ctx)
					if !slices.ContainsFunc(gone, func(it memory.Item) bool { return it.ID == kayak.ID }) {
						t.Errorf("the model's forget was final")
					}
				}
				if learned := slices.Contains(texts, "Keeps bees on the roof"); learned != has(ScopeMemoryLearn) {
					t.Errorf("extraction stored a memory: %v; memory:learn: %v", learned, has(ScopeMemoryLearn))
				}
			})
		}
	}
}

// TestClientForgetIsSoft: DELETE by a client's token hides a memory,
// restorably; the person's own (an admin token) erases it.
func TestClientForgetIsSoft(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _ := f.vault.Add(ctx, memory.NewItem{Text: "Grows tomatoes"})
	b, _ := f.vault.Add(ctx, memory.NewItem{Text: "Plays the cello"})
	writer, _ := f.tokens.Create("writer", []string{ScopeMemoryWrite})
	if r := f.do("DELETE", "/api/v1/memories/"+a.ID, writer, nil); r.status != http.StatusNoContent {
		t.Fatalf("client forget: %d %s", r.status, r.body)
	}
	if r := f.do("DELETE", "/api/v1/memories/"+b.ID, f.admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("person's forget: %d %s", r.status, r.body)
	}
	gone, _ := f.vault.Forgotten(ctx)
	ids := []string{}
	for _, it := range gone {
		ids = append(ids, it.ID)
	}
	if !slices.Contains(ids, a.ID) || slices.Contains(ids, b.ID) {
		t.Fatalf("restorable after forget: %v; want the client's (%s) only", ids, a.ID)
	}
}
