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

// Open WebUI's chat export (Settings → Chats → Export chats): a JSON
// array of {id, title, created_at, updated_at (Unix seconds), chat:
// {title, models, history: {messages: {id: {id, parentId, childrenIds,
// role, content, timestamp, model, files}}, currentId}, messages: […]}}.
// history holds every branch; messages, the path shown, is used only when
// history is missing.

type owuiChat struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
	Chat      struct {
		Title   string   `json:"title"`
		Models  []string `json:"models"`
		History struct {
			Messages  map[string]owuiMessage `json:"messages"`
			CurrentID string                 `json:"currentId"`
		} `json:"history"`
		Messages  []owuiMessage `json:"messages"`
		Timestamp int64         `json:"timestamp"`
	} `json:"chat"`
}

type owuiMessage struct {
	ID        string          `json:"id"`
	ParentID  *string         `json:"parentId"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Timestamp int64           `json:"timestamp"`
	Model     string          `json:"model"`
	Files     []struct {
		Name string `json:"name"`
		File struct {
			Filename string `json:"filename"`
		} `json:"file"`
	} `json:"files"`
}

// unixAny reads a Unix time in seconds, milliseconds or nanoseconds (Open
// WebUI has used each).
func unixAny(n int64) time.Time {
	switch {
	case n <= 0:
		return time.Time{}
	case n > 1e17:
		return time.Unix(0, n).UTC()
	case n > 1e11:
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

func openWebUIChats(ctx context.Context, r io.Reader, l portable.Limits, emit func(portable.Entry) error) error {
	return eachConversation(ctx, r, l, "open webui chat", "not an Open WebUI chat", emit, func(c *owuiChat, n int, emit func(portable.Entry) error) error {
		title := c.Title
		if title == "" {
			title = c.Chat.Title
		}
		id := c.ID
		if id == "" {
			id = fmt.Sprintf("#%d:%s:%d", n, title, c.CreatedAt)
		}
		created := unixAny(c.CreatedAt)
		if created.IsZero() {
			created = unixAny(c.Chat.Timestamp)
		}
		out := &portable.Conversation{Source: "openwebui", SourceID: id, Title: title, CreatedAt: created, UpdatedAt: unixAny(c.UpdatedAt)}
		if len(c.Chat.Models) > 0 {
			out.Model = c.Chat.Models[0]
		}
		msgs := c.Chat.History.Messages
		if len(msgs) == 0 {
			// No history: the linear list, each after the one before.
			msgs = map[string]owuiMessage{}
			prev := ""
			for i, m := range c.Chat.Messages {
				if m.ID == "" {
					m.ID = fmt.Sprintf("#%d", i)
				}
				if m.ParentID == nil && prev != "" {
					p := prev
					m.ParentID = &p
				}
				msgs[m.ID] = m
				prev = m.ID
			}
		}
		for key, m := range msgs {
			if m.ID == "" {
				m.ID = key
			}
			msg := portable.Message{SourceID: m.ID, CreatedAt: unixAny(m.Timestamp), Content: owuiText(&m), Model: m.Model}
			if m.ParentID != nil {
				msg.ParentID = *m.ParentID
			}
			switch m.Role {
			case "user":
				msg.Role = memory.RoleUser
			case "assistant":
				msg.Role = memory.RoleAssistant
			case "system":
				msg.Role = memory.RoleSystem
			case "tool":
				msg.Role = memory.RoleTool
			default:
				msg.Role, msg.Content = memory.RoleSystem, ""
			}
			if msg.Role != memory.RoleAssistant {
				msg.Model = ""
			}
			out.Messages = append(out.Messages, msg)
		}
		return out.Emit(emit)
	})
}

func owuiText(m *owuiMessage) string {
	var text string
	if json.Unmarshal(m.Content, &text) != nil {
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(m.Content, &parts) == nil {
			var b []string
			for _, p := range parts {
				switch {
				case p.Text != "":
					b = append(b, p.Text)
				case strings.Contains(p.Type, "image"):
					b = append(b, "[image]")
				}
			}
			text = strings.Join(b, "\n")
		}
	}
	for _, f := range m.Files {
		name := f.Name
		if name == "" {
			name = f.File.Filename
		}
		if name != "" {
			text = strings.TrimSpace(text + "\n\n[file: " + name + "]")
		}
	}
	return text
}
