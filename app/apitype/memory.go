package apitype

import "github.com/cairnlabs/cairn/memory"

// MaxMemoryLimit is the most memories one search returns, and the most one
// listing returns unless it asks for all of them.
const MaxMemoryLimit = 1000

// DefaultMemoryLimit is how many memories GET /api/v1/memories returns when
// the request names no limit.
const DefaultMemoryLimit = 50

// MemoryQuery is what GET /api/v1/memories takes, in its query string.
type MemoryQuery struct {
	// Text is what to search for (q). Without it, the route lists memories,
	// most recently changed first.
	Text string
	// Mode is hybrid (the default), keyword or vector.
	Mode memory.Mode
	// Kind and Tag keep only memories of that kind, with that tag.
	Kind memory.ItemKind
	Tag  string
	// Limit is the most memories to return, 1 to MaxMemoryLimit; a listing
	// (no Text) may ask for 0, meaning all of them.
	Limit int
}

// Memory is a memory on the wire; a search result also has its score and
// the snippet that matched.
type Memory struct {
	memory.Item
	Score   *float64 `json:"score,omitempty"`
	Snippet string   `json:"snippet,omitempty"`
}

// MemoryList answers GET /api/v1/memories.
type MemoryList struct {
	Memories []Memory `json:"memories"`
}

// MemoryInput is the body of POST /api/v1/memories (text required) and of
// PATCH /api/v1/memories/{id} (only the fields given change).
type MemoryInput struct {
	Kind   *memory.ItemKind `json:"kind,omitempty"`
	Text   *string          `json:"text,omitempty"`
	Tags   *[]string        `json:"tags,omitempty"`
	Pinned *bool            `json:"pinned,omitempty"`
}

// Revisions answers GET /api/v1/memories/{id}/revisions: the earlier
// versions, oldest first.
type Revisions struct {
	Revisions []memory.Item `json:"revisions"`
}

// ForgottenList answers GET /api/v1/memories/forgotten: the memories a
// model (or an API client) forgot, hidden but restorable with POST
// /api/v1/memories/{id}/restore for memory.SoftForgetWindow after their
// forgotten_at; most recently forgotten first.
type ForgottenList struct {
	Memories []memory.Item `json:"memories"`
}
