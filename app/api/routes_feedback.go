package api

import (
	"net/http"
	"slices"

	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
)

// routesFeedback registers the person's own view of their ratings: what
// they rated, and which of their datasets each rating went into (one
// thumbs-up is an SFT example and a KTO example; that is why a gym's
// review shows two items for it). The datasets themselves download from
// GET /api/v1/gym/dataset.
func (s *Server) routesFeedback() []route {
	return []route{
		{pattern: "GET /api/v1/feedback", scope: ScopeChat, serve: s.myFeedback,
			summary: "Your feedback, newest first: each rating with the reply it is about and the datasets (sft, dpo, kto) it went into, and how many examples each dataset has"},
	}
}

// replyExcerpt is how much of a rated reply the feedback list shows.
const replyExcerpt = 240

// FeedbackEntry is one rating as the "My feedback" view shows it.
type FeedbackEntry struct {
	memory.Feedback
	ConversationTitle string `json:"conversation_title,omitempty"`
	// Reply is the start of the rated reply ("" if it was deleted).
	Reply string `json:"reply"`
	// Incomplete says the reply was stopped part way: its rating is kept,
	// but a reply cut short goes into no dataset.
	Incomplete bool `json:"incomplete,omitempty"`
	// Datasets are the formats this feedback produced examples in.
	Datasets []gym.Format `json:"datasets"`
}

func (s *Server) myFeedback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := s.cfg.Vault
	fbs, err := v.FeedbackOn(ctx, "")
	if err != nil {
		return err
	}
	in := map[string][]gym.Format{}
	counts := map[gym.Format]int{}
	for _, f := range gym.Formats {
		exs, err := gym.Examples(ctx, v, f)
		if err != nil {
			return err
		}
		counts[f] = len(exs)
		for _, ex := range exs {
			if !slices.Contains(in[ex.Feedback], f) {
				in[ex.Feedback] = append(in[ex.Feedback], f)
			}
		}
	}
	titles := map[string]string{}
	out := make([]FeedbackEntry, 0, len(fbs))
	for _, fb := range slices.Backward(fbs) {
		e := FeedbackEntry{Feedback: fb, Datasets: in[fb.ID]}
		if e.Datasets == nil {
			e.Datasets = []gym.Format{}
		}
		if m, err := v.Message(ctx, fb.MessageID); err == nil {
			e.Reply, e.Incomplete = truncate(m.Content, replyExcerpt), m.Incomplete
			if len(e.Reply) < len(m.Content) {
				e.Reply += "…"
			}
		}
		t, ok := titles[fb.ConversationID]
		if !ok {
			if c, err := v.Conversation(ctx, fb.ConversationID); err == nil {
				t = c.Title
			}
			titles[fb.ConversationID] = t
		}
		e.ConversationTitle = t
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"feedback": out, "datasets": counts})
	return nil
}
