package memory

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustConversation(t testing.TB, v *Vault, title string) Conversation {
	t.Helper()
	c, err := v.CreateConversation(context.Background(), NewConversation{Title: title, Model: "llama3.2:3b"})
	if err != nil {
		t.Fatalf("create conversation %q: %v", title, err)
	}
	return c
}

func mustMessage(t testing.TB, v *Vault, conv, parent string, role Role, content string) Message {
	t.Helper()
	m, err := v.AddMessage(context.Background(), NewMessage{ConversationID: conv, ParentID: parent, Role: role, Content: content})
	if err != nil {
		t.Fatalf("add %s message %q: %v", role, content, err)
	}
	return m
}

func conversationIDs(cs []Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestConversationsListByLatestActivity(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	a := mustConversation(t, v, "  Trip\nto   Lisbon ")
	if a.Title != "Trip to Lisbon" || a.Model != "llama3.2:3b" || a.Messages != 0 || a.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", a)
	}
	time.Sleep(2 * time.Millisecond)
	b := mustConversation(t, v, "Tomato pests")
	list, err := v.Conversations(ctx, 0)
	if err != nil || !slices.Equal(conversationIDs(list), []string{b.ID, a.ID}) {
		t.Fatalf("newest first: %v %v", conversationIDs(list), err)
	}
	time.Sleep(2 * time.Millisecond)
	m := mustMessage(t, v, a.ID, "", RoleUser, "Which trams go to Belém?")
	list, _ = v.Conversations(ctx, 0)
	if !slices.Equal(conversationIDs(list), []string{a.ID, b.ID}) || list[0].Messages != 1 || !list[0].UpdatedAt.Equal(m.CreatedAt) {
		t.Fatalf("a new message moves its conversation up: %+v", list)
	}
	if one, _ := v.Conversations(ctx, 1); len(one) != 1 || one[0].ID != a.ID {
		t.Fatalf("limit 1: %+v", one)
	}
	time.Sleep(2 * time.Millisecond)
	title := "Aphids on the tomatoes"
	renamed, err := v.EditConversation(ctx, b.ID, ConversationPatch{Title: &title})
	if err != nil || renamed.Title != title || renamed.Messages != 0 {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	list, _ = v.Conversations(ctx, 0)
	if !slices.Equal(conversationIDs(list), []string{b.ID, a.ID}) || list[0].Title != title {
		t.Fatalf("a rename moves its conversation up: %+v", list)
	}

	v.Close()
	v = openTestVault(t, cfg)
	got, err := v.Conversation(ctx, a.ID)
	if err != nil || got.Title != a.Title || got.Messages != 1 || !got.UpdatedAt.Equal(m.CreatedAt) {
		t.Fatalf("after reopening: %+v %v", got, err)
	}
	if _, err := v.Conversation(ctx, "0190aaaa-0000-7000-8000-00000000dead"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
	mem := mustAdd(t, v, "a memory, not a conversation")
	if _, err := v.Conversation(ctx, mem.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a memory's id as a conversation: %v", err)
	}
	if _, err := v.Get(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a conversation's id as a memory: %v", err)
	}
}

func TestMessageBranches(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	c := mustConversation(t, v, "Branches")
	q := mustMessage(t, v, c.ID, "", RoleUser, "Name a river in Portugal")
	first := mustMessage(t, v, c.ID, q.ID, RoleAssistant, "The Tagus")
	// Regenerated reply: a sibling under the same question.
	second, err := v.AddMessage(ctx, NewMessage{
		ConversationID: c.ID, ParentID: q.ID, Role: RoleAssistant, Content: "The Douro", Model: "qwen3:8b",
		MemoryIDs: []string{"mem-1", "mem-2"}, Stats: &MessageStats{PromptTokens: 120, OutputTokens: 4, FirstTokenMS: 80, TotalMS: 200},
	})
	if err != nil {
		t.Fatal(err)
	}
	follow := mustMessage(t, v, c.ID, first.ID, RoleUser, "How long is it?")
	call, err := v.AddMessage(ctx, NewMessage{ConversationID: c.ID, ParentID: follow.ID, Role: RoleAssistant,
		ToolCalls: []ToolCall{{ID: "call-1", Name: "search_memory", Arguments: json.RawMessage(`{"query":"Tagus"}`)}}})
	if err != nil {
		t.Fatalf("an assistant message with tool calls and no content: %v", err)
	}
	result := mustMessage(t, v, c.ID, call.ID, RoleTool, "1,007 km")
	if _, err := v.AddMessage(ctx, NewMessage{ConversationID: c.ID, ParentID: result.ID, Role: RoleAssistant, Incomplete: true}); err != nil {
		t.Fatalf("an empty reply cut short: %v", err)
	}

	msgs, err := v.Messages(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 7 {
		t.Fatalf("%d messages, want 7", len(msgs))
	}
	for i := 1; i < len(msgs); i++ {
		a, b := msgs[i-1], msgs[i]
		if a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID) {
			t.Fatalf("messages out of order at %d: %v %s, %v %s", i, a.CreatedAt, a.ID, b.CreatedAt, b.ID)
		}
	}
	wantIDs := []string{q.ID, first.ID, second.ID, follow.ID, call.ID, result.ID}
	if got := []string{msgs[0].ID, msgs[1].ID, msgs[2].ID, msgs[3].ID, msgs[4].ID, msgs[5].ID}; !slices.Equal(got, wantIDs) {
		t.Fatalf("order %v, want %v", got, wantIDs)
	}
	if msgs[1].ParentID != q.ID || msgs[2].ParentID != q.ID || msgs[0].ParentID != "" {
		t.Fatalf("two branches under one question: %+v", msgs[:3])
	}
	got := msgs[2]
	if got.Model != "qwen3:8b" || !slices.Equal(got.MemoryIDs, []string{"mem-1", "mem-2"}) || got.Stats == nil || got.Stats.TotalMS != 200 || got.ConversationID != c.ID {
		t.Fatalf("message fields: %+v", got)
	}
	if tc := msgs[4].ToolCalls; len(tc) != 1 || tc[0].Name != "search_memory" || string(tc[0].Arguments) != `{"query":"Tagus"}` {
		t.Fatalf("tool calls: %+v", msgs[4])
	}
	if one, err := v.Message(ctx, result.ID); err != nil || one.Content != "1,007 km" || one.Role != RoleTool {
		t.Fatalf("Message: %+v %v", one, err)
	}
	if conv, _ := v.Conversation(ctx, c.ID); conv.Messages != 7 {
		t.Fatalf("conversation counts %d messages, want 7", conv.Messages)
	}
}

func TestAddMessageRefusals(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	a := mustConversation(t, v, "A")
	b := mustConversation(t, v, "B")
	inA := mustMessage(t, v, a.ID, "", RoleUser, "hello")
	cases := []struct {
		name string
		n    NewMessage
		want error
	}{
		{"unknown conversation", NewMessage{ConversationID: "0190aaaa-0000-7000-8000-00000000dead", Role: RoleUser, Content: "hi"}, ErrNotFound},
		{"a memory as conversation", NewMessage{ConversationID: mustAdd(t, v, "memory").ID, Role: RoleUser, Content: "hi"}, ErrNotFound},
		{"parent from another conversation", NewMessage{ConversationID: b.ID, ParentID: inA.ID, Role: RoleUser, Content: "hi"}, ErrInvalid},
		{"parent that does not exist", NewMessage{ConversationID: a.ID, ParentID: "0190aaaa-0000-7000-8000-00000000dead", Role: RoleUser, Content: "hi"}, ErrInvalid},
		{"parent is a conversation", NewMessage{ConversationID: a.ID, ParentID: a.ID, Role: RoleUser, Content: "hi"}, ErrInvalid},
		{"bad role", NewMessage{ConversationID: a.ID, Role: "narrator", Content: "hi"}, ErrInvalid},
		{"no role", NewMessage{ConversationID: a.ID, Content: "hi"}, ErrInvalid},
		{"empty user message", NewMessage{ConversationID: a.ID, Role: RoleUser, Content: " \n"}, ErrInvalid},
		{"empty assistant message", NewMessage{ConversationID: a.ID, Role: RoleAssistant}, ErrInvalid},
		{"not UTF-8", NewMessage{ConversationID: a.ID, Role: RoleUser, Content: "\xff"}, ErrInvalid},
		{"over 1 MiB", NewMessage{ConversationID: a.ID, Role: RoleUser, Content: strings.Repeat("x", MaxMessageBytes+1)}, ErrInvalid},
		{"tool calls from the user", NewMessage{ConversationID: a.ID, Role: RoleUser, Content: "hi", ToolCalls: []ToolCall{{Name: "x"}}}, ErrInvalid},
		{"tool call arguments not JSON", NewMessage{ConversationID: a.ID, Role: RoleAssistant, ToolCalls: []ToolCall{{Name: "x", Arguments: json.RawMessage(`{`)}}}, ErrInvalid},
		{"tool call without a name", NewMessage{ConversationID: a.ID, Role: RoleAssistant, ToolCalls: []ToolCall{{}}}, ErrInvalid},
		{"tool name on a user message", NewMessage{ConversationID: a.ID, Role: RoleUser, Content: "hi", ToolName: "x"}, ErrInvalid},
		{"bad memory id", NewMessage{ConversationID: a.ID, Role: RoleAssistant, Content: "hi", MemoryIDs: []string{"no spaces"}}, ErrInvalid},
		{"negative stats", NewMessage{ConversationID: a.ID, Role: RoleAssistant, Content: "hi", Stats: &MessageStats{TotalMS: -1}}, ErrInvalid},
	}
	before := vaultState(t, v)
	for _, c := range cases {
		_, err := v.AddMessage(ctx, c.n)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		if len(err.Error()) < 30 {
			t.Errorf("%s: message %q does not say what was wrong", c.name, err)
		}
	}
	if after := vaultState(t, v); !slices.Equal(before, after) {
		t.Fatal("a refused message changed the vault")
	}
	// Conversation edits are checked too.
	bad := "\x00"
	other := inA.ID
	for name, p := range map[string]ConversationPatch{
		"control in title":                  {Title: &bad},
		"summary through another's message": {SummaryThrough: &other},
	} {
		if _, err := v.EditConversation(ctx, b.ID, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if after := vaultState(t, v); !slices.Equal(before, after) {
		t.Fatal("a refused conversation edit changed the vault")
	}
	summary, through := "They said hello.", inA.ID
	c, err := v.EditConversation(ctx, a.ID, ConversationPatch{Summary: &summary, SummaryThrough: &through})
	if err != nil || c.Summary != summary || c.SummaryThrough != through || c.Messages != 1 {
		t.Fatalf("summary: %+v %v", c, err)
	}
}

func TestDeleteConversationTakesItsMessages(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	doomed := mustConversation(t, v, "Doomed")
	kept := mustConversation(t, v, "Kept")
	q := mustMessage(t, v, doomed.ID, "", RoleUser, "my passport number is in the drawer")
	r := mustMessage(t, v, doomed.ID, q.ID, RoleAssistant, "Noted: the drawer")
	k := mustMessage(t, v, kept.ID, "", RoleUser, "where is the drawer with the spoons")
	if res, _ := v.SearchMessages(ctx, MessageQuery{Text: "drawer"}); len(res) != 3 {
		t.Fatalf("before: %d messages found, want 3", len(res))
	}
	if err := v.DeleteConversation(ctx, doomed.ID); err != nil {
		t.Fatal(err)
	}
	check := func(v *Vault) {
		t.Helper()
		if _, err := v.Conversation(ctx, doomed.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted conversation: %v", err)
		}
		if _, err := v.Messages(ctx, doomed.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("messages of a deleted conversation: %v", err)
		}
		for _, id := range []string{q.ID, r.ID} {
			if _, err := v.Message(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("message of a deleted conversation: %v", err)
			}
		}
		var live, tombs, revs int
		v.db.QueryRow("SELECT count(*) FROM records WHERE id IN (?, ?, ?) AND deleted = 0", doomed.ID, q.ID, r.ID).Scan(&live)
		v.db.QueryRow("SELECT count(*) FROM records WHERE id IN (?, ?, ?) AND deleted = 1 AND sealed IS NULL", doomed.ID, q.ID, r.ID).Scan(&tombs)
		v.db.QueryRow("SELECT count(*) FROM revisions WHERE id IN (?, ?, ?)", doomed.ID, q.ID, r.ID).Scan(&revs)
		if live != 0 || tombs != 3 || revs != 0 {
			t.Fatalf("live %d, tombstones %d, revisions %d; want 0, 3, 0", live, tombs, revs)
		}
		res, err := v.SearchMessages(ctx, MessageQuery{Text: "drawer"})
		if err != nil || len(res) != 1 || res[0].Message.ID != k.ID {
			t.Fatalf("search after delete: %+v %v", res, err)
		}
		list, _ := v.Conversations(ctx, 0)
		if len(list) != 1 || list[0].ID != kept.ID || list[0].Messages != 1 {
			t.Fatalf("conversations after delete: %+v", list)
		}
	}
	check(v)
	v.Close()
	v = openTestVault(t, cfg)
	check(v)
	if err := v.DeleteConversation(ctx, doomed.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
}

// Messages are keyword-searchable on their own; memory search never
// returns them, in any mode.
func TestMessageSearchIsApartFromMemorySearch(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	c := mustConversation(t, v, "Fruit")
	user := mustMessage(t, v, c.ID, "", RoleUser, "Are persimmons ripe in November?")
	reply := mustMessage(t, v, c.ID, user.ID, RoleAssistant, "Yes, persimmons ripen in late autumn.")
	mustMessage(t, v, c.ID, reply.ID, RoleSystem, "persimmons system prompt")
	mustMessage(t, v, c.ID, reply.ID, RoleTool, "persimmons tool output")
	mem := mustAdd(t, v, "Grows persimmons in the garden")
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		res, err := v.Search(ctx, Query{Text: "persimmons ripe November", Mode: mode, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].ID != mem.ID {
			t.Fatalf("%s memory search returned %+v; want the memory only", mode, res)
		}
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "persimmons November"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Message.ID != user.ID || res[1].Message.ID != reply.ID {
		t.Fatalf("message search: %+v; want the user's then the assistant's (system and tool messages are not indexed)", res)
	}
	if res[0].Score <= res[1].Score || !strings.Contains(res[0].Snippet, "persimmons") || res[0].Message.ConversationID != c.ID {
		t.Fatalf("scores and snippets: %+v", res)
	}
	if res, _ := v.SearchMessages(ctx, MessageQuery{Text: "garden"}); len(res) != 0 {
		t.Fatalf("message search returned a memory: %+v", res)
	}
	if _, err := v.SearchMessages(ctx, MessageQuery{Text: "  "}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty message query: %v", err)
	}
}

// Listings read only the head of a message when it comes first, and the
// whole payload otherwise; both give the same answer.
func TestReadMessageHead(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	p := messagePayload{ConversationID: "conv-1", CreatedAt: at, Role: RoleUser, Content: `he said "hi"`}
	raw, _ := json.Marshal(&p)
	if _, ok := fastMessageHead(raw); !ok {
		t.Fatalf("the payload this build writes does not take the fast path: %s", raw)
	}
	for _, raw := range []string{
		string(raw),
		`{"role":"user","content":"x","created_at":"2026-01-02T03:04:05.006Z","conversation_id":"conv-1"}`,
		`{"conversation_id":"conv-1","role":"user","created_at":"2026-01-02T03:04:05.006Z"}`,
		`{"conversation_id":"conv\u002d1","created_at":"2026-01-02T03:04:05.006Z"}`,
		`{ "conversation_id" : "conv-1", "created_at" : "2026-01-02T03:04:05.006Z" }`,
	} {
		h, err := readMessageHead([]byte(raw))
		if err != nil || h.ConversationID != "conv-1" || !h.CreatedAt.Equal(at) {
			t.Errorf("%s: %+v %v", raw, h, err)
		}
	}
}
