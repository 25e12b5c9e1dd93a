package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OpenAI is a backend that speaks the OpenAI chat completions API: vLLM,
// llama.cpp's server, LM Studio, exo, or Ollama's own /v1.
type OpenAI struct {
	name string
	// base ends in /v1 (or whatever prefix the server uses).
	base   *url.URL
	apiKey string
	http   *http.Client
}

// NewOpenAI returns a backend for an OpenAI-compatible server. base is the
// API root, e.g. http://127.0.0.1:8000/v1; apiKey may be empty.
func NewOpenAI(name string, base *url.URL, apiKey string) *OpenAI {
	b := *base
	b.Path = strings.TrimSuffix(b.Path, "/")
	return &OpenAI{name: name, base: &b, apiKey: apiKey, http: &http.Client{Transport: http.DefaultTransport}}
}

// Name implements Backend.
func (o *OpenAI) Name() string { return o.name }

// URL implements Backend.
func (o *OpenAI) URL() *url.URL { return o.base }

func (o *OpenAI) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.base.String()+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.apiKey)
	}
	resp, err := o.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s at %s is not answering (%v): start it or fix its URL in settings", ErrUnavailable, o.name, o.base.Redacted(), err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		text := strings.TrimSpace(string(msg))
		if json.Unmarshal(msg, &e) == nil && e.Error.Message != "" {
			text = e.Error.Message
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, fmt.Errorf("%s refused the API key (%s): set the right key for it in settings", o.name, text)
		case http.StatusNotFound:
			return nil, fmt.Errorf("%w: %s: %s", ErrModelNotFound, o.name, text)
		}
		return nil, fmt.Errorf("%s: %s: %s", o.name, resp.Status, text)
	}
	return resp, nil
}

// Models implements Backend.
func (o *OpenAI) Models(ctx context.Context) ([]ModelInfo, error) {
	resp, err := o.do(ctx, http.MethodGet, "/models", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			Created int64  `json:"created"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("%s: model list does not decode: %w", o.name, err)
	}
	out := make([]ModelInfo, 0, len(list.Data))
	for _, m := range list.Data {
		out = append(out, ModelInfo{Name: m.ID, Backend: o.name, Capabilities: []string{"completion", "tools"}, ModifiedAt: time.Unix(m.Created, 0).UTC()})
	}
	return out, nil
}

// Show implements Backend. The OpenAI API does not say a model's context
// length; the person sets it per model.
func (o *OpenAI) Show(ctx context.Context, model string) (ModelInfo, error) {
	models, err := o.Models(ctx)
	if err != nil {
		return ModelInfo{}, err
	}
	for _, m := range models {
		// Ollama's /v1 lists "NAME:latest" for "NAME".
		if m.Name == model || m.Name == model+":latest" {
			return m, nil
		}
	}
	return ModelInfo{}, fmt.Errorf("%w: %q is not served by %s: its models are listed by `cairn models`", ErrModelNotFound, model, o.name)
}

type oaMessage struct {
	Role       string       `json:"role"`
	Content    string       `json:"content"`
	ToolCalls  []oaToolCall `json:"tool_calls,omitempty"`
	ToolCallID string       `json:"tool_call_id,omitempty"`
	Name       string       `json:"name,omitempty"`
}

type oaToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaChunk struct {
	Choices []struct {
		Delta struct {
			Content   string       `json:"content"`
			ToolCalls []oaToolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// Chat implements Backend. The OpenAI API has no context-length option:
// NumCtx only bounds the prompt Cairn assembles.
func (o *OpenAI) Chat(ctx context.Context, req ChatRequest, onDelta func(Delta)) (ChatResponse, error) {
	body := map[string]any{
		"model": req.Model, "stream": true,
		"stream_options": map[string]any{"include_usage": true},
	}
	msgs := make([]oaMessage, 0, len(req.Messages))
	for _, m := range req.Messages {
		om := oaMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
		if m.Role == "tool" && om.ToolCallID == "" {
			om.Name = m.ToolName
		}
		for _, tc := range m.ToolCalls {
			var c oaToolCall
			c.ID, c.Type = tc.ID, "function"
			c.Function.Name, c.Function.Arguments = tc.Name, string(tc.Arguments)
			om.ToolCalls = append(om.ToolCalls, c)
		}
		msgs = append(msgs, om)
	}
	body["messages"] = msgs
	if req.NumPredict > 0 {
		body["max_tokens"] = req.NumPredict
	}
	if req.Temperature != nil {
		body["temperature"] = *req.Temperature
	}
	if req.Seed != 0 {
		body["seed"] = req.Seed
	}
	if len(req.Tools) > 0 {
		tools := make([]map[string]any, 0, len(req.Tools))
		for _, t := range req.Tools {
			tools = append(tools, map[string]any{"type": "function", "function": map[string]any{
				"name": t.Name, "description": t.Description, "parameters": t.Parameters,
			}})
		}
		body["tools"] = tools
	}
	if len(req.Format) > 0 {
		body["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "reply", "schema": req.Format, "strict": true}}
	}
	start := time.Now()
	out := ChatResponse{Message: Message{Role: "assistant"}}
	resp, err := o.do(ctx, http.MethodPost, "/chat/completions", body)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	var (
		content strings.Builder
		calls   []oaToolCall
	)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			break
		}
		var ch oaChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return out, fmt.Errorf("%s: a streamed chunk does not decode: %w", o.name, err)
		}
		if ch.Usage != nil {
			out.PromptTokens, out.OutputTokens = ch.Usage.PromptTokens, ch.Usage.CompletionTokens
		}
		for _, c := range ch.Choices {
			if c.Delta.Content != "" {
				if out.FirstToken == 0 {
					out.FirstToken = time.Since(start)
				}
				content.WriteString(c.Delta.Content)
				if onDelta != nil {
					onDelta(Delta{Content: c.Delta.Content})
				}
			}
			for _, tc := range c.Delta.ToolCalls {
				i := len(calls)
				if tc.Index != nil {
					i = *tc.Index
				}
				for len(calls) <= i {
					calls = append(calls, oaToolCall{})
				}
				if tc.ID != "" {
					calls[i].ID = tc.ID
				}
				calls[i].Function.Name += tc.Function.Name
				calls[i].Function.Arguments += tc.Function.Arguments
			}
			if c.FinishReason != nil {
				out.DoneReason = *c.FinishReason
			}
		}
	}
	out.Message.Content = content.String()
	out.Total = time.Since(start)
	for _, c := range calls {
		args := json.RawMessage(c.Function.Arguments)
		if !json.Valid(args) {
			args = json.RawMessage("{}")
		}
		out.Message.ToolCalls = append(out.Message.ToolCalls, ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: args})
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		return out, fmt.Errorf("%s: reply stream broke off: %w", o.name, err)
	}
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, nil
}

// Embed implements Backend.
func (o *OpenAI) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	resp, err := o.do(ctx, http.MethodPost, "/embeddings", map[string]any{"model": model, "input": texts})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: embeddings do not decode: %w", o.name, err)
	}
	if len(r.Data) != len(texts) {
		return nil, fmt.Errorf("%s: %s returned %d embeddings for %d texts", o.name, model, len(r.Data), len(texts))
	}
	out := make([][]float32, len(texts))
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= len(out) {
			return nil, errors.New(o.name + ": embedding index out of range")
		}
		out[d.Index] = d.Embedding
	}
	return out, nil
}
