package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// oaiChatRequest is the part of an OpenAI chat completion request that
// Cairn uses; other fields are accepted and ignored.
type oaiChatRequest struct {
	Model         string       `json:"model"`
	Messages      []oaiMessage `json:"messages"`
	Stream        bool         `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64 `json:"temperature"`
	MaxTokens           int      `json:"max_tokens"`
	MaxCompletionTokens int      `json:"max_completion_tokens"`
	Seed                *int     `json:"seed"`
	Tools               []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	// ToolChoice "none" offers no tools; other choices are left to the model.
	ToolChoice     json.RawMessage `json:"tool_choice"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// oaiMessage is one message of a request, or of a reply.
type oaiMessage struct {
	Role string `json:"role"`
	// Content is a string, null, or an array of content parts.
	Content    json.RawMessage `json:"content"`
	ToolCalls  []oaiToolCall   `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// oaiToolCall is a model's call of a tool, as OpenAI writes it.
type oaiToolCall struct {
	// Index is set in streamed chunks only.
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// chatMsg is a request message as Cairn stores and compares it.
type chatMsg struct {
	Role      memory.Role
	Content   string
	ToolCalls []agent.ToolCall
	// ToolCallID and ToolName are set on tool results.
	ToolCallID, ToolName string
}

// chatInput is a parsed chat completion request.
type chatInput struct {
	Model  string
	System string
	// Earlier are the messages before the turn, system messages left out.
	Earlier []chatMsg
	// Text is the new user message; Results are tool results instead.
	Text    string
	Results []chatMsg
	Tools   []agent.Tool
	Format  json.RawMessage
	Max     int
	Temp    *float64
	Seed    int
	Stream  bool
	Usage   bool
}

func badRequest(msg string) error { return errorf(http.StatusBadRequest, "invalid", msg) }

// parseChat checks a request and splits it into what came before and the
// turn itself.
func parseChat(req oaiChatRequest) (chatInput, error) {
	in := chatInput{Model: strings.TrimSpace(req.Model), Temp: req.Temperature, Stream: req.Stream, Max: req.MaxCompletionTokens}
	if in.Max == 0 {
		in.Max = req.MaxTokens
	}
	if req.Seed != nil {
		in.Seed = *req.Seed
	}
	in.Usage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case "json_object":
			in.Format = json.RawMessage(`"json"`)
		case "json_schema":
			in.Format = f.JSONSchema.Schema
		}
	}
	if string(bytes.TrimSpace(req.ToolChoice)) != `"none"` {
		for _, t := range req.Tools {
			if t.Type != "function" || t.Function.Name == "" {
				return in, badRequest("tools must be functions with a name")
			}
			params := t.Function.Parameters
			if len(params) == 0 || string(params) == "null" {
				params = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			in.Tools = append(in.Tools, agent.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: params})
		}
	}
	system, msgs, err := parseMessages(req.Messages)
	if err != nil {
		return in, err
	}
	in.System = system
	n := len(msgs)
	for n > 0 && msgs[n-1].Role == memory.RoleTool {
		n--
	}
	switch {
	case n < len(msgs):
		if n == 0 || len(msgs[n-1].ToolCalls) == 0 {
			return in, badRequest("tool results must follow the assistant message that called the tools")
		}
		in.Results = msgs[n:]
	case n > 0 && msgs[n-1].Role == memory.RoleUser:
		n--
		in.Text = msgs[n].Content
		if in.Text == "" {
			return in, badRequest("the last user message is empty")
		}
	default:
		return in, badRequest("the last message must be the user's (or tool results): there is nothing to answer")
	}
	in.Earlier = msgs[:n]
	return in, nil
}

// parseMessages reads a request's messages: the system prompt (system and
// developer messages, joined) and the rest, in order.
func parseMessages(in []oaiMessage) (string, []chatMsg, error) {
	if len(in) == 0 {
		return "", nil, badRequest("messages is empty: send at least one user message")
	}
	var system []string
	var msgs []chatMsg
	names := map[string]string{} // tool call id → tool name
	for i, m := range in {
		text, err := contentText(m.Content)
		if err != nil {
			return "", nil, badRequest("message " + itoa(int64(i)) + ": " + err.Error())
		}
		cm := chatMsg{Role: memory.Role(m.Role), Content: strings.TrimSpace(text)}
		switch m.Role {
		case "system", "developer":
			system = append(system, cm.Content)
			continue
		case "user":
			if cm.Content == "" && i < len(in)-1 {
				return "", nil, badRequest("message " + itoa(int64(i)) + " (user) is empty")
			}
		case "assistant":
			for _, c := range m.ToolCalls {
				args := json.RawMessage(c.Function.Arguments)
				if !json.Valid(args) {
					args, _ = json.Marshal(c.Function.Arguments)
				}
				cm.ToolCalls = append(cm.ToolCalls, agent.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: compactJSON(args)})
				names[c.ID] = c.Function.Name
			}
		case "tool":
			cm.ToolCallID, cm.ToolName = m.ToolCallID, names[m.ToolCallID]
		default:
			return "", nil, badRequest("message " + itoa(int64(i)) + " has role " + strconvQuote(m.Role) + ": use system, developer, user, assistant or tool")
		}
		msgs = append(msgs, cm)
	}
	return strings.Join(system, "\n\n"), msgs, nil
}

// contentText reads a message's content: a string, null, or an array of
// text parts.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errInvalidContent
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" && p.Type != "input_text" {
			return "", errorf(http.StatusBadRequest, "invalid", "content part of type "+strconvQuote(p.Type)+" is not supported: only text")
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

var errInvalidContent = errorf(http.StatusBadRequest, "invalid", "content must be a string or an array of text parts")

func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// toolCalls writes stored tool calls as OpenAI's.
func toolCalls(calls []agent.ToolCall, indexed bool) []oaiToolCall {
	out := make([]oaiToolCall, len(calls))
	for i, c := range calls {
		out[i].ID, out[i].Type = c.ID, "function"
		out[i].Function.Name, out[i].Function.Arguments = c.Name, string(c.Arguments)
		if indexed {
			out[i].Index = &i
		}
	}
	return out
}
