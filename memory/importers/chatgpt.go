package importers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/portable"
)

// ChatGPT's data export (Settings → Data controls → Export): a zip with
// conversations.json (newer exports split it over conversations-000.json,
// conversations-001.json, …), each a JSON array of conversations. A
// conversation's messages are a tree in "mapping" (node id → {message,
// parent, children}); "current_node" is the branch last shown. Cairn
// keeps every branch, linking each message to its parent: the children
// lists are not used, so a broken child link loses nothing, and the path
// from current_node to the root is always whole.

type gptConversation struct {
	ID               string             `json:"id"`
	ConversationID   string             `json:"conversation_id"`
	Title            string             `json:"title"`
	CreateTime       *float64           `json:"create_time"`
	UpdateTime       *float64           `json:"update_time"`
	Mapping          map[string]gptNode `json:"mapping"`
	CurrentNode      string             `json:"current_node"`
	DefaultModelSlug string             `json:"default_model_slug"`
	GizmoID          string             `json:"gizmo_id"`
}

type gptNode struct {
	ID      string      `json:"id"`
	Message *gptMessage `json:"message"`
	Parent  *string     `json:"parent"`
}

type gptMessage struct {
	ID     string `json:"id"`
	Author struct {
		Role string  `json:"role"`
		Name *string `json:"name"`
	} `json:"author"`
	CreateTime *float64   `json:"create_time"`
	Content    gptContent `json:"content"`
	Metadata   struct {
		ModelSlug   string `json:"model_slug"`
		Attachments []struct {
			Name     string `json:"name"`
			MimeType string `json:"mime_type"`
		} `json:"attachments"`
	} `json:"metadata"`
}

type gptContent struct {
	ContentType      string            `json:"content_type"`
	Parts            []json.RawMessage `json:"parts"`
	Text             string            `json:"text"`
	Language         string            `json:"language"`
	Result           string            `json:"result"`
	Title            string            `json:"title"`
	URL              string            `json:"url"`
	UserProfile      string            `json:"user_profile"`
	UserInstructions string            `json:"user_instructions"`
}

func unixSeconds(f *float64) time.Time {
	if f == nil || *f <= 0 || math.IsNaN(*f) || math.IsInf(*f, 0) || *f > 1e11 {
		return time.Time{}
	}
	sec, frac := math.Modf(*f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// chatGPTConversations reads one JSON file of ChatGPT conversations.
func chatGPTConversations(ctx context.Context, r io.Reader, l portable.Limits, emit func(portable.Entry) error) error {
	return eachConversation(ctx, r, l, "chatgpt conversation", "not a ChatGPT conversation", emit, func(c *gptConversation, n int, emit func(portable.Entry) error) error {
		return chatGPTConversation(c, n).Emit(emit)
	})
}

func chatGPTConversation(c *gptConversation, n int) *portable.Conversation {
	id := c.ConversationID
	if id == "" {
		id = c.ID
	}
	if id == "" {
		id = fmt.Sprintf("#%d:%s:%v", n, c.Title, c.CreateTime)
	}
	out := &portable.Conversation{Source: "chatgpt", SourceID: id, Title: c.Title, Model: c.DefaultModelSlug,
		CreatedAt: unixSeconds(c.CreateTime), UpdatedAt: unixSeconds(c.UpdateTime)}
	if strings.HasPrefix(c.GizmoID, "g-p-") && out.Title == "" {
		out.Title = "Project conversation"
	}
	for key, node := range c.Mapping {
		nodeID := node.ID
		if nodeID == "" {
			nodeID = key
		}
		parent := ""
		if node.Parent != nil {
			parent = *node.Parent
		}
		m := portable.Message{SourceID: nodeID, ParentID: parent}
		if node.Message != nil {
			msg := node.Message
			m.CreatedAt = unixSeconds(msg.CreateTime)
			m.Model = msg.Metadata.ModelSlug
			m.Content = gptText(&msg.Content)
			for _, a := range msg.Metadata.Attachments {
				m.Content = strings.TrimSpace(m.Content + "\n\n[attachment: " + a.Name + "]")
			}
			switch msg.Author.Role {
			case "user":
				m.Role = memory.RoleUser
			case "assistant":
				m.Role = memory.RoleAssistant
			case "system":
				m.Role = memory.RoleSystem
			case "tool":
				m.Role = memory.RoleTool
				if msg.Author.Name != nil {
					m.ToolName = *msg.Author.Name
				}
			default:
				m.Role, m.Content = memory.RoleSystem, "" // skipped as empty
			}
			if m.Role != memory.RoleAssistant {
				m.Model = ""
			}
		}
		// A node without a message (the root) is kept as an empty one, so
		// that its children find their parent chain; Emit skips it.
		out.Messages = append(out.Messages, m)
	}
	return out
}

// gptText is the readable text of a message's content.
func gptText(c *gptContent) string {
	switch c.ContentType {
	case "code":
		return "```" + c.Language + "\n" + c.Text + "\n```"
	case "execution_output", "system_error":
		return c.Text
	case "tether_browsing_display":
		return c.Result
	case "tether_quote":
		return strings.TrimSpace(c.Title + "\n" + c.URL + "\n\n" + c.Text)
	case "user_editable_context":
		return strings.TrimSpace(c.UserProfile + "\n\n" + c.UserInstructions)
	case "thoughts", "reasoning_recap":
		return "" // the model's hidden reasoning: not part of the conversation
	}
	var parts []string
	for _, p := range c.Parts {
		var s string
		if json.Unmarshal(p, &s) == nil {
			parts = append(parts, s)
			continue
		}
		var obj struct {
			ContentType string `json:"content_type"`
			Text        string `json:"text"`
		}
		if json.Unmarshal(p, &obj) == nil {
			switch {
			case obj.Text != "":
				parts = append(parts, obj.Text)
			case strings.Contains(obj.ContentType, "image"):
				parts = append(parts, "[image]")
			case strings.Contains(obj.ContentType, "audio"):
				parts = append(parts, "[audio]")
			}
		}
	}
	if len(parts) == 0 {
		return c.Text
	}
	return strings.Join(parts, "\n")
}
