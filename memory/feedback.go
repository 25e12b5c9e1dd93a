package memory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Feedback is what the person thought of a reply: a rating, a comment,
// the answer they would have preferred, or that this reply is the one they
// prefer among its regenerations (its siblings under the same parent). It
// stays in the vault; package gym decides, with the person, what leaves it.
type Feedback struct {
	ID             string `json:"id"`
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	// Rating is 1 (good), -1 (bad) or 0 (none given).
	Rating     int    `json:"rating"`
	Comment    string `json:"comment,omitempty"`
	Correction string `json:"correction,omitempty"`
	// Preferred marks this reply as the best of its branches.
	Preferred bool      `json:"preferred,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// NewFeedback is feedback to add about an assistant message.
type NewFeedback struct {
	MessageID  string
	Rating     int
	Comment    string
	Correction string
	Preferred  bool
}

type feedbackPayload struct {
	MessageID      string    `json:"message_id"`
	ConversationID string    `json:"conversation_id"`
	Rating         int       `json:"rating,omitempty"`
	Comment        string    `json:"comment,omitempty"`
	Correction     string    `json:"correction,omitempty"`
	Preferred      bool      `json:"preferred,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

func (p *feedbackPayload) feedback(id string) Feedback {
	return Feedback{ID: id, MessageID: p.MessageID, ConversationID: p.ConversationID, Rating: p.Rating, Comment: p.Comment, Correction: p.Correction, Preferred: p.Preferred, CreatedAt: p.CreatedAt}
}

// AddFeedback stores feedback on an assistant message.
func (v *Vault) AddFeedback(ctx context.Context, n NewFeedback) (Feedback, error) {
	n.Comment, n.Correction = strings.TrimSpace(n.Comment), strings.TrimSpace(n.Correction)
	switch {
	case n.Rating < -1 || n.Rating > 1:
		return Feedback{}, invalidf("rating %d: use 1 (good), -1 (bad) or 0", n.Rating)
	case n.Rating == 0 && n.Comment == "" && n.Correction == "" && !n.Preferred:
		return Feedback{}, invalidf("feedback needs a rating, a comment, a correction or a preferred branch")
	case len(n.Comment) > MaxTextBytes || len(n.Correction) > MaxMessageBytes:
		return Feedback{}, invalidf("feedback is too long: a comment up to %d bytes, a correction up to %d", MaxTextBytes, MaxMessageBytes)
	}
	msg, err := v.Message(ctx, n.MessageID)
	if err != nil {
		return Feedback{}, err
	}
	if msg.Role != RoleAssistant {
		return Feedback{}, invalidf("message %s is the %s's, not a reply: feedback is about replies", msg.ID, msg.Role)
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return Feedback{}, err
	}
	p := feedbackPayload{MessageID: msg.ID, ConversationID: msg.ConversationID, Rating: n.Rating, Comment: n.Comment, Correction: n.Correction, Preferred: n.Preferred, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	id := uuid.Must(uuid.NewV7()).String()
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		cur, _, err := currentRecord(ctx, tx, msg.ID)
		if err != nil {
			return err
		}
		if cur == nil || cur.Deleted {
			return fmt.Errorf("message %s: %w", msg.ID, ErrNotFound)
		}
		return v.insertNew(ctx, tx, keys, id, KindFeedback, &p)
	})
	if err != nil {
		return Feedback{}, fmt.Errorf("add feedback on %s: %w", msg.ID, err)
	}
	return p.feedback(id), nil
}

// FeedbackOn lists the feedback on one message ("" for all), oldest first.
func (v *Vault) FeedbackOn(ctx context.Context, messageID string) ([]Feedback, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	out := []Feedback{}
	err = v.scanOpened(ctx, keys, KindFeedback, func(r *Record, raw []byte) {
		var p feedbackPayload
		if json.Unmarshal(raw, &p) != nil || (messageID != "" && p.MessageID != messageID) {
			return
		}
		out = append(out, p.feedback(r.ID))
	})
	if err != nil {
		return nil, fmt.Errorf("read feedback: %w", err)
	}
	slices.SortFunc(out, func(a, b Feedback) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// feedbackOfConversation lists the live feedback records about a
// conversation's messages, for deleting them with it.
func (v *Vault) feedbackOfConversation(ctx context.Context, tx *sql.Tx, keys *vaultKeys, convID string) ([]recordRef, error) {
	rows, err := tx.QueryContext(ctx, "SELECT rid, id, kind, sealed FROM records WHERE kind = ? AND deleted = 0", KindFeedback)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []recordRef
	for rows.Next() {
		var r Record
		var rid int64
		if err := rows.Scan(&rid, &r.ID, &r.Kind, &r.Sealed); err != nil {
			return nil, err
		}
		raw, err := keys.records.open(r.ID, r.Kind, r.Sealed)
		if err != nil {
			continue
		}
		var p feedbackPayload
		if json.Unmarshal(raw, &p) == nil && p.ConversationID == convID {
			out = append(out, recordRef{rid: rid, id: r.ID})
		}
	}
	return out, rows.Err()
}
