package apitype

import "github.com/cairnlabs/cairn/gym"

// GymReview is GET /api/v1/gym/gyms/{id}/review: what the person's
// feedback would give the gym, item by item, in the exact bytes sent.
type GymReview struct {
	Gym     string          `json:"gym"`
	Name    string          `json:"name"`
	License string          `json:"license"`
	Items   []gym.Candidate `json:"items"`
}

// GymDecision is the body of POST /api/v1/gym/gyms/{id}/approve: items
// approved and declined by their full hash.
type GymDecision struct {
	Approve       []string `json:"approve,omitempty"`
	Decline       []string `json:"decline,omitempty"`
	AcceptLicense string   `json:"accept_license,omitempty"`
	// Send, when false, leaves what was approved in the outbox; nil or
	// true sends it at once.
	Send *bool `json:"send,omitempty"`
}

// GymDecided is what POST /api/v1/gym/gyms/{id}/approve answers.
type GymDecided struct {
	Envelopes []string        `json:"envelopes"`
	Approved  int             `json:"approved"`
	Declined  int             `json:"declined"`
	Sent      *gym.SendReport `json:"sent,omitempty"`
}
