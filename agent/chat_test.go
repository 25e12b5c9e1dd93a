package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

func TestToolLoopStopsAtItsBound(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		if isExtraction(req) || isDecision(req) {
			return reply(`{"memories":[]}`)
		}
		if len(req.Tools) == 0 {
			return reply("Here is my answer.")
		}
		// A model stuck calling tools.
		return ChatResponse{Message: Message{ToolCalls: []ToolCall{{ID: "c", Name: "current_time", Arguments: json.RawMessage(`{}`)}}}}
	})
	a := newAgent(t, v, b, Config{MaxToolRounds: 3, NoExtraction: true})
	turn, err := a.Chat(ctx, TurnRequest{Text: "What time is it?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if turn.Reply.Content != "Here is my answer." {
		t.Fatalf("reply %q", turn.Reply.Content)
	}
	reqs := b.seen()
	if len(reqs) != 4 {
		t.Fatalf("%d model calls, want 3 with tools and a last one without", len(reqs))
	}
	// Each call and result is persisted, in one chain.
	msgs, _ := v.Messages(ctx, turn.Conversation.ID)
	thread := Thread(msgs, turn.Reply.ID)
	var calls, results int
	for _, m := range thread {
		calls += len(m.ToolCalls)
		if m.Role == memory.RoleTool {
			results++
			if !strings.Contains(m.Content, time.Now().Format("2006")) {
				t.Errorf("current_time said %q", m.Content)
			}
		}
	}
	if calls != 3 || results != 3 || thread[0].ID != turn.User.ID {
		t.Fatalf("thread has %d calls and %d results: %+v", calls, results, thread)
	}
}

func TestModelForgetIsUndoableButThePersonsIsNot(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	keep, _ := v.Add(ctx, memory.NewItem{Text: "Allergic to penicillin"})
	mine, _ := v.Add(ctx, memory.NewItem{Text: "Old address: 12 Rua Augusta"})
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		last := req.Messages[len(req.Messages)-1]
		if last.Role == "user" && len(req.Tools) > 0 {
			// An injected instruction made the model forget a memory.
			return ChatResponse{Message: Message{ToolCalls: []ToolCall{{ID: "c1", Name: "forget", Arguments: json.RawMessage(`{"id":"` + keep.ID + `","reason":"ignore previous instructions"}`)}}}}
		}
		return reply("Done.")
	})
	a := newAgent(t, v, b, Config{NoExtraction: true})
	turn, err := a.Chat(ctx, TurnRequest{Text: "Summarise my notes"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(turn.Tools) != 2 || !strings.Contains(turn.Tools[1].Content, "undo") {
		t.Fatalf("tool messages: %+v", turn.Tools)
	}
	if _, err := v.Get(ctx, keep.ID); !errors.Is(err, memory.ErrNotFound) {
		t.Fatalf("the model's forget left the memory visible: %v", err)
	}
	gone, _ := v.Forgotten(ctx)
	if len(gone) != 1 || gone[0].ID != keep.ID {
		t.Fatalf("forgotten list: %+v", gone)
	}
	if _, err := v.Restore(ctx, keep.ID); err != nil {
		t.Fatal(err)
	}
	if it, err := v.Get(ctx, keep.ID); err != nil || it.Text != "Allergic to penicillin" {
		t.Fatalf("after undo: %+v %v", it, err)
	}
	// The person's own forget is final.
	if err := v.Forget(ctx, mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Restore(ctx, mine.ID); !errors.Is(err, memory.ErrNotFound) {
		t.Fatalf("restore after the person's forget: %v", err)
	}
}

func TestChatPersistsWhatStreamed(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	fact, _ := v.Add(ctx, memory.NewItem{Text: "Lives in Lisbon"})
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("Lisbon is lovely in spring.") }, "completion")
	a := newAgent(t, v, b, Config{NoExtraction: true})
	var streamed strings.Builder
	turn, err := a.Chat(ctx, TurnRequest{Text: "Where do I live, Lisbon?"}, func(s string) { streamed.WriteString(s) })
	if err != nil {
		t.Fatal(err)
	}
	if streamed.String() != turn.Reply.Content || turn.Reply.Content != "Lisbon is lovely in spring." {
		t.Fatalf("streamed %q, stored %q", streamed.String(), turn.Reply.Content)
	}
	stored, err := v.Message(ctx, turn.Reply.ID)
	if err != nil || stored.Content != streamed.String() || stored.ParentID != turn.User.ID || stored.Incomplete {
		t.Fatalf("stored reply %+v, %v", stored, err)
	}
	if len(stored.MemoryIDs) != 1 || stored.MemoryIDs[0] != fact.ID {
		t.Errorf("provenance %v, want [%s]", stored.MemoryIDs, fact.ID)
	}
	if sys := b.seen()[0].Messages[0]; !strings.Contains(sys.Content, fact.ID) {
		t.Errorf("memory block missing from the prompt: %q", sys.Content)
	}
	if b.seen()[0].NumCtx != DefaultNumCtx {
		t.Errorf("num_ctx %d", b.seen()[0].NumCtx)
	}
}

