package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// TestNothingTypedReachesTheLog feeds a canary through what the person
// types and what the model says on every path of the agent that logs, at
// the debug level: extraction output that is not JSON (the model echoing
// the person), extraction proposals the vault refuses, and tool calls that
// fail (a made-up tool, an id that is no memory, a kind that is none).
func TestNothingTypedReachesTheLog(t *testing.T) {
	const canary = "zebracanary42"
	ctx := context.Background()
	var logs memtest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	said := "I keep bees, " + canary
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		switch {
		case isExtraction(req) && n%2 == 0:
			return reply("Sure! You said: " + said) // not JSON
		case isExtraction(req):
			return reply(`{"memories":[{"text":"Keeps bees ` + canary + `","kind":"fact","source":"stated","source_quote":"` + said + `"}]}`)
		case len(req.Format) > 0:
			return reply(`{"decision":"` + canary + `"}`)
		case req.Messages[len(req.Messages)-1].Role == "tool":
			return reply("Done.")
		}
		return ChatResponse{Message: Message{ToolCalls: []ToolCall{
			{ID: "1", Name: canary, Arguments: json.RawMessage(`{"text":"` + canary + `"}`)},
			{ID: "2", Name: "forget", Arguments: json.RawMessage(`{"id":"` + canary + `"}`)},
			{ID: "3", Name: "remember", Arguments: json.RawMessage(`{"text":"x ` + canary + `","kind":"` + canary + `"}`)},
			{ID: "4", Name: "recall", Arguments: json.RawMessage(`{"query":"` + canary + `"}`)},
		}}}
	})
	v := newVault(t, nil)
	a := newAgent(t, v, b, Config{Logger: log})
	for range 3 {
		if _, err := a.Chat(ctx, TurnRequest{Text: said}, nil); err != nil {
			t.Fatal(err)
		}
		if err := a.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "memory extraction") || !strings.Contains(out, "tool call failed") {
		t.Fatalf("the paths under test logged nothing, so the test checks nothing:\n%s", out)
	}
	if strings.Contains(out, canary) {
		t.Fatalf("words of the conversation reached the log:\n%s", out)
	}
}
