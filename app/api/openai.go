package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/cairnlabs/cairn/agent"
)

// openAI serves the OpenAI-compatible routes; it keeps which stored
// conversation each recent chat history continues.
type openAI struct {
	s       *Server
	threads *threadCache
}

// routesOpenAI are the OpenAI-compatible routes under /v1.
func (s *Server) routesOpenAI() []route {
	o := &openAI{s: s, threads: newThreadCache(4096)}
	return []route{
		{pattern: "GET /v1/models", scope: ScopeChat, serve: o.models},
		{pattern: "POST /v1/embeddings", scope: ScopeChat, maxBody: chatBody, serve: o.embeddings},
		{pattern: "POST /v1/chat/completions", scope: ScopeChat, maxBody: chatBody, stream: true, serve: o.chatCompletions},
	}
}

// oaiModel is one entry of GET /v1/models.
type oaiModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// models lists the models of every backend; those of backends other than
// the default are named "NAME/MODEL", as chat requests name them.
func (o *openAI) models(w http.ResponseWriter, r *http.Request) error {
	bs := o.s.cfg.Backends
	if bs == nil {
		return errorf(http.StatusServiceUnavailable, "no_backends", "this server has no model backends configured")
	}
	data := []oaiModel{}
	var errs []error
	for i, b := range bs.All() {
		list, err := b.Models(r.Context())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range list {
			id := m.Name
			if i > 0 {
				id = b.Name() + "/" + m.Name
			}
			data = append(data, oaiModel{ID: id, Object: "model", Created: m.ModifiedAt.Unix(), OwnedBy: b.Name()})
		}
	}
	if len(data) == 0 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	return nil
}

// embeddings embeds one text or several through the backend that runs the
// model.
func (o *openAI) embeddings(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := readLenient(r, &in); err != nil {
		return err
	}
	var texts []string
	var one string
	switch {
	case json.Unmarshal(in.Input, &one) == nil:
		texts = []string{one}
	case json.Unmarshal(in.Input, &texts) == nil:
	default:
		return errorf(http.StatusBadRequest, "invalid", "input must be a string or an array of strings (token arrays are not supported)")
	}
	if len(texts) == 0 || in.Model == "" {
		return errorf(http.StatusBadRequest, "invalid", "model and input are required")
	}
	if o.s.cfg.Backends == nil {
		return errorf(http.StatusServiceUnavailable, "no_backends", "this server has no model backends configured")
	}
	b, name, err := o.s.cfg.Backends.Resolve(in.Model)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid", err.Error())
	}
	vecs, err := b.Embed(r.Context(), name, texts)
	if err != nil {
		return err
	}
	type datum struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]datum, len(vecs))
	tokens := 0
	for i, v := range vecs {
		data[i] = datum{Object: "embedding", Index: i, Embedding: v}
	}
	for _, t := range texts {
		tokens += agent.EstimateTokens(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": in.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
	return nil
}

// readLenient decodes a request body as OpenAI clients send it: fields
// this server does not know are ignored (clients send many), but the body
// must be one JSON object.
func readLenient(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return errorf(http.StatusBadRequest, "bad_json", "the request body has data after the JSON object")
		}
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the request body is over this route's limit of "+itoa(mbe.Limit)+" bytes")
	}
	return errorf(http.StatusBadRequest, "bad_json", "the request body is not the JSON this route takes: "+err.Error())
}

// unixNow is the "created" of completions.
func unixNow() int64 { return time.Now().Unix() }
