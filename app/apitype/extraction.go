package apitype

import "github.com/cairnlabs/cairn/agent"

// ExtractionRequest is the body of POST /api/v1/extractions: the person's
// messages to read, by id or by conversation (their messages of it), and
// the model ("" is the default model).
type ExtractionRequest struct {
	MessageIDs      []string `json:"message_ids,omitempty"`
	ConversationIDs []string `json:"conversation_ids,omitempty"`
	Model           string   `json:"model,omitempty"`
}

// Extraction is one extraction job and its progress: counts, never text.
// The events stream sends it as an "extraction" event at each change.
type Extraction = agent.ExtractionJob

// ExtractionList answers GET /api/v1/extractions, the latest started first.
type ExtractionList struct {
	Extractions []Extraction `json:"extractions"`
}
