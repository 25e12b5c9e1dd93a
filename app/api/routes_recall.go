package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/memory"
)

// routesRecall registers search over past messages.
func (s *Server) routesRecall() []route {
	return []route{
		{pattern: "GET /api/v1/messages/search", scope: ScopeChat, serve: s.searchMessages,
			summary: "Search past messages of every conversation, imported ones too (q; limit 1-100; mode=hybrid|keyword|vector; conversation=ID; since/until as RFC 3339 or YYYY-MM-DD): each with its conversation's id and title, role, created_at, snippet, score and the turns before and after"},
	}
}

// foundMessage is a message search result on the wire.
type foundMessage struct {
	ID                string      `json:"id"`
	ConversationID    string      `json:"conversation_id"`
	ConversationTitle string      `json:"conversation_title"`
	Role              memory.Role `json:"role"`
	CreatedAt         time.Time   `json:"created_at"`
	Snippet           string      `json:"snippet"`
	Score             float32     `json:"score"`
	Before            *neighbour  `json:"before,omitempty"`
	After             *neighbour  `json:"after,omitempty"`
}

// neighbour is a turn next to a message found, its text clipped.
type neighbour struct {
	ID        string      `json:"id"`
	Role      memory.Role `json:"role"`
	CreatedAt time.Time   `json:"created_at"`
	Text      string      `json:"text"`
}

const neighbourRunes = 300

func neighbourOf(m *memory.Message) *neighbour {
	if m == nil {
		return nil
	}
	text := m.Content
	if utf8.RuneCountInString(text) > neighbourRunes {
		text = string([]rune(text)[:neighbourRunes]) + "…"
	}
	return &neighbour{ID: m.ID, Role: m.Role, CreatedAt: m.CreatedAt, Text: text}
}

func foundMessages(res []memory.MessageResult) []foundMessage {
	out := make([]foundMessage, 0, len(res))
	for _, r := range res {
		out = append(out, foundMessage{
			ID: r.Message.ID, ConversationID: r.Message.ConversationID, ConversationTitle: r.ConversationTitle,
			Role: r.Message.Role, CreatedAt: r.Message.CreatedAt, Snippet: r.Snippet, Score: r.Score,
			Before: neighbourOf(r.Before), After: neighbourOf(r.After),
		})
	}
	return out
}

// parseWhen reads a since/until parameter: RFC 3339, or a date (midnight
// UTC).
func parseWhen(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, errorf(http.StatusBadRequest, "invalid", name+" must be a date (2025-05-03) or an RFC 3339 time (2025-05-03T18:00:00Z), not "+strconv.Quote(s))
}

func (s *Server) searchMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	if text == "" {
		return errorf(http.StatusBadRequest, "invalid", "q is missing: say what to search for, e.g. ?q=lighthouse")
	}
	limit := 10
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return errorf(http.StatusBadRequest, "invalid", "limit must be a number from 1 to 100")
		}
		limit = n
	}
	since, err := parseWhen("since", q.Get("since"))
	if err != nil {
		return err
	}
	until, err := parseWhen("until", q.Get("until"))
	if err != nil {
		return err
	}
	res, err := s.cfg.Vault.SearchMessages(r.Context(), memory.MessageQuery{
		Text: text, Limit: limit, Mode: memory.Mode(q.Get("mode")), ConversationID: q.Get("conversation"),
		Since: since, Until: until, Neighbours: true,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": foundMessages(res)})
	return nil
}

// embedPastMessages queues background embedding of past messages, when
// there is an agent to run it (after unlock and import).
func (s *Server) embedPastMessages() {
	if s.cfg.Agent != nil {
		s.cfg.Agent.EmbedPastMessages()
	}
}
