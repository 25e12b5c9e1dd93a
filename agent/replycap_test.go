package agent

import (
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
)

// TestReplyCapDefaultsToAQuarterOfTheWindow: with no cap set, a reply that
// would run on (the tiny model's random words seldom end) stops at a
// quarter of the window, and the stored reply says it stopped at the
// limit; a cap set while the agent runs applies to the next turn.
func TestReplyCapDefaultsToAQuarterOfTheWindow(t *testing.T) {
	ctx := testCtx(t)
	v := newVault(t, nil)
	a := newAgent(t, v, ollamaBackend(), Config{Model: ollamatest.Tiny, NumCtx: map[string]int{ollamatest.Tiny: 512}, Temperature: &zero, Seed: 7, NoExtraction: true, NoTools: true})
	turn, err := a.Chat(ctx, TurnRequest{Text: "Write a very long essay about mountains."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := turn.Reply.Stats
	if turn.DoneReason != "length" {
		t.Skipf("the model ended its reply by itself (%q, %d tokens); nothing to check", turn.DoneReason, st.OutputTokens)
	}
	if st.Limit != 512/DefaultReplyCap || st.OutputTokens > st.Limit {
		t.Fatalf("stats %+v: want a stop at the default cap %d", st, 512/DefaultReplyCap)
	}
	stored, err := v.Message(ctx, turn.Reply.ID)
	if err != nil || stored.Stats == nil || stored.Stats.Limit != st.Limit {
		t.Fatalf("the stored reply does not say it hit the limit: %+v, %v", stored.Stats, err)
	}

	a.SetReplyCap(8)
	turn, err = a.Chat(ctx, TurnRequest{ConversationID: turn.Conversation.ID, Text: "Go on."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if turn.DoneReason == "length" && (turn.Reply.Stats.Limit != 8 || turn.Reply.Stats.OutputTokens > 8) {
		t.Fatalf("after SetReplyCap(8): stats %+v", turn.Reply.Stats)
	}
}

func TestReplyCap(t *testing.T) {
	for _, c := range []struct{ setting, numCtx, want int }{{0, 4096, 1024}, {0, 32768, 8192}, {300, 4096, 300}, {0, 100, 64}} {
		if got := ReplyCap(c.setting, c.numCtx); got != c.want {
			t.Errorf("ReplyCap(%d, %d) = %d, want %d", c.setting, c.numCtx, got, c.want)
		}
	}
}

// TestSetExtractionAppliesToTheNextTurn: extraction turned on while the
// agent runs queues learning after the next turn; turned off, nothing is
// queued (Busy says so, which is what `cairn chat` waits on).
func TestSetExtractionAppliesToTheNextTurn(t *testing.T) {
	ctx := testCtx(t)
	v := newVault(t, nil)
	a := newAgent(t, v, ollamaBackend(), Config{Model: ollamatest.Tiny, NumPredict: 4, Temperature: &zero, Seed: 7, NoExtraction: true, NoTools: true})
	turn, err := a.Chat(ctx, TurnRequest{Text: "I live in Lisbon."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Busy() {
		t.Fatal("extraction is off, yet work is queued")
	}
	a.SetExtraction(true)
	if _, err := a.Chat(ctx, TurnRequest{ConversationID: turn.Conversation.ID, Text: "I keep bees."}, nil); err != nil {
		t.Fatal(err)
	}
	if !a.Busy() {
		t.Fatal("extraction turned on, yet nothing is queued after the turn")
	}
}
