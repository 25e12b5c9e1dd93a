package api

import (
	"context"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
)

// TestChatStreamStartsWithWhereItIsStored: a streamed chat names the
// conversation and the person's stored message before the first word, and
// the words that follow are the reply stored.
func TestChatStreamStartsWithWhereItIsStored(t *testing.T) {
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	c, err := client.New(client.Config{BaseURL: f.srv.URL, Token: f.admin})
	if err != nil {
		t.Fatal(err)
	}
	var events []client.ChatEvent
	var text strings.Builder
	turn, err := c.Chat(testCtx(t), apitype.ChatRequest{Text: "Hello there"}, func(ev client.ChatEvent) {
		events = append(events, ev)
		text.WriteString(ev.Text)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 2 || events[0].Start == nil {
		t.Fatalf("want a start event, then the reply: %+v", events)
	}
	for _, ev := range events[1:] {
		if ev.Start != nil {
			t.Fatalf("a second start event: %+v", events)
		}
	}
	if st := events[0].Start; st.ConversationID != turn.Conversation.ID || st.MessageID != turn.User.ID || st.ConversationID == "" {
		t.Fatalf("start %+v, turn %+v", st, turn)
	}
	if text.String() != turn.Reply.Content || turn.Reply.Incomplete {
		t.Fatalf("streamed %q, stored %+v", text.String(), turn.Reply)
	}
}

// TestInProcessChatStoppedIsStoredWhenItReturns: through the in-process
// client (the CLI with no owner), a reply stopped part way is in the vault,
// marked incomplete, by the time Chat returns, so the command can go on in
// the conversation or close the vault.
func TestInProcessChatStoppedIsStoredWhenItReturns(t *testing.T) {
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	srv := New(Config{Vault: f.vault, Agent: f.agent, Backends: f.agent.Backends(), Tokens: f.tokens})
	c := client.InProcess(srv.InProcess())
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	turn, err := c.Chat(ctx, apitype.ChatRequest{Text: "Write a long story"}, func(ev client.ChatEvent) {
		if ev.Text != "" {
			cancel() // Ctrl-C at the first word
		}
	})
	if err != context.Canceled || turn.Conversation.ID == "" {
		t.Fatalf("turn %+v, err %v: want the start event's conversation and a cancel", turn, err)
	}
	msgs, err := f.vault.Messages(context.Background(), turn.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != turn.User.ID || !msgs[1].Incomplete {
		t.Fatalf("stored %+v: want the message and the stopped reply", msgs)
	}
}
