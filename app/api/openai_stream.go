package api

import (
	"crypto/rand"
	"encoding/json"
	"net/http"

	"github.com/cairnlabs/cairn/agent"
)

// oaiUsage is a completion's token counts.
type oaiUsage struct {
	Prompt     int `json:"prompt_tokens"`
	Completion int `json:"completion_tokens"`
	Total      int `json:"total_tokens"`
}

// oaiChoice is a choice of a completion or of a streamed chunk.
type oaiChoice struct {
	Index        int       `json:"index"`
	Message      *oaiReply `json:"message,omitempty"`
	Delta        *oaiReply `json:"delta,omitempty"`
	FinishReason *string   `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

// oaiReply is the assistant's message, or a streamed piece of it.
type oaiReply struct {
	Role      string        `json:"role,omitempty"`
	Content   *string       `json:"content,omitempty"`
	ToolCalls []oaiToolCall `json:"tool_calls,omitempty"`
}

type oaiCompletion struct {
	ID      string      `json:"id"`
	Object  string      `json:"object"`
	Created int64       `json:"created"`
	Model   string      `json:"model"`
	Choices []oaiChoice `json:"choices"`
	Usage   *oaiUsage   `json:"usage,omitempty"`
}

// completion writes one answer, as a chat.completion object or, when
// streaming, as chat.completion.chunk events. The stream starts with the
// first piece of the reply, so an error before it is still answered with
// the error shape and its status.
type completion struct {
	w       http.ResponseWriter
	in      chatInput
	id      string
	created int64
	started bool
}

func newCompletion(w http.ResponseWriter, in chatInput) *completion {
	return &completion{w: w, in: in, id: "chatcmpl-" + rand.Text()[:24], created: unixNow()}
}

func (c *completion) obj(object string) oaiCompletion {
	return oaiCompletion{ID: c.id, Object: object, Created: c.created, Model: c.in.Model}
}

func (c *completion) start() {
	if c.started {
		return
	}
	c.started = true
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	empty := ""
	c.chunk(oaiChoice{Delta: &oaiReply{Role: "assistant", Content: &empty}})
}

func (c *completion) chunk(choices ...oaiChoice) {
	o := c.obj("chat.completion.chunk")
	o.Choices = append([]oaiChoice{}, choices...)
	c.event(o)
}

func (c *completion) event(v any) {
	b, _ := json.Marshal(v)
	c.w.Write([]byte("data: "))
	c.w.Write(b)
	c.w.Write([]byte("\n\n"))
	http.NewResponseController(c.w).Flush()
}

// delta streams a piece of the reply.
func (c *completion) delta(s string) {
	if !c.in.Stream || s == "" {
		return
	}
	c.start()
	c.chunk(oaiChoice{Delta: &oaiReply{Content: &s}})
}

// fail answers an error: in the error shape when nothing was sent yet
// (the handler writes it), else as a last event of the stream.
func (c *completion) fail(err error) error {
	if !c.started {
		return err
	}
	ae, ok := err.(*apiError)
	if !ok {
		ae = classify(err)
	}
	c.event(map[string]*apiError{"error": ae})
	return nil
}

// finish sends the end of the reply: the whole completion, or the last
// chunks and [DONE].
func (c *completion) finish(content string, calls []agent.ToolCall, doneReason string, usage oaiUsage) {
	reason := "stop"
	switch {
	case len(calls) > 0:
		reason = "tool_calls"
	case doneReason == "length":
		reason = "length"
	}
	if !c.in.Stream {
		o := c.obj("chat.completion")
		msg := &oaiReply{Role: "assistant", Content: &content, ToolCalls: toolCalls(calls, false)}
		if len(calls) > 0 && content == "" {
			msg.Content = nil
		}
		o.Choices = []oaiChoice{{Message: msg, FinishReason: &reason}}
		o.Usage = &usage
		writeJSON(c.w, http.StatusOK, o)
		return
	}
	c.start()
	if len(calls) > 0 {
		c.chunk(oaiChoice{Delta: &oaiReply{ToolCalls: toolCalls(calls, true)}})
	}
	c.chunk(oaiChoice{Delta: &oaiReply{}, FinishReason: &reason})
	if c.in.Usage {
		o := c.obj("chat.completion.chunk")
		o.Choices = []oaiChoice{}
		o.Usage = &usage
		c.event(o)
	}
	c.w.Write([]byte("data: [DONE]\n\n"))
	http.NewResponseController(c.w).Flush()
}
