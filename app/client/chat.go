package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/app/apitype"
)

// ChatEvent is one event of a streamed turn, as it arrives: the start
// (where the turn is stored), or the next piece of the reply's text.
type ChatEvent struct {
	// Start is set on the first event only.
	Start *apitype.ChatStart
	// Text is the next piece of the reply.
	Text string
}

// Chat sends one message and streams the reply, calling fn with each
// event. A cancelled ctx stops the reply: the part that arrived is stored,
// marked incomplete, and the returned turn then carries the conversation
// and the person's message from the start event (when it came) with
// ctx's error.
func (c *Client) Chat(ctx context.Context, req apitype.ChatRequest, fn func(ChatEvent)) (apitype.Turn, error) {
	if !utf8.ValidString(req.Text) {
		// JSON would turn the bad bytes into U+FFFD and store that.
		return apitype.Turn{}, notUTF8("the message")
	}
	req.Stream = true
	return c.turn(ctx, "/api/v1/chat", req, fn)
}

// Regenerate answers again the user message that reply answered, as a new
// branch beside it, streaming as Chat does (with no start event: the turn
// is stored where reply is). model "" keeps the reply's.
func (c *Client) Regenerate(ctx context.Context, reply, model string, fn func(ChatEvent)) (apitype.Turn, error) {
	return c.turn(ctx, "/api/v1/messages/"+url.PathEscape(reply)+"/regenerate", apitype.RegenerateRequest{Model: model, Stream: true}, fn)
}

// turn posts a streamed turn and reads its events.
func (c *Client) turn(ctx context.Context, path string, body any, fn func(ChatEvent)) (apitype.Turn, error) {
	var turn apitype.Turn
	resp, err := c.send(ctx, "POST", path, nil, body)
	if err != nil {
		return turn, err
	}
	defer resp.Body.Close()
	done := false
	err = readEvents(resp.Body, func(event string, data []byte) error {
		switch event {
		case "start":
			var st apitype.ChatStart
			if err := json.Unmarshal(data, &st); err != nil {
				return fmt.Errorf("%s sent a start event the client cannot read: %w", c.server, err)
			}
			turn.Conversation.ID, turn.User.ID = st.ConversationID, st.MessageID
			fn(ChatEvent{Start: &st})
		case "delta":
			var d apitype.ChatDelta
			if err := json.Unmarshal(data, &d); err != nil {
				return fmt.Errorf("%s sent a piece of the reply the client cannot read: %w", c.server, err)
			}
			fn(ChatEvent{Text: d.Text})
		case "done":
			if err := json.Unmarshal(data, &turn); err != nil {
				return fmt.Errorf("%s sent a finished turn the client cannot read: %w", c.server, err)
			}
			done = true
		case "error":
			var stopped struct {
				Turn *apitype.Turn `json:"turn"`
			}
			if json.Unmarshal(data, &stopped) == nil && stopped.Turn != nil {
				turn = *stopped.Turn
			}
			return streamError(data)
		}
		return nil
	})
	if ctx.Err() != nil {
		return turn, ctx.Err()
	}
	if err == nil && !done {
		err = errStreamCut
	}
	return turn, err
}
