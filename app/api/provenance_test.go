package api

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// A reply's provenance: the past messages it was shown, with their
// conversation's title and date for the link under the reply; nothing
// for a token without memory:read; nothing once that past is deleted.
func TestRecalledMessagesOfAReply(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	garden, _ := f.vault.CreateConversation(ctx, memory.NewConversation{Title: "Garden"})
	said, err := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: garden.ID, Role: memory.RoleUser, Content: "I grow tomatoes on my balcony."})
	if err != nil {
		t.Fatal(err)
	}
	now, _ := f.vault.CreateConversation(ctx, memory.NewConversation{Title: "Today"})
	q, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: now.ID, Role: memory.RoleUser, Content: "What do I grow?"})
	reply, err := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: now.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "Tomatoes.", RecalledIDs: []string{said.ID}})
	if err != nil {
		t.Fatal(err)
	}
	recalled := func(token string) []recalledMessage {
		t.Helper()
		r := f.do("GET", "/api/v1/messages/"+reply.ID+"/recalled", token, nil)
		if r.status != 200 {
			t.Fatalf("recalled: %d %s", r.status, r.body)
		}
		var out struct {
			Recalled []recalledMessage `json:"recalled"`
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil || out.Recalled == nil {
			t.Fatalf("recalled: %s (%v), want a list", r.body, err)
		}
		return out.Recalled
	}
	got := recalled(f.admin)
	if len(got) != 1 || got[0].ID != said.ID || got[0].ConversationID != garden.ID || got[0].ConversationTitle != "Garden" || !got[0].CreatedAt.Equal(said.CreatedAt) || got[0].Role != memory.RoleUser {
		t.Fatalf("recalled: %+v, want the Garden message with its date", got)
	}
	chatOnly, err := f.tokens.Create("chat-only", []string{ScopeChat})
	if err != nil {
		t.Fatal(err)
	}
	if got := recalled(chatOnly); len(got) != 0 {
		t.Errorf("a token without memory:read saw %+v", got)
	}
	if err := f.vault.DeleteConversation(ctx, garden.ID); err != nil {
		t.Fatal(err)
	}
	if got := recalled(f.admin); len(got) != 0 {
		t.Errorf("a deleted conversation is still shown: %+v", got)
	}
	if r := f.do("GET", "/api/v1/messages/nope/recalled", f.admin, nil); r.status != 404 {
		t.Errorf("an unknown reply: %d %s, want 404", r.status, r.body)
	}
}
