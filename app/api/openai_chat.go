package api

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// Headers of the OpenAI-compatible chat route.
const (
	// headerMemory "off" skips memory: nothing is recalled or stored.
	headerMemory = "X-Cairn-Memory"
	// headerConversation names the stored conversation a request
	// continues, and every response's conversation.
	headerConversation = "X-Cairn-Conversation"
)

// chatCompletions answers POST /v1/chat/completions. With memory (the
// default) the turn goes through the agent: relevant memories enter the
// prompt and the exchange is stored, appended to the stored conversation
// the request's history continues.
func (o *openAI) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	var req oaiChatRequest
	if err := readLenient(r, &req); err != nil {
		return err
	}
	in, err := parseChat(req)
	if err != nil {
		return err
	}
	a := o.s.cfg.Agent
	if a == nil || o.s.cfg.Backends == nil {
		return errorf(http.StatusServiceUnavailable, "no_agent", "this server has no chat models configured")
	}
	ctx := r.Context()
	if in.Model == "" {
		return badRequest("model is required: GET /v1/models lists them")
	}
	// Ask the backend first: when it is down or lacks the model, nothing
	// is stored.
	b, name, err := o.s.cfg.Backends.Resolve(in.Model)
	if err != nil {
		return badRequest(err.Error())
	}
	if _, err := o.s.cfg.Backends.Show(ctx, b, name); err != nil {
		return err
	}
	out := newCompletion(w, in)
	if strings.EqualFold(strings.TrimSpace(r.Header.Get(headerMemory)), "off") {
		return o.direct(ctx, out, in, b, name)
	}
	conv, leaf, err := o.thread(ctx, r.Header.Get(headerConversation), in)
	if err != nil {
		return err
	}
	w.Header().Set(headerConversation, conv)
	turn := agent.TurnRequest{
		ConversationID: conv, ParentID: leaf, Text: in.Text, Model: in.Model, System: in.System,
		Tools: in.Tools, Limits: limitsFor(ctx),
		MaxTokens: in.Max, Temperature: in.Temp, Seed: in.Seed, Format: in.Format,
	}
	for _, m := range in.Results {
		turn.ToolResults = append(turn.ToolResults, agent.ToolResult{CallID: m.ToolCallID, Name: m.ToolName, Content: m.Content})
	}
	res, err := a.Chat(ctx, turn, out.delta)
	if err != nil {
		return out.fail(err)
	}
	var calls []agent.ToolCall
	for _, c := range res.Reply.ToolCalls {
		calls = append(calls, agent.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
	}
	reply := chatMsg{Role: memory.RoleAssistant, Content: strings.TrimSpace(res.Reply.Content), ToolCalls: calls}
	o.threads.put(append(seen(in), reply), conv)
	var usage oaiUsage
	if st := res.Reply.Stats; st != nil {
		usage = oaiUsage{Prompt: st.PromptTokens, Completion: st.OutputTokens, Total: st.PromptTokens + st.OutputTokens}
	}
	out.finish(res.Reply.Content, calls, res.DoneReason, usage)
	return nil
}

// direct sends the request's messages to the backend as they are: no
// memory, nothing stored.
func (o *openAI) direct(ctx context.Context, out *completion, in chatInput, b agent.Backend, name string) error {
	var msgs []agent.Message
	estimate := 0
	if in.System != "" {
		msgs = append(msgs, agent.Message{Role: "system", Content: in.System})
	}
	for _, m := range seen(in) {
		msgs = append(msgs, agent.Message{Role: string(m.Role), Content: m.Content, ToolCalls: m.ToolCalls, ToolName: m.ToolName, ToolCallID: m.ToolCallID})
	}
	for _, m := range msgs {
		estimate += 8 + agent.EstimateTokens(m.Content)
	}
	numCtx := o.s.cfg.Agent.NumCtx(in.Model)
	numPredict := in.Max
	if numPredict <= 0 {
		// Fill what the window leaves, so that Ollama never shifts the
		// prompt out while it answers.
		numPredict = max(numCtx-estimate, numCtx/4)
	}
	creq := agent.ChatRequest{Model: name, Messages: msgs, Tools: in.Tools, Format: in.Format, NumCtx: numCtx, NumPredict: numPredict, Temperature: in.Temp, Seed: in.Seed}
	resp, err := b.Chat(ctx, creq, func(d agent.Delta) { out.delta(d.Content) })
	if err != nil {
		return out.fail(err)
	}
	calls := resp.Message.ToolCalls
	for i := range calls {
		calls[i].ID = "call_" + rand.Text()[:24]
	}
	out.finish(resp.Message.Content, calls, resp.DoneReason, oaiUsage{Prompt: resp.PromptTokens, Completion: resp.OutputTokens, Total: resp.PromptTokens + resp.OutputTokens})
	return nil
}

// seen is the request's history as the model answers it: the earlier
// messages and the turn's own (system messages aside).
func seen(in chatInput) []chatMsg {
	out := append([]chatMsg(nil), in.Earlier...)
	if in.Text != "" {
		return append(out, chatMsg{Role: memory.RoleUser, Content: in.Text})
	}
	return append(out, in.Results...)
}
