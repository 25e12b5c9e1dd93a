package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestOlderHistoryIsSummarised(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	summaries := 0
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		if strings.HasPrefix(req.Messages[0].Content, "Summarise this conversation") {
			// The first summary reads the oldest turns; later ones build
			// on the summary before them.
			if summaries++; summaries == 1 && !strings.Contains(req.Messages[1].Content, "USER: turn 0 ") ||
				summaries > 1 && !strings.HasPrefix(req.Messages[1].Content, "EARLIER SUMMARY:\nThey talked") {
				t.Errorf("summary request %d: %.200q", summaries, req.Messages[1].Content)
			}
			return reply("They talked about turns zero onwards.")
		}
		return reply("noted")
	}, "completion")
	a := newAgent(t, v, b, Config{NumCtx: map[string]int{"m": 512}, NoExtraction: true})
	conv := ""
	long := strings.Repeat("the keeper trims the wick and logs the weather ", 4)
	var last *Turn
	for i := range 12 {
		turn, err := a.Chat(ctx, TurnRequest{ConversationID: conv, Text: fmt.Sprintf("turn %d %s", i, long)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		conv, last = turn.Conversation.ID, turn
		if err := a.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if last.Dropped == 0 {
		t.Fatal("twelve long turns fit a 512-token window?")
	}
	c, err := v.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Summary != "They talked about turns zero onwards." || c.SummaryThrough == "" {
		t.Fatalf("summary %q through %q", c.Summary, c.SummaryThrough)
	}
	// The next turn's prompt carries the summary in place of what it drops.
	if _, err := a.Chat(ctx, TurnRequest{ConversationID: conv, Text: "and now?"}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := b.seen()
	var sys string
	for i := len(reqs) - 1; i >= 0; i-- {
		if !strings.HasPrefix(reqs[i].Messages[0].Content, "Summarise") {
			sys = reqs[i].Messages[0].Content
			break
		}
	}
	if !strings.Contains(sys, "They talked about turns zero onwards.") {
		t.Fatalf("the summary is not in the prompt: %q", sys)
	}
	for _, r := range reqs {
		total := 0
		for _, m := range r.Messages {
			total += messageTokens(m)
		}
		if total > 512 {
			t.Fatalf("a request of about %d tokens went to a 512-token window", total)
		}
	}
}
