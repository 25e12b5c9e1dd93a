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

// GymTasks answers GET and POST /api/v1/gym/gyms/{id}/tasks: the gym's
// task sets (from its manifest) and the tasks fetched from it and not
// done yet.
type GymTasks struct {
	Gym     string        `json:"gym"`
	Name    string        `json:"name"`
	License string        `json:"license"`
	Sets    []gym.TaskSet `json:"sets"`
	Tasks   []gym.Task    `json:"tasks"`
}

// GymTaskFetch is the body of POST /api/v1/gym/gyms/{id}/tasks: fetch up
// to N (default 5) tasks of Set (default the gym's first) from the gym.
type GymTaskFetch struct {
	Set string `json:"set,omitempty"`
	N   int    `json:"n,omitempty"`
}

// GymTaskResults is the body of POST /api/v1/gym/gyms/{id}/tasks/review
// (Results only) and …/tasks/submit: the person's results (Choice is
// 0-based), and for a submit the items approved by hash under the gym's
// licence.
type GymTaskResults struct {
	Results       []gym.TaskResult `json:"results"`
	Approve       []string         `json:"approve,omitempty"`
	AcceptLicense string           `json:"accept_license,omitempty"`
	// Send, when false, leaves what was approved in the outbox; nil or
	// true sends it at once.
	Send *bool `json:"send,omitempty"`
}

// GymTaskSubmitted is what POST /api/v1/gym/gyms/{id}/tasks/submit
// answers.
type GymTaskSubmitted struct {
	Envelopes []string        `json:"envelopes"`
	Approved  int             `json:"approved"`
	Sent      *gym.SendReport `json:"sent,omitempty"`
}

// GymList answers GET /api/v1/gym/gyms: the gyms the person added.
type GymList struct {
	Gyms []gym.GymInfo `json:"gyms"`
}

// GymAddress is the body of POST /api/v1/gym/gyms.
type GymAddress struct {
	Address string `json:"address"`
}

// GymOutbox answers GET /api/v1/gym/outbox.
type GymOutbox struct {
	Outbox []gym.OutboxEntry `json:"outbox"`
}

// GymReceipts answers GET /api/v1/gym/gyms/{id}/receipts.
type GymReceipts struct {
	Receipts []gym.KeptReceipt `json:"receipts"`
}

// GymRevocation is the body of POST /api/v1/gym/gyms/{id}/revoke: the
// hashes of the items to withdraw.
type GymRevocation struct {
	Items []string `json:"items"`
}

// GymRevoked is what POST /api/v1/gym/gyms/{id}/revoke answers: the
// revocation's id and what sending it did.
type GymRevoked struct {
	Revocation string         `json:"revocation"`
	Sent       gym.SendReport `json:"sent"`
}
