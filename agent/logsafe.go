package agent

import (
	"encoding/json"
	"errors"

	"github.com/cairnlabs/cairn/memory"
)

// What a person typed, what a model wrote, quotes and memory text never
// reach a log line: logs end up in terminals, files and bug reports. An
// error that may quote input is logged by its kind alone.

// safeErr is err for a log line. Errors about invalid input or a missing
// record can quote what the model or the person wrote (a kind, an id, a
// tag), so only their kind is kept; the rest (the disk, the network, a
// backend's status) say nothing of the conversation.
func safeErr(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, memory.ErrInvalid):
		return memory.ErrInvalid.Error()
	case errors.Is(err, memory.ErrNotFound):
		return memory.ErrNotFound.Error()
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "not JSON"
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "JSON of the wrong shape"
	}
	return err.Error()
}
