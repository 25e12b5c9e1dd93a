package importers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/portable"
)

// Claude's data export (Settings → Privacy → Export data): a zip with
// conversations.json, an array of {uuid, name, created_at, updated_at,
// chat_messages: [{uuid, sender: human|assistant, text, content: [{type:
// text|tool_use|tool_result|thinking, …}], created_at, attachments:
// [{file_name, extracted_content}], files: [{file_name}],
// parent_message_uuid}]}. Newer exports name each message's parent, so
// edits and retries are branches; older ones list one path, in order.

type claudeConversation struct {
	UUID         string          `json:"uuid"`
	Name         string          `json:"name"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	ChatMessages []claudeMessage `json:"chat_messages"`
}

type claudeMessage struct {
	UUID        string          `json:"uuid"`
	Sender      string          `json:"sender"`
	Text        string          `json:"text"`
	Content     []claudeContent `json:"content"`
	CreatedAt   time.Time       `json:"created_at"`
	Attachments []struct {
		FileName         string `json:"file_name"`
		ExtractedContent string `json:"extracted_content"`
	} `json:"attachments"`
	Files []struct {
		FileName string `json:"file_name"`
	} `json:"files"`
	ParentMessageUUID string `json:"parent_message_uuid"`
}

type claudeContent struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Name    string          `json:"name"`
	Content json.RawMessage `json:"content"`
}

// claudeRoot is the parent Claude names for a conversation's first message.
const claudeRoot = "00000000-0000-4000-8000-000000000000"

func claudeConversations(ctx context.Context, r io.Reader, l portable.Limits, emit func(portable.Entry) error) error {
	return eachConversation(ctx, r, l, "claude conversation", "not a Claude conversation", emit, func(c *claudeConversation, n int, emit func(portable.Entry) error) error {
		id := c.UUID
		if id == "" {
			id = fmt.Sprintf("#%d:%s:%s", n, c.Name, c.CreatedAt)
		}
		out := &portable.Conversation{Source: "claude", SourceID: id, Title: c.Name, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
		prev := ""
		for i, m := range c.ChatMessages {
			mid := m.UUID
			if mid == "" {
				mid = fmt.Sprintf("#%d", i)
			}
			parent := prev
			if m.ParentMessageUUID != "" {
				parent = m.ParentMessageUUID
				if parent == claudeRoot {
					parent = ""
				}
			}
			msg := portable.Message{SourceID: mid, ParentID: parent, CreatedAt: m.CreatedAt, Content: claudeText(&m)}
			switch m.Sender {
			case "human":
				msg.Role = memory.RoleUser
			case "assistant":
				msg.Role = memory.RoleAssistant
			default:
				msg.Role, msg.Content = memory.RoleSystem, ""
			}
			out.Messages = append(out.Messages, msg)
			prev = mid
		}
		return out.Emit(emit)
	})
}

func claudeText(m *claudeMessage) string {
	var b strings.Builder
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(s)
		}
	}
	if len(m.Content) == 0 {
		add(m.Text)
	}
	for _, c := range m.Content {
		switch c.Type {
		case "text":
			add(c.Text)
		case "tool_use":
			add("[used the tool " + c.Name + "]")
		case "tool_result":
			var parts []claudeContent
			if json.Unmarshal(c.Content, &parts) == nil {
				for _, p := range parts {
					add(p.Text)
				}
			}
		}
	}
	for _, a := range m.Attachments {
		add("[attachment: " + a.FileName + "]\n" + a.ExtractedContent)
	}
	for _, f := range m.Files {
		add("[file: " + f.FileName + "]")
	}
	return b.String()
}
