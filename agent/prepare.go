package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairnlabs/cairn/memory"
)

// PrepareRequest is a draft the person is still typing.
type PrepareRequest struct {
	// ConversationID is the conversation the draft will be sent to; ""
	// for a new one.
	ConversationID string
	Text           string
	// Model is the model the turn will ask; "" as for Chat.
	Model string
	Limits
}

// queryWarmer is the part of the store that embeds a search query ahead
// of the search (memory.Vault does).
type queryWarmer interface {
	WarmQuery(ctx context.Context, text string) error
}

// Prepare readies a turn for a draft before it is sent, so the turn waits
// for less: the model's details are fetched (and kept), and the draft is
// embedded as a search query, which is most of retrieval's time (the
// vault keeps recent query embeddings; a turn sent with the same text
// finds it ready). Nothing is stored and nothing reaches the chat model.
// A backend that may not receive memory, or a turn without recall, gets
// no embedding.
func (a *Agent) Prepare(ctx context.Context, req PrepareRequest) error {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return fmt.Errorf("%w: the draft is empty", memory.ErrInvalid)
	}
	if len(text) > memory.MaxMessageBytes {
		return fmt.Errorf("%w: the draft is %d bytes, over the %d-byte limit of a message", memory.ErrInvalid, len(text), memory.MaxMessageBytes)
	}
	var conv memory.Conversation
	if req.ConversationID != "" {
		var err error
		if conv, err = a.store.Conversation(ctx, req.ConversationID); err != nil {
			return err
		}
	}
	backend, name, err := a.backends.Resolve(cmp.Or(req.Model, conv.Model, a.cfg.Model))
	if err != nil {
		return err
	}
	if _, err := a.backends.Show(ctx, backend, name); err != nil {
		return err
	}
	w, ok := a.store.(queryWarmer)
	if !ok || req.NoRecall || !a.backends.ReceivesMemory(backend) {
		return nil
	}
	// A draft too long to search by (the turn recalls nothing with it
	// either) has nothing to warm.
	if err := w.WarmQuery(ctx, text); err != nil && !errors.Is(err, memory.ErrInvalid) {
		return err
	}
	return nil
}
