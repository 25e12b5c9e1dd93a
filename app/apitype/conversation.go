package apitype

import "github.com/cairnlabs/cairn/memory"

// ConversationList answers GET /api/v1/conversations (?limit=N, 0 for all;
// the default is DefaultConversationLimit), most recent first.
type ConversationList struct {
	Conversations []memory.Conversation `json:"conversations"`
}

// DefaultConversationLimit is how many conversations a listing returns
// when the request names no limit.
const DefaultConversationLimit = 50

// ConversationDetail answers GET /api/v1/conversations/{id}: every message
// of every branch, oldest first, and the head, the newest message of the
// latest branch, where the conversation continues.
type ConversationDetail struct {
	Conversation memory.Conversation `json:"conversation"`
	Messages     []memory.Message    `json:"messages"`
	Head         string              `json:"head"`
}

// ConversationPatch is the body of PATCH /api/v1/conversations/{id}.
type ConversationPatch struct {
	Title *string `json:"title"`
}

// FeedbackInput is the body of POST /api/v1/messages/{id}/feedback: a
// rating (1 or -1, 0 for none), a comment, the answer wanted instead, or
// the reply marked preferred among its regenerations.
type FeedbackInput struct {
	Rating     int    `json:"rating,omitempty"`
	Comment    string `json:"comment,omitempty"`
	Correction string `json:"correction,omitempty"`
	Preferred  bool   `json:"preferred,omitempty"`
}
