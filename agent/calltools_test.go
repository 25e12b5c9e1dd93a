package agent

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// A caller's own tools: offered instead of Cairn's, a call ends the turn
// with the call stored, and the caller's results continue it.
func TestCallerToolsEndTheTurnAndResultsContinueIt(t *testing.T) {
	ctx := context.Background()
	v := newVault(t, nil)
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		if n == 0 {
			return ChatResponse{Message: Message{ToolCalls: []ToolCall{{ID: "call_0", Name: "weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}}}}
		}
		return reply("It is sunny in Oslo.")
	})
	a := newAgent(t, v, b, Config{})
	weather := Tool{Name: "weather", Description: "Weather in a city.", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	turn, err := a.Chat(ctx, TurnRequest{Text: "Weather in Oslo?", System: "You are a weather bot.", Tools: []Tool{weather}, Limits: Limits{NoExtraction: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := turn.Reply.ToolCalls
	if len(calls) != 1 || calls[0].Name != "weather" || !strings.HasPrefix(calls[0].ID, "call_") || calls[0].ID == "call_0" {
		t.Fatalf("reply is not the stored tool call: %+v", turn.Reply)
	}
	first := b.seen()[0]
	if len(first.Tools) != 1 || first.Tools[0].Name != "weather" {
		t.Fatalf("offered tools %+v, want only the caller's", first.Tools)
	}
	if first.Messages[0].Role != "system" || !strings.HasPrefix(first.Messages[0].Content, "You are a weather bot.") {
		t.Fatalf("system prompt not the caller's: %q", first.Messages[0].Content)
	}
	if len(b.seen()) != 1 {
		t.Fatalf("%d model calls: Cairn ran the caller's tool", len(b.seen()))
	}

	turn2, err := a.Chat(ctx, TurnRequest{
		ConversationID: turn.Conversation.ID, ParentID: turn.Reply.ID, Tools: []Tool{weather},
		ToolResults: []ToolResult{{CallID: calls[0].ID, Content: "sunny, 21°C"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if turn2.Reply.Content != "It is sunny in Oslo." || turn2.User.Role != memory.RoleTool || turn2.User.ToolName != "weather" {
		t.Fatalf("continued turn: reply %+v, after %+v", turn2.Reply, turn2.User)
	}
	second := b.seen()[1]
	last := second.Messages[len(second.Messages)-1]
	if last.Role != "tool" || last.Content != "sunny, 21°C" || last.ToolCallID != calls[0].ID {
		t.Fatalf("model saw %+v last, want the tool result paired with its call", last)
	}
	msgs, err := v.Messages(ctx, turn.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range Thread(msgs, "") {
		roles = append(roles, string(m.Role))
	}
	if got := strings.Join(roles, ","); got != "user,assistant,tool,assistant" {
		t.Fatalf("stored thread %s", got)
	}
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.seen() {
		if isExtraction(r) {
			t.Fatal("extraction ran on a turn that asked for none")
		}
	}
	// Tool results need a call to answer.
	if _, err := a.Chat(ctx, TurnRequest{ConversationID: turn.Conversation.ID, ParentID: turn2.Reply.ID, ToolResults: []ToolResult{{Content: "x"}}}, nil); err == nil {
		t.Fatal("tool results after a plain reply were accepted")
	}
}

func TestTurnSettingsReachTheBackend(t *testing.T) {
	ctx := context.Background()
	b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply("ok") })
	a := newAgent(t, newVault(t, nil), b, Config{NoExtraction: true})
	temp := 0.5
	if _, err := a.Chat(ctx, TurnRequest{Text: "hi", MaxTokens: 7, Temperature: &temp, Seed: 3, Format: json.RawMessage(`"json"`)}, nil); err != nil {
		t.Fatal(err)
	}
	r := b.seen()[0]
	if r.NumPredict != 7 || r.Temperature == nil || *r.Temperature != 0.5 || r.Seed != 3 || string(r.Format) != `"json"` {
		t.Fatalf("request %+v", r)
	}
	if !strings.HasPrefix(r.Messages[0].Content, DefaultSystemPrompt[:20]) {
		t.Fatalf("default system prompt replaced without System: %q", r.Messages[0].Content)
	}
}
