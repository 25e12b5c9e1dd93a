package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
	"github.com/google/uuid"
)

// pastChat stores a conversation whose turns were written at the given
// time (one minute apart), as an import does.
func pastChat(t *testing.T, v *memory.Vault, title string, at time.Time, turns ...string) (memory.Conversation, []string) {
	t.Helper()
	ctx := context.Background()
	conv, err := v.CreateConversation(ctx, memory.NewConversation{Title: title})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	parent := ""
	for i, text := range turns {
		role := memory.RoleUser
		if i%2 == 1 {
			role = memory.RoleAssistant
		}
		raw, _ := json.Marshal(map[string]any{"conversation_id": conv.ID, "created_at": at.Add(time.Duration(i) * time.Minute).UTC(), "parent_id": parent, "role": role, "content": text})
		id := uuid.Must(uuid.NewV7()).String()
		res, err := v.ApplyPlain(ctx, []memory.PlainRecord{{ID: id, Kind: memory.KindMessage, Clock: memory.Clock(uint64(time.Now().UnixMilli()) << 16), Origin: v.DeviceID(), Schema: 1, Payload: raw}}, false)
		if err != nil || res[0].Err != nil {
			t.Fatalf("store past message: %v %+v", err, res)
		}
		ids = append(ids, id)
		parent = id
	}
	return conv, ids
}

// A fact said in one conversation, never extracted, reaches the prompt of
// a question asked in another: checked on the request the real Ollama
// receives, with the message's date and its conversation's title and id.
func TestRealRecallFromAnotherConversation(t *testing.T) {
	ctx := testCtx(t)
	rec := newRecorder(t, srv.URL)
	u, _ := url.Parse(rec.URL)
	v := newVault(t, nil)
	said := time.Date(2026, 5, 3, 18, 0, 0, 0, time.UTC)
	conv, ids := pastChat(t, v, "Family news", said,
		"My sister Ingrid moved to Tromsø and teaches violin there now.", "That is a long way north!")
	a := newAgent(t, v, NewOllama("ollama", u), Config{Model: ollamatest.Tiny, NumPredict: 8, Temperature: &zero, Seed: 7, NoExtraction: true})
	turn, err := a.Chat(ctx, TurnRequest{Text: "Where does my sister Ingrid live now?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if turn.Conversation.ID == conv.ID {
		t.Fatal("the question went into the old conversation")
	}
	sys := rec.system(t, 0)
	for _, want := range []string{"Tromsø", "2026-05-03", `"Family news"`, conv.ID, ids[0], "Today is " + time.Now().Format("Monday, 2 January 2006")} {
		if !strings.Contains(sys, want) {
			t.Fatalf("the prompt Ollama received lacks %q:\n%s", want, sys)
		}
	}
	if !slices.Contains(turn.Reply.RecalledIDs, ids[0]) {
		t.Fatalf("the reply does not keep which messages it was shown: %v", turn.Reply.RecalledIDs)
	}
	stored, err := v.Message(ctx, turn.Reply.ID)
	if err != nil || !slices.Contains(stored.RecalledIDs, ids[0]) {
		t.Fatalf("stored reply lost its provenance: %+v %v", stored, err)
	}
}

// A remote backend without allow_memory is sent no recalled message.
func TestRealRemoteBackendGetsNoPastMessagesUnlessAllowed(t *testing.T) {
	ctx := testCtx(t)
	rec := newRecorder(t, srv.URL)
	u, _ := url.Parse(rec.URL)
	v := newVault(t, nil)
	pastChat(t, v, "Canary", time.Now().Add(-72*time.Hour), "the canary word is zanzibarite, keep it secret")
	lab := NewOllama("lab", u)
	bs, err := NewBackends(lab)
	if err != nil {
		t.Fatal(err)
	}
	bs.MarkRemote("lab")
	cfg := realConfig(ollamatest.Tiny)
	cfg.NoExtraction = true
	a := New(v, bs, cfg)
	defer a.Close()
	if _, err := a.Chat(ctx, TurnRequest{Text: "what is the canary word?"}, nil); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	for i, b := range rec.bodies {
		if bytes.Contains(b, []byte("zanzibarite")) {
			t.Errorf("request %d to a remote backend without permission carried a past message", i)
		}
	}
	n := len(rec.bodies)
	rec.mu.Unlock()
	bs.AllowMemory("lab", true)
	if _, err := a.Chat(ctx, TurnRequest{Text: "what is the canary word?"}, nil); err != nil {
		t.Fatal(err)
	}
	if sys := rec.system(t, n); !strings.Contains(sys, "zanzibarite") {
		t.Fatalf("an allowed remote backend got no recall: %q", sys)
	}
}

// Messages of the current conversation that are in the window are not
// repeated in the recall block; other conversations' are recalled.
func TestRecallSkipsTheCurrentWindow(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("noted") })
	a := newAgent(t, v, b, Config{NoExtraction: true})
	other, otherIDs := pastChat(t, v, "Bikes", time.Now().Add(-30*24*time.Hour), "my old bicycle was a red Peugeot")
	first, err := a.Chat(ctx, TurnRequest{Text: "my new bicycle is a green Gazelle"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	turn, err := a.Chat(ctx, TurnRequest{ConversationID: first.Conversation.ID, Text: "which bicycle do I ride?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := b.seen()
	sys := reqs[len(reqs)-1].Messages[0].Content
	if slices.Contains(turn.Reply.RecalledIDs, first.User.ID) || strings.Contains(sys, "["+first.User.ID+"]") {
		t.Fatalf("a message in the window was recalled again:\n%s", sys)
	}
	if !slices.Contains(turn.Reply.RecalledIDs, otherIDs[0]) || !strings.Contains(sys, other.ID) {
		t.Fatalf("the other conversation's message was not recalled (%v):\n%s", turn.Reply.RecalledIDs, sys)
	}
	for _, id := range turn.Reply.RecalledIDs {
		if id == turn.User.ID {
			t.Fatal("the message being answered was recalled")
		}
	}
}

// A question that names a time recalls what was said then first.
func TestRecallNarrowsByTheTimeTheQuestionNames(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("ok") })
	a := newAgent(t, v, b, Config{NoExtraction: true})
	now := time.Now()
	lastYear := now.Year() - 1
	_, inMay := pastChat(t, v, "Spring trip", time.Date(lastYear, 5, 12, 9, 0, 0, 0, time.Local), "we visited the museum of glass")
	_, inSep := pastChat(t, v, "Autumn trip", time.Date(lastYear, 9, 20, 9, 0, 0, 0, time.Local), "we visited the museum of glass and the museum of clocks")
	turn, err := a.Chat(ctx, TurnRequest{Text: "which museum did we visit in May " + time.Date(lastYear, 1, 1, 0, 0, 0, 0, time.Local).Format("2006") + "?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(turn.Reply.RecalledIDs) == 0 || turn.Reply.RecalledIDs[0] != inMay[0] || slices.Contains(turn.Reply.RecalledIDs, inSep[0]) {
		t.Fatalf("recalled %v, want the May message %s only", turn.Reply.RecalledIDs, inMay[0])
	}
	// Without the time, both are recalled.
	turn, err = a.Chat(ctx, TurnRequest{Text: "which museum did we visit?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(turn.Reply.RecalledIDs, inMay[0]) || !slices.Contains(turn.Reply.RecalledIDs, inSep[0]) {
		t.Fatalf("recalled %v, want both trips", turn.Reply.RecalledIDs)
	}
}
