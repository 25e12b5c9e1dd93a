package gym

import (
	"context"
	"fmt"

	"github.com/cairnlabs/cairn/memory"
)

// FeedbackStore is where feedback is kept: the vault (feedback records are
// sealed and synced like every record), or the API of the process that
// owns it.
type FeedbackStore interface {
	AddFeedback(ctx context.Context, n memory.NewFeedback) (memory.Feedback, error)
}

// Rate records thumbs up (1) or down (-1) on a reply, with an optional
// reason.
func Rate(ctx context.Context, s FeedbackStore, messageID string, rating int, reason string) (memory.Feedback, error) {
	if rating != 1 && rating != -1 {
		return memory.Feedback{}, fmt.Errorf("%w: rating %d: use 1 (thumbs up) or -1 (thumbs down)", memory.ErrInvalid, rating)
	}
	return s.AddFeedback(ctx, memory.NewFeedback{MessageID: messageID, Rating: rating, Comment: reason})
}

// Prefer records that a reply is the best among its regenerations (the
// replies that share its parent).
func Prefer(ctx context.Context, s FeedbackStore, messageID string) (memory.Feedback, error) {
	return s.AddFeedback(ctx, memory.NewFeedback{MessageID: messageID, Preferred: true})
}

// Correct records the answer the person wanted instead of a reply.
func Correct(ctx context.Context, s FeedbackStore, messageID, text string) (memory.Feedback, error) {
	return s.AddFeedback(ctx, memory.NewFeedback{MessageID: messageID, Correction: text})
}
