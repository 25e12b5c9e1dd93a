package api

import (
	"net/http"

	"github.com/cairnlabs/cairn/agent"
)

// routesPrepare is the draft warm-up: the UI sends the draft while the
// person types (debounced), so that the turn they send finds its
// retrieval ready.
func (s *Server) routesPrepare() []route {
	return []route{
		{pattern: "POST /api/v1/chat/prepare", scope: ScopeChat, maxBody: chatBody, serve: s.prepareChat,
			summary: "Ready a turn for a draft while the person types (send it debounced): the model's details and, with memory:read, the draft's query embedding, so the turn sent with that text waits less; stores nothing, answers 204",
			fields:  "conversation_id, text, model"},
	}
}

// prepareChat readies a turn for a draft: the model's details and the
// draft's query embedding (only with memory:read, as for the turn). It
// stores nothing and answers 204.
func (s *Server) prepareChat(w http.ResponseWriter, r *http.Request) error {
	if err := s.needAgent(); err != nil {
		return err
	}
	var in struct {
		ConversationID string `json:"conversation_id"`
		Text           string `json:"text"`
		Model          string `json:"model"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	req := agent.PrepareRequest{ConversationID: in.ConversationID, Text: in.Text, Model: in.Model, Limits: limitsFor(r.Context())}
	if err := s.cfg.Agent.Prepare(r.Context(), req); err != nil {
		return s.turnCause(r.Context(), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
