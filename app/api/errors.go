package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// apiError is the one error shape: {"error":{"code":"...","message":"..."}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

// writeError answers with the error's status and shape; errors from the
// vault and the agent map to the status that says what went wrong.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = classify(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(apitype.ErrorBody{Error: apitype.Error{Code: ae.Code, Message: ae.Message}})
}

func classify(err error) *apiError {
	switch {
	case errors.Is(err, memory.ErrLocked):
		return errorf(http.StatusLocked, apitype.CodeLocked, "the vault is locked: POST /api/v1/unlock with the passphrase (admin token)")
	case errors.Is(err, memory.ErrNotFound):
		return errorf(http.StatusNotFound, apitype.CodeNotFound, err.Error())
	case errors.Is(err, memory.ErrInvalid):
		return errorf(http.StatusBadRequest, apitype.CodeInvalid, err.Error())
	case errors.Is(err, memory.ErrNoEmbedder):
		return errorf(http.StatusConflict, "no_embedding_model", err.Error())
	case errors.Is(err, memory.ErrWrongPassphrase):
		return errorf(http.StatusForbidden, "wrong_passphrase", "wrong passphrase: nothing was changed")
	case errors.Is(err, memory.ErrNewerSchema):
		return errorf(http.StatusConflict, "newer_schema", err.Error())
	case errors.Is(err, agent.ErrModelNotFound):
		return errorf(http.StatusNotFound, "model_not_found", err.Error())
	case errors.Is(err, agent.ErrNoModel):
		return errorf(http.StatusBadRequest, "no_model", "no model chosen: send \"model\", or set a default model (the app's Settings, or `cairn models use NAME`)")
	case errors.Is(err, agent.ErrRegistryUnreachable):
		return errorf(http.StatusBadGateway, "registry_unreachable", err.Error())
	case errors.Is(err, agent.ErrNotShared):
		return errorf(http.StatusForbidden, "not_shared", err.Error())
	case errors.Is(err, agent.ErrDeviceOffline):
		return errorf(http.StatusServiceUnavailable, "device_offline", err.Error())
	case errors.Is(err, agent.ErrUnavailable):
		return errorf(http.StatusBadGateway, "backend_unavailable", err.Error())
	case errors.Is(err, agent.ErrPromptTooLong):
		return errorf(http.StatusRequestEntityTooLarge, "prompt_too_long", err.Error())
	}
	return errorf(http.StatusInternalServerError, "internal", err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readJSON decodes a request body into v, refusing unknown fields and
// trailing data, with errors that say what was wrong.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "too_large", "the request body is over this route's limit of "+itoa(mbe.Limit)+" bytes")
		}
		return errorf(http.StatusBadRequest, "bad_json", "the request body is not the JSON this route takes: "+err.Error())
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "bad_json", "the request body has data after the JSON object")
	}
	return nil
}
