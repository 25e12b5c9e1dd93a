package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// toolModel is a backend whose model calls the caller's tool first and
// answers the result after: the tiny model never calls tools for real.
type toolModel struct {
	mu   sync.Mutex
	seen []agent.ChatRequest
}

func (b *toolModel) Name() string  { return "lab" }
func (b *toolModel) URL() *url.URL { u, _ := url.Parse("http://127.0.0.1:1"); return u }
func (b *toolModel) Models(ctx context.Context) ([]agent.ModelInfo, error) {
	return []agent.ModelInfo{{Name: "caller", Backend: "lab", Capabilities: []string{"completion", "tools"}}}, nil
}
func (b *toolModel) Show(ctx context.Context, model string) (agent.ModelInfo, error) {
	if model != "caller" {
		return agent.ModelInfo{}, agent.ErrModelNotFound
	}
	return agent.ModelInfo{Name: model, Backend: "lab", Capabilities: []string{"completion", "tools"}}, nil
}
func (b *toolModel) Chat(ctx context.Context, req agent.ChatRequest, onDelta func(agent.Delta)) (agent.ChatResponse, error) {
	b.mu.Lock()
	b.seen = append(b.seen, req)
	b.mu.Unlock()
	last := req.Messages[len(req.Messages)-1]
	if last.Role == "tool" {
		text := "It is " + last.Content + "."
		onDelta(agent.Delta{Content: text})
		return agent.ChatResponse{Message: agent.Message{Role: "assistant", Content: text}, PromptTokens: 9, OutputTokens: 4, DoneReason: "stop"}, nil
	}
	call := agent.ToolCall{ID: "call_0", Name: "weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}
	return agent.ChatResponse{Message: agent.Message{Role: "assistant", ToolCalls: []agent.ToolCall{call}}, PromptTokens: 9, OutputTokens: 3, DoneReason: "stop"}, nil
}
func (b *toolModel) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	return nil, agent.ErrModelNotFound
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "weather", Description: openai.String("Weather in a city."),
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	})
}

// The caller's tools reach the model, a call comes back as tool_calls
// (not run by Cairn), and the follow-up with the result is stored in the
// same conversation.
func TestOpenAIToolsPassThrough(t *testing.T) {
	ctx := testCtx(t)
	b := &toolModel{}
	f := newOAIFixture(t, b, "caller")
	c := f.client(f.chatToken())
	history := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Oslo?")}
	var resp *http.Response
	comp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "caller", Messages: history, Tools: []openai.ChatCompletionToolUnionParam{weatherTool()}}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	conv := resp.Header.Get(headerConversation)
	choice := comp.Choices[0]
	if choice.FinishReason != "tool_calls" || len(choice.Message.ToolCalls) != 1 {
		t.Fatalf("choice %+v", choice)
	}
	call := choice.Message.ToolCalls[0]
	if call.Function.Name != "weather" || call.Function.Arguments != `{"city":"Oslo"}` || !strings.HasPrefix(call.ID, "call_") {
		t.Fatalf("call %+v", call)
	}
	if got := b.seen[0].Tools; len(got) != 1 || got[0].Name != "weather" {
		t.Fatalf("model was offered %+v", got)
	}

	// The result, streamed back: the reply answers it.
	history = append(history, choice.Message.ToParam(), openai.ToolMessage("sunny", call.ID))
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "caller", Messages: history, Tools: []openai.ChatCompletionToolUnionParam{weatherTool()}}, option.WithResponseInto(&resp))
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "It is sunny." {
		t.Fatalf("reply %q", got)
	}
	if got := resp.Header.Get(headerConversation); got != conv {
		t.Fatalf("follow-up in %s, want %s", got, conv)
	}
	if last := b.seen[1].Messages[len(b.seen[1].Messages)-1]; last.ToolCallID != call.ID || last.ToolName != "weather" {
		t.Fatalf("model saw the result as %+v", last)
	}
	msgs, err := f.vault.Messages(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range agent.Thread(msgs, "") {
		roles = append(roles, string(m.Role))
		if m.Role == memory.RoleTool && (m.ToolName != "weather" || m.Content != "sunny") {
			t.Fatalf("tool result stored as %+v", m)
		}
	}
	if got := strings.Join(roles, ","); got != "user,assistant,tool,assistant" || len(f.conversations()) != 1 {
		t.Fatalf("stored %s in %d conversations", got, len(f.conversations()))
	}

	// Streaming a call: the chunk carries the tool call, then tool_calls.
	stream = c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "caller", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("And Bergen?")}, Tools: []openai.ChatCompletionToolUnionParam{weatherTool()}})
	acc = openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if ch := acc.Choices[0]; ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Name != "weather" {
		t.Fatalf("streamed call %+v", ch)
	}
}

// Models of a backend other than the default are NAME/MODEL.
func TestOpenAIModelsOfSeveralBackends(t *testing.T) {
	f := newOAIFixture(t, nil, "")
	bs, err := agent.NewBackends(agent.NewOllama("ollama", ollama.URL), &toolModel{})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Vault: f.vault, Backends: bs, Tokens: f.tokens, Agent: f.agent})
	rec := httptest.NewRecorder()
	srv.InProcess().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/models", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `"id":"lab/caller"`) || !strings.Contains(body, `"owned_by":"lab"`) || !strings.Contains(body, `"id":"tiny:latest"`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
}
