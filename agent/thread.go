package agent

import (
	"strings"

	"github.com/cairnlabs/cairn/memory"
)

// titleFrom makes a conversation title from its first message.
func titleFrom(text string) string {
	t := strings.Join(strings.Fields(text), " ")
	if r := []rune(t); len(r) > 60 {
		t = strings.TrimSpace(string(r[:60])) + "…"
	}
	return t
}

func index(msgs []memory.Message) map[string]memory.Message {
	m := make(map[string]memory.Message, len(msgs))
	for _, x := range msgs {
		m[x.ID] = x
	}
	return m
}

func hasMessage(msgs []memory.Message, id string) bool {
	for _, m := range msgs {
		if m.ID == id {
			return true
		}
	}
	return false
}

// head is the newest message of a conversation: where it continues.
func head(msgs []memory.Message) string {
	var best memory.Message
	for _, m := range msgs {
		if best.ID == "" || m.CreatedAt.After(best.CreatedAt) || (m.CreatedAt.Equal(best.CreatedAt) && m.ID > best.ID) {
			best = m
		}
	}
	return best.ID
}

// threadTo is the branch from the first message to leaf, oldest first.
func threadTo(msgs []memory.Message, leaf string) []memory.Message {
	byID := index(msgs)
	var out []memory.Message
	for id := leaf; id != ""; {
		m, ok := byID[id]
		if !ok || len(out) > len(msgs) {
			break
		}
		out = append(out, m)
		id = m.ParentID
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Thread returns the branch of a conversation that ends at leaf ("" for
// its newest message), oldest first.
func Thread(msgs []memory.Message, leaf string) []memory.Message {
	if leaf == "" {
		leaf = head(msgs)
	}
	return threadTo(msgs, leaf)
}

func inThread(thread []memory.Message, id string) bool {
	return id != "" && hasMessage(thread, id)
}

// toBackend converts stored messages to what backends take. Incomplete
// replies are sent as they are: the model sees what the person saw.
// threadIDs are the ids of the thread's messages ("" for one not stored
// yet), in order.
func threadIDs(thread []memory.Message) []string {
	out := make([]string, len(thread))
	for i, m := range thread {
		out[i] = m.ID
	}
	return out
}

func toBackend(thread []memory.Message) []Message {
	out := make([]Message, 0, len(thread))
	for _, m := range thread {
		bm := Message{Role: string(m.Role), Content: m.Content, ToolName: m.ToolName}
		for _, c := range m.ToolCalls {
			bm.ToolCalls = append(bm.ToolCalls, ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		}
		out = append(out, bm)
	}
	// Pair tool results with the calls before them, for OpenAI backends.
	var pending []ToolCall
	for i := range out {
		if len(out[i].ToolCalls) > 0 {
			pending = out[i].ToolCalls
			continue
		}
		if out[i].Role == "tool" && len(pending) > 0 {
			out[i].ToolCallID = pending[0].ID
			pending = pending[1:]
		}
	}
	return out
}
