package apitype

import "github.com/cairnlabs/cairn/agent"

// ModelList is GET /api/v1/models: the models of every backend, the
// default backend's first, others' names prefixed "backend/".
type ModelList struct {
	Models []agent.ModelInfo `json:"models"`
	// Unreachable lists the backends besides the default that did not
	// answer (the default's failure is the request's error).
	Unreachable []BackendError `json:"unreachable,omitempty"`
}

// BackendError is a backend that did not answer, and why.
type BackendError struct {
	Backend string `json:"backend"`
	Error   string `json:"error"`
}

// PullRequest is the body of POST /api/v1/models/pull.
type PullRequest struct {
	Name     string `json:"name"`
	Insecure bool   `json:"insecure,omitempty"`
}
