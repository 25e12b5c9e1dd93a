package agent

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/cairnlabs/cairn/memory"
)

// storeToolResults stores the caller's tool results after the assistant
// message at parent, in the order of its calls (backends pair results with
// calls by position), and returns the thread that ends with them.
func (a *Agent) storeToolResults(ctx context.Context, conv memory.Conversation, msgs []memory.Message, parent string, results []ToolResult) ([]memory.Message, *pending, error) {
	asked, ok := index(msgs)[parent]
	if conv.ID == "" || !ok || asked.Role != memory.RoleAssistant || len(asked.ToolCalls) == 0 {
		return nil, nil, fmt.Errorf("%w: tool results must follow an assistant message that called tools", memory.ErrInvalid)
	}
	order := func(r ToolResult) int {
		return slices.IndexFunc(asked.ToolCalls, func(c memory.ToolCall) bool { return c.ID == r.CallID })
	}
	results = slices.Clone(results)
	slices.SortStableFunc(results, func(x, y ToolResult) int { return order(x) - order(y) })
	// Writes after a cancel must still happen: the caller ran the tools.
	store := context.WithoutCancel(ctx)
	thread := threadTo(msgs, parent)
	var last memory.Message
	for _, r := range results {
		name := r.Name
		if i := order(r); name == "" && i >= 0 {
			name = asked.ToolCalls[i].Name
		}
		content := r.Content
		if content == "" {
			content = "(no output)"
		}
		m, err := a.store.AddMessage(store, memory.NewMessage{ConversationID: conv.ID, ParentID: cmp.Or(last.ID, parent), Role: memory.RoleTool, Content: content, ToolName: name})
		if err != nil {
			return nil, nil, err
		}
		thread = append(thread, m)
		last = m
	}
	return thread, stored(conv, last), nil
}

// lastUserText is the newest user message of a thread: what memories are
// recalled for when the turn itself is tool results.
func lastUserText(thread []memory.Message) string {
	for i := len(thread) - 1; i >= 0; i-- {
		if thread[i].Role == memory.RoleUser {
			return thread[i].Content
		}
	}
	return ""
}

// newCallID names a tool call uniquely, as OpenAI clients expect.
func newCallID() string {
	return "call_" + rand.Text()[:24]
}