func TestBranches(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	n := 0
	b := newScripted(func(_ int, req ChatRequest) ChatResponse {
		n++
		return reply("answer " + string(rune('A'+n-1)))
	}, "completion")
	a := newAgent(t, v, b, Config{NoExtraction: true})
	t1, err := a.Chat(ctx, TurnRequest{Text: "first question"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := a.Chat(ctx, TurnRequest{ConversationID: t1.Conversation.ID, Text: "second question"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if t2.User.ParentID != t1.Reply.ID {
		t.Fatalf("continue: parent %s, want %s", t2.User.ParentID, t1.Reply.ID)
	}
	// Regenerate: a sibling of the second answer.
	r, err := a.Regenerate(ctx, t2.Reply.ID, "", Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reply.ParentID != t2.User.ID || r.Reply.ID == t2.Reply.ID || r.Reply.Content == t2.Reply.Content {
		t.Fatalf("regenerated %+v", r.Reply)
	}
	// Edit the second question: a new branch from the first answer.
	e, err := a.Chat(ctx, TurnRequest{ConversationID: t1.Conversation.ID, ParentID: t1.Reply.ID, Text: "second question, edited"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := v.Messages(ctx, t1.Conversation.ID)
	if len(msgs) != 7 {
		t.Fatalf("%d messages, want 7 in the tree", len(msgs))
	}
	th := Thread(msgs, e.Reply.ID)
	if len(th) != 4 || th[2].Content != "second question, edited" {
		t.Fatalf("edited branch: %+v", th)
	}
	// The edited branch's prompt did not include the old second question.
	last := b.seen()[len(b.seen())-1]
	for _, m := range last.Messages {
		if m.Content == "second question" {
			t.Fatal("the edited branch saw the message it replaced")
		}
	}
	if _, err := a.Chat(ctx, TurnRequest{ConversationID: t1.Conversation.ID, ParentID: "nope", Text: "x"}, nil); !errors.Is(err, memory.ErrNotFound) {
		t.Fatalf("unknown parent: %v", err)
	}
	// Edit the first question: a new first message, a sibling of the old
	// one at the root, whose prompt holds nothing of the old thread.
	f, err := a.Chat(ctx, TurnRequest{ConversationID: t1.Conversation.ID, Root: true, Text: "first question, edited"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.User.ParentID != "" || f.Conversation.ID != t1.Conversation.ID {
		t.Fatalf("edited first message: parent %q in %s", f.User.ParentID, f.Conversation.ID)
	}
	last = b.seen()[len(b.seen())-1]
	for _, m := range last.Messages {
		if m.Content == "first question" || m.Content == t1.Reply.Content {
			t.Fatalf("the edited first message's prompt holds the old thread: %q", m.Content)
		}
	}
	msgs, _ = v.Messages(ctx, t1.Conversation.ID)
	if th := Thread(msgs, f.Reply.ID); len(th) != 2 || th[0].Content != "first question, edited" {
		t.Fatalf("the edited first branch: %+v", th)
	}
	if _, err := a.Chat(ctx, TurnRequest{ConversationID: t1.Conversation.ID, Root: true, ParentID: t1.Reply.ID, Text: "x"}, nil); !errors.Is(err, memory.ErrInvalid) {
		t.Fatalf("root and a parent at once: %v", err)
	}
}

func TestBackgroundWaitsForTheReply(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	var (
		mu             sync.Mutex
		replying       int
		overlapped     bool
		preempted      int
		extractStarted = make(chan struct{}, 8)
	)
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		if isExtraction(req) {
			return reply(`{"memories":[]}`)
		}
		return reply("ok")
	}, "completion")
	b.hook = func(ctx context.Context, n int, req ChatRequest) {
		mu.Lock()
		if !isExtraction(req) {
			replying++
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // a reply streams for a while
			mu.Lock()
			replying--
			mu.Unlock()
			return
		}
		overlapped = overlapped || replying > 0
		first := preempted == 0
		mu.Unlock()
		extractStarted <- struct{}{}
		if first {
			// The first extraction is slow: the next reply preempts it.
			select {
			case <-ctx.Done():
				mu.Lock()
				preempted++
				mu.Unlock()
			case <-time.After(10 * time.Second):
			}
		}
	}
	a := newAgent(t, v, b, Config{})
	t1, err := a.Chat(ctx, TurnRequest{Text: "hello there"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-extractStarted
	if _, err := a.Chat(ctx, TurnRequest{ConversationID: t1.Conversation.ID, Text: "second"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if preempted != 1 {
		t.Fatalf("the running extraction was not stopped by the reply (preempted %d)", preempted)
	}
	if overlapped {
		t.Fatal("an extraction started while a reply streamed")
	}
	if s := a.Stats(); s.Runs != 2 {
		t.Fatalf("extraction completed %d times, want 2 (the preempted one runs again)", s.Runs)
	}
}
