package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// The tools a model may call. remember, recall and forget touch memory, so
// they are offered only where memory may go. forget is soft: a prompt
// injection in an imported memory must not erase a person's memory, so the
// person can undo it for 30 days.
var (
	toolRemember = Tool{
		Name:        "remember",
		Description: "Save a lasting fact or preference about the person, in one short sentence. Only for things the person said about themselves.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","description":"the fact, e.g. 'Prefers tea over coffee'"},"kind":{"type":"string","enum":["fact","preference","note"],"description":"what it is"}},"required":["text"]}`),
	}
	toolRecall = Tool{
		Name:        "recall",
		Description: "Search the person's memories.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"what to look for"}},"required":["query"]}`),
	}
	toolForget = Tool{
		Name:        "forget",
		Description: "Forget a memory by its id, only when the person asks. The person can undo it for 30 days.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"id":{"type":"string","description":"the memory's id"},"reason":{"type":"string","description":"why, in the person's words"}},"required":["id"]}`),
	}
	toolTime = Tool{
		Name:        "current_time",
		Description: "The current date and time where the person is.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{}}`),
	}
)

// maxToolResult bounds what one tool call adds to the prompt.
const maxToolResult = 2000

// toolsFor picks the tools a model gets: the memory tools only where
// memory may go, and only those lim allows.
func (a *Agent) toolsFor(info ModelInfo, withMemory bool, lim Limits) []Tool {
	if a.cfg.NoTools || !info.Can("tools") {
		return nil
	}
	var tools []Tool
	if withMemory && !lim.NoMemoryWrite {
		tools = append(tools, toolRemember)
	}
	if withMemory && !lim.NoRecall {
		tools = append(tools, toolRecall)
	}
	if withMemory && !lim.NoMemoryWrite {
		tools = append(tools, toolForget)
	}
	return append(tools, toolTime)
}

// allowed says whether lim lets a model run the tool called name: a model
// may call a tool it was not offered, and must not get its way.
func allowed(name string, lim Limits) bool {
	switch name {
	case toolRemember.Name, toolForget.Name:
		return !lim.NoMemoryWrite
	case toolRecall.Name:
		return !lim.NoRecall
	}
	return true
}

// runTool runs one tool call and returns what the model is told. Errors
// are told to the model too: it can correct itself. The log names the
// tool only when it is one of ours: the model's words (a made-up name, an
// id, a text) stay out of it.
func (a *Agent) runTool(ctx context.Context, c ToolCall, user memory.Message, lim Limits) string {
	var out string
	var err error
	if allowed(c.Name, lim) {
		out, err = a.tool(ctx, c, user, lim)
	} else {
		err = fmt.Errorf("the %s tool is not available in this chat: the client may not change or read memories", c.Name)
	}
	if err != nil {
		a.log.Info("tool call failed", "tool", knownTool(c.Name))
		out = "error: " + err.Error()
	}
	if len(out) > maxToolResult {
		out = out[:maxToolResult] + "…"
	}
	return out
}

// knownTool is name if it is one of Cairn's tools, else "(other)".
func knownTool(name string) string {
	for _, t := range []Tool{toolRemember, toolRecall, toolForget, toolTime} {
		if t.Name == name {
			return name
		}
	}
	return "(other)"
}

func (a *Agent) tool(ctx context.Context, c ToolCall, user memory.Message, lim Limits) (string, error) {
	var args struct {
		Text   string `json:"text"`
		Kind   string `json:"kind"`
		Query  string `json:"query"`
		ID     string `json:"id"`
		Reason string `json:"reason"`
	}
	if len(c.Arguments) > 0 {
		if err := json.Unmarshal(c.Arguments, &args); err != nil {
			return "", fmt.Errorf("arguments are not a JSON object: %v", err)
		}
	}
	switch c.Name {
	case toolRemember.Name:
		kind := memory.ItemKind(args.Kind)
		if kind == "" {
			kind = memory.Fact
		}
		item, err := a.store.Add(ctx, memory.NewItem{Kind: kind, Text: args.Text, Source: memory.SourceModel, MessageIDs: []string{user.ID}})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("remembered [%s] %s", item.ID, item.Text), nil
	case toolRecall.Name:
		res, err := a.store.Search(ctx, memory.Query{Text: args.Query, Limit: 5})
		if err != nil && !errors.Is(err, memory.ErrNoEmbedder) {
			return "", err
		}
		if len(res) == 0 {
			return "no memories match", nil
		}
		var b strings.Builder
		for _, r := range res {
			b.WriteString(memoryLine(r.Item))
		}
		return b.String(), nil
	case toolForget.Name:
		why := strings.TrimSpace(args.Reason)
		if why == "" {
			why = "asked by the model"
		}
		item, err := a.store.SoftForget(ctx, strings.Trim(args.ID, "[] "), why)
		if err != nil {
			return "", err
		}
		if lim.NoRecall {
			// A client that may not read memories learns no text this way.
			return fmt.Sprintf("forgot [%s] (the person can undo this for 30 days)", item.ID), nil
		}
		return fmt.Sprintf("forgot [%s] %s (the person can undo this for 30 days)", item.ID, item.Text), nil
	case toolTime.Name:
		return time.Now().Format("Monday, 2 January 2006, 15:04 MST"), nil
	}
	return "", fmt.Errorf("there is no tool %q: use remember, recall, forget or current_time", c.Name)
}
