package apitype

// ErrorBody is the one error shape of the API:
// {"error":{"code":"...","message":"..."}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error says what went wrong (Code, for programs) and what to do about it
// (Message, for people).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes that callers act on.
const (
	CodeInvalid  = "invalid"
	CodeNotFound = "not_found"
	CodeLocked   = "locked"
)
