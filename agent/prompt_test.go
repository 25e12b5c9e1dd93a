package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

func history(n int) []Message {
	var h []Message
	for i := range n {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		h = append(h, Message{Role: role, Content: fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog near the river bank", i)})
	}
	return h
}

func TestAssembleKeepsSystemAndMemoriesAndDropsOldestFirst(t *testing.T) {
	mems := []memory.Item{
		{ID: "m1", Kind: memory.Fact, Text: "Lives in Lisbon"},
		{ID: "m2", Kind: memory.Preference, Text: "Prefers green tea"},
	}
	for _, numCtx := range []int{512, 1024, 2048, 4096} {
		h := history(400)
		in := promptInput{System: "You are Cairn.", Memories: mems, History: h, NumCtx: numCtx, Reserve: numCtx / 4}
		p, err := assemble(in)
		if err != nil {
			t.Fatalf("num_ctx %d: %v", numCtx, err)
		}
		if p.Estimate > budget(numCtx, numCtx/4) {
			t.Errorf("num_ctx %d: estimate %d over the budget %d", numCtx, p.Estimate, budget(numCtx, numCtx/4))
		}
		sum := 0
		for _, m := range p.Messages {
			sum += messageTokens(m)
		}
		if sum > numCtx-numCtx/4 {
			t.Errorf("num_ctx %d: messages estimate %d tokens, over the window less the reserve", numCtx, sum)
		}
		sys := p.Messages[0]
		if sys.Role != "system" || !strings.Contains(sys.Content, "You are Cairn.") || !strings.Contains(sys.Content, "[m1]") || !strings.Contains(sys.Content, "[m2]") {
			t.Fatalf("num_ctx %d: system message lost the prompt or memories: %q", numCtx, sys.Content)
		}
		if fmt.Sprint(p.MemoryIDs) != "[m1 m2]" {
			t.Errorf("memory ids %v", p.MemoryIDs)
		}
		// What is kept is the newest contiguous run, ending at the message answered.
		kept := p.Messages[1:]
		if kept[len(kept)-1].Content != h[len(h)-1].Content {
			t.Fatalf("num_ctx %d: the message being answered is not last", numCtx)
		}
		if want := h[len(h)-len(kept):]; fmt.Sprint(want) != fmt.Sprint(kept) {
			t.Fatalf("num_ctx %d: kept history is not the newest run", numCtx)
		}
		if p.Dropped != len(h)-len(kept) || p.Dropped == 0 {
			t.Errorf("num_ctx %d: dropped %d, kept %d of %d", numCtx, p.Dropped, len(kept), len(h))
		}
		if bigger, _ := assemble(promptInput{System: "You are Cairn.", Memories: mems, History: h, NumCtx: numCtx * 2, Reserve: numCtx / 4}); len(bigger.Messages) <= len(p.Messages) {
			t.Errorf("num_ctx %d: a window twice as large kept no more history", numCtx)
		}
	}
}

func TestAssembleKeepsEverythingThatFits(t *testing.T) {
	h := history(5)
	p, err := assemble(promptInput{System: "s", History: h, Summary: "earlier talk", NumCtx: 4096, Reserve: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if p.Dropped != 0 || p.Summarised || len(p.Messages) != 6 {
		t.Fatalf("dropped %d, summarised %v, %d messages", p.Dropped, p.Summarised, len(p.Messages))
	}
}

func TestAssembleSummaryStandsInForDroppedHistory(t *testing.T) {
	p, err := assemble(promptInput{System: "s", History: history(300), Summary: "They planned a trip to Porto.", NumCtx: 1024, Reserve: 256})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Summarised || !strings.Contains(p.Messages[0].Content, "trip to Porto") {
		t.Fatalf("summary missing: %q", p.Messages[0].Content)
	}
	if p.Estimate > budget(1024, 256) {
		t.Fatalf("estimate %d over budget", p.Estimate)
	}
}

func TestAssembleMemoryBlockHasItsShare(t *testing.T) {
	var mems []memory.Item
	for i := range 200 {
		mems = append(mems, memory.Item{ID: fmt.Sprintf("id%d", i), Kind: memory.Fact, Text: strings.Repeat("memory words here ", 10)})
	}
	p, err := assemble(promptInput{System: "s", Memories: mems, History: history(50), NumCtx: 2048, Reserve: 512})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.MemoryIDs) == 0 || len(p.MemoryIDs) == len(mems) {
		t.Fatalf("%d of %d memories in the prompt", len(p.MemoryIDs), len(mems))
	}
	if len(p.Messages) < 3 {
		t.Fatalf("memories crowded out the conversation: %d messages", len(p.Messages))
	}
}

func TestAssembleRefusesAMessageLongerThanTheWindow(t *testing.T) {
	_, err := assemble(promptInput{System: "s", History: []Message{{Role: "user", Content: strings.Repeat("word ", 5000)}}, NumCtx: 2048, Reserve: 512})
	if !errors.Is(err, ErrPromptTooLong) || !strings.Contains(err.Error(), "context length") {
		t.Fatalf("err = %v", err)
	}
}

func TestAssembleNeverLeadsWithAToolResult(t *testing.T) {
	h := history(200)
	for i := range h {
		if i%3 == 2 {
			h[i].Role = "tool"
		}
	}
	h[len(h)-1].Role = "user"
	p, err := assemble(promptInput{System: "s", History: h, NumCtx: 1024, Reserve: 256})
	if err != nil {
		t.Fatal(err)
	}
	if p.Messages[1].Role == "tool" {
		t.Fatal("history starts with a tool result whose call was dropped")
	}
}

func TestEstimateTokensIsCautious(t *testing.T) {
	for _, c := range []struct {
		text string
		min  int
	}{
		{"hello world", 2},
		{"1234567890", 10},
		{"Grüße aus München", 5},
		{"東京に住んでいます", 9},
	} {
		if got := EstimateTokens(c.text); got < c.min {
			t.Errorf("EstimateTokens(%q) = %d, want at least %d", c.text, got, c.min)
		}
	}
}
