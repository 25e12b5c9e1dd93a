package client

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// Error is an error the API answered with. errors.Is matches it to the
// memory package's sentinels by its code, so a caller handles a missing
// memory the same way whether it asked the API or the vault.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code and Message are the API's apitype.Error.
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches memory.ErrNotFound, memory.ErrInvalid and memory.ErrLocked.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case apitype.CodeNotFound:
		return target == memory.ErrNotFound
	case apitype.CodeInvalid:
		return target == memory.ErrInvalid
	case apitype.CodeLocked:
		return target == memory.ErrLocked
	}
	return false
}

func readError(resp *http.Response) error {
	var body apitype.ErrorBody
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	e := &Error{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
	if e.Message == "" {
		e.Message = "the API answered " + resp.Status
	}
	return e
}
