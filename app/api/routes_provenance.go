package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// Provenance: a reply keeps the ids of the past messages that were in its
// prompt (memory.Message.RecalledIDs); this route gives the page what it
// shows under the reply: "from your conversation of 3 May: <title>", a
// link per message. Recall is memory, so a client without memory:read
// gets an empty list, as its chat turns recall nothing.

func (s *Server) routesProvenance() []route {
	return []route{
		{pattern: "GET /api/v1/messages/{id}/recalled", scope: ScopeChat, serve: s.recalledMessages,
			summary: "The past messages a reply was shown (recall), each with its conversation's id and title, role and date (the original time of an imported message); empty for a token without memory:read, and without the messages since deleted"},
	}
}

// recalledMessage is a message a reply was shown, as its link needs it.
type recalledMessage struct {
	ID                string      `json:"id"`
	ConversationID    string      `json:"conversation_id"`
	ConversationTitle string      `json:"conversation_title"`
	Role              memory.Role `json:"role"`
	CreatedAt         time.Time   `json:"created_at"`
}

func (s *Server) recalledMessages(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	m, err := s.cfg.Vault.Message(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := []recalledMessage{}
	if tok, _ := tokenFrom(ctx); !tok.Has(ScopeMemoryRead) {
		writeJSON(w, http.StatusOK, map[string]any{"recalled": out})
		return nil
	}
	titles := map[string]string{}
	for _, id := range m.RecalledIDs {
		past, err := s.cfg.Vault.Message(ctx, id)
		if errors.Is(err, memory.ErrNotFound) {
			continue // forgotten since: never shown again
		}
		if err != nil {
			return err
		}
		title, ok := titles[past.ConversationID]
		if !ok {
			c, err := s.cfg.Vault.Conversation(ctx, past.ConversationID)
			if errors.Is(err, memory.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			title, titles[past.ConversationID] = c.Title, c.Title
		}
		out = append(out, recalledMessage{ID: past.ID, ConversationID: past.ConversationID, ConversationTitle: title, Role: past.Role, CreatedAt: past.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"recalled": out})
	return nil
}
