package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Errors a backend returns, wrapped with what happened.
var (
	// ErrUnavailable means the backend could not be reached at all.
	ErrUnavailable = errors.New("backend not reachable")
	// ErrModelNotFound means the backend does not have the model.
	ErrModelNotFound = errors.New("model not found")
	// ErrNoModel means the turn named no model and there is no default.
	ErrNoModel = errors.New("no model chosen")
	// ErrRegistryUnreachable means Ollama runs but could not reach the
	// registry a pull needs (offline, or a registry that does not answer).
	ErrRegistryUnreachable = errors.New("no connection to the model registry")
)

// Backend is a server that runs models: Ollama, or anything that speaks the
// OpenAI chat API (vLLM, llama.cpp's server, LM Studio, exo).
type Backend interface {
	// Name is how the person refers to the backend ("ollama", "lab").
	Name() string
	// URL is where the backend listens; Remote is derived from it.
	URL() *url.URL
	// Models lists what the backend can run.
	Models(ctx context.Context) ([]ModelInfo, error)
	// Show describes one model.
	Show(ctx context.Context, model string) (ModelInfo, error)
	// Chat runs one completion, calling onDelta for each streamed piece. A
	// cancelled ctx stops it; what arrived is returned with the error.
	Chat(ctx context.Context, req ChatRequest, onDelta func(Delta)) (ChatResponse, error)
	// Embed returns one vector per text.
	Embed(ctx context.Context, model string, texts []string) ([][]float32, error)
}

// Puller is a backend that can download models.
type Puller interface {
	Pull(ctx context.Context, model string, insecure bool, progress func(PullProgress)) error
}

// PullProgress is one step of a download.
type PullProgress struct {
	Status    string `json:"status"`
	Digest    string `json:"digest,omitempty"`
	Total     int64  `json:"total,omitempty"`
	Completed int64  `json:"completed,omitempty"`
}

// ModelInfo describes a model.
type ModelInfo struct {
	Name string `json:"name"`
	// Backend is the name of the backend that runs it.
	Backend string `json:"backend"`
	Size    int64  `json:"size,omitempty"`
	Family  string `json:"family,omitempty"`
	Params  string `json:"parameters,omitempty"`
	Quant   string `json:"quantization,omitempty"`
	// TrainedContext is the context length the model was trained with;
	// the prompt budget is the num_ctx Cairn sends, never this.
	TrainedContext int       `json:"trained_context,omitempty"`
	Capabilities   []string  `json:"capabilities,omitempty"`
	ModifiedAt     time.Time `json:"modified_at,omitzero"`
	// Device is the name of the person's other device that runs the model
	// (over the paired mesh); empty for this device's backends.
	Device string `json:"device,omitempty"`
	// Offline says the device is out of reach: the model is what it
	// offered when last seen.
	Offline bool `json:"offline,omitempty"`
}

// Can reports whether the model has a capability ("tools", "embedding").
func (m ModelInfo) Can(capability string) bool {
	return slices.Contains(m.Capabilities, capability)
}

// Message is one chat message as backends see it.
type Message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	ToolName  string     `json:"tool_name,omitempty"`
	// ToolCallID pairs a tool result with its call (OpenAI backends).
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolCall is the model asking for a tool.
type ToolCall struct {
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// Tool is a function the model may call; Parameters is a JSON schema.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// ChatRequest is one completion request.
type ChatRequest struct {
	Model    string
	Messages []Message
	Tools    []Tool
	// Format is a JSON schema the reply must follow (Ollama constrains
	// decoding with it); nil for free text.
	Format json.RawMessage
	// NumCtx is the context window to run the model with. Always set:
	// Ollama silently cuts the start of a prompt longer than its window.
	NumCtx int
	// NumPredict caps the reply's tokens; 0 leaves the backend's default.
	NumPredict  int
	Temperature *float64
	Seed        int
}

// Delta is a streamed piece of a reply.
type Delta struct {
	Content string
}

// ChatResponse is a finished (or stopped) reply.
type ChatResponse struct {
	Message      Message
	PromptTokens int
	OutputTokens int
	DoneReason   string
	// FirstToken is the time from sending the request to the first token.
	FirstToken time.Duration
	Total      time.Duration
}

// IsLoopback reports whether a backend URL's host is this machine. A
// backend on any other host is remote: memories go to it only when the
// person allows it.
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
