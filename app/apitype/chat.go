package apitype

import "github.com/cairnlabs/cairn/memory"

// ChatRequest is the body of POST /api/v1/chat: one message from the
// person. With Stream the answer is Server-Sent Events: one "start"
// (ChatStart), "delta" events (ChatDelta), then "done" (Turn) or "error"
// (ErrorBody with a "turn", null when nothing was stored). A client that
// knows only delta, done and error may ignore start.
type ChatRequest struct {
	// ConversationID continues a conversation; "" starts one.
	ConversationID string `json:"conversation_id,omitempty"`
	// ParentID is the message this one follows; "" is the newest.
	ParentID string `json:"parent_id,omitempty"`
	// Root makes the message a new first message (an edit of the first).
	Root bool   `json:"root,omitempty"`
	Text string `json:"text"`
	// Model overrides the default model for this turn.
	Model  string `json:"model,omitempty"`
	Stream bool   `json:"stream,omitempty"`
}

// RegenerateRequest is the body of POST /api/v1/messages/{id}/regenerate
// (optional): the reply {id} is answered again, as a new branch.
type RegenerateRequest struct {
	Model  string `json:"model,omitempty"`
	Stream bool   `json:"stream,omitempty"`
}

// ChatStart is a chat stream's "start" event: where the turn is stored,
// sent once the person's message is, before the first delta. A client that
// stops the reply goes on from here; the part that arrived is stored,
// marked incomplete.
type ChatStart struct {
	ConversationID string `json:"conversation_id"`
	// MessageID is the person's stored message.
	MessageID string `json:"message_id"`
}

// ChatDelta is a "delta" event: the next piece of the reply.
type ChatDelta struct {
	Text string `json:"text"`
}

// Turn is a finished turn: the answer to a chat or regenerate request, and
// a stream's "done" event.
type Turn struct {
	Conversation memory.Conversation `json:"conversation"`
	User         memory.Message      `json:"user"`
	Reply        memory.Message      `json:"reply"`
	// Tools are the tool calls and results stored on the way.
	Tools []memory.Message `json:"tools,omitempty"`
}
