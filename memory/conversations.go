package memory

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Conversation is a chat between the person and a model. Its messages
// (Message) are records of their own that name it.
type Conversation struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Model string `json:"model,omitempty"`
	// Summary sums up the older history, written by the agent so that a
	// long conversation fits the model's context.
	Summary string `json:"summary,omitempty"`
	// SummaryThrough is the id of the newest message the summary covers.
	SummaryThrough string    `json:"summary_through,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// UpdatedAt is the later of the conversation's own last change and its
	// newest message.
	UpdatedAt time.Time `json:"updated_at"`
	// Messages counts its messages, every branch included.
	Messages int `json:"messages"`
}

// NewConversation is a conversation to start.
type NewConversation struct {
	Title string
	Model string
}

// ConversationPatch changes some fields of a conversation; nil fields stay
// as they are.
type ConversationPatch struct {
	Title          *string
	Model          *string
	Summary        *string
	SummaryThrough *string
}

// conversationPayload is what is sealed inside a conversation record
// (schema 1).
type conversationPayload struct {
	Title          string    `json:"title"`
	Model          string    `json:"model,omitempty"`
	Summary        string    `json:"summary,omitempty"`
	SummaryThrough string    `json:"summary_through,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Limits on a conversation, checked before anything is stored.
const (
	MaxTitleBytes   = 1 << 10
	MaxModelBytes   = 256
	MaxSummaryBytes = 64 << 10
)

// cleanTitle folds whitespace (newlines included) to single spaces; a title
// may be empty until the agent names the conversation.
func cleanTitle(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidf("title is not valid UTF-8")
	}
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case len(s) > MaxTitleBytes:
		return "", invalidf("title is %d bytes, over the %d-byte limit: keep it to a line", len(s), MaxTitleBytes)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", invalidf("title has control characters")
	}
	return s, nil
}

// cleanModel checks a model name such as "llama3.2:3b"; empty is fine.
func cleanModel(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidf("model name is not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	switch {
	case len(s) > MaxModelBytes:
		return "", invalidf("model name is %d bytes, over the %d-byte limit", len(s), MaxModelBytes)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", invalidf("model name %.40q has control characters", s)
	}
	return s, nil
}

func cleanSummary(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidf("summary is not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	if len(s) > MaxSummaryBytes {
		return "", invalidf("summary is %d bytes, over the %d-byte limit: summarise more tightly", len(s), MaxSummaryBytes)
	}
	return s, nil
}

func errNoConversation(id string) error {
	return notFoundf("no conversation %s: it does not exist or was deleted", id)
}

func (p *conversationPayload) conversation(id string, t tally) Conversation {
	c := Conversation{
		ID: id, Title: p.Title, Model: p.Model, Summary: p.Summary, SummaryThrough: p.SummaryThrough,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Messages: t.n,
	}
	if t.newest.After(c.UpdatedAt) {
		c.UpdatedAt = t.newest
	}
	return c
}

// tally is what a conversation's listing needs of its messages.
type tally struct {
	n      int
	newest time.Time
}

func (t *tally) add(created time.Time) {
	t.n++
	if created.After(t.newest) {
		t.newest = created
	}
}

// CreateConversation starts a conversation.
func (v *Vault) CreateConversation(ctx context.Context, n NewConversation) (Conversation, error) {
	title, err := cleanTitle(n.Title)
	if err != nil {
		return Conversation{}, err
	}
	model, err := cleanModel(n.Model)
	if err != nil {
		return Conversation{}, err
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return Conversation{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := conversationPayload{Title: title, Model: model, CreatedAt: now, UpdatedAt: now}
	id := uuid.Must(uuid.NewV7()).String()
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		rec, _, err := v.sealRecord(ctx, tx, keys, id, KindConversation, &p)
		if err != nil {
			return err
		}
		_, err = insertRecord(ctx, tx, rec)
		return err
	})
	if err != nil {
		return Conversation{}, fmt.Errorf("create conversation: %w", err)
	}
	return p.conversation(id, tally{}), nil
}

// liveConversation reads and opens a conversation that exists and is not
// deleted.
func liveConversation(ctx context.Context, q querier, keys *vaultKeys, id string) (conversationPayload, *Record, int64, error) {
	var p conversationPayload
	r, rid, err := currentRecord(ctx, q, id)
	if err != nil {
		return p, nil, 0, err
	}
	if r == nil || r.Deleted || r.Kind != KindConversation {
		return p, nil, 0, errNoConversation(id)
	}
	raw, err := keys.openRecord(r, KindConversation)
	if err != nil {
		return p, nil, 0, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, nil, 0, &RecordError{ID: id, Err: fmt.Errorf("%w: payload does not decode: %v", ErrCorrupt, err)}
	}
	return p, r, rid, nil
}

// Conversation returns one conversation; ErrNotFound when there is none
// with that id or it was deleted.
func (v *Vault) Conversation(ctx context.Context, id string) (Conversation, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return Conversation{}, err
	}
	p, _, _, err := liveConversation(ctx, v.db, keys, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("read conversation %s: %w", id, err)
	}
	heads, err := v.messageHeads(ctx, v.db, keys)
	if err != nil {
		return Conversation{}, fmt.Errorf("read conversation %s: %w", id, err)
	}
	var t tally
	for _, m := range heads.byConv[id] {
		t.add(m.at)
	}
	return p.conversation(id, t), nil
}

// Conversations returns conversations, most recently updated first (by
// their own change or their newest message); limit <= 0 means all.
func (v *Vault) Conversations(ctx context.Context, limit int) ([]Conversation, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	convs := map[string]conversationPayload{}
	err = v.scanOpened(ctx, keys, KindConversation, func(r *Record, raw []byte) {
		var p conversationPayload
		if err := json.Unmarshal(raw, &p); err != nil {
			v.log.Warn("skipping undecodable conversation", "id", r.ID, "err", err)
			return
		}
		convs[r.ID] = p
	})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	// A message's conversation is sealed inside it: count from the heads.
	heads, err := v.messageHeads(ctx, v.db, keys)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	tallies := make(map[string]*tally, len(convs))
	for _, h := range heads.byRID {
		if !h.ok {
			continue
		}
		t := tallies[h.ConversationID]
		if t == nil {
			t = &tally{}
			tallies[h.ConversationID] = t
		}
		t.add(h.CreatedAt)
	}
	out := make([]Conversation, 0, len(convs))
	for id, p := range convs {
		var t tally
		if tp := tallies[id]; tp != nil {
			t = *tp
		}
		out = append(out, p.conversation(id, t))
	}
	slices.SortFunc(out, func(a, b Conversation) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// EditConversation renames a conversation, changes its model, or records a
// new summary of its older history. The version it replaces is not kept:
// a summary is rewritten every few turns, and old titles and summaries are
// not worth a revision each (a concurrent edit from another device is
// still kept as a revision by Apply).
func (v *Vault) EditConversation(ctx context.Context, id string, patch ConversationPatch) (Conversation, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return Conversation{}, err
	}
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		p, _, rid, err := liveConversation(ctx, tx, keys, id)
		if err != nil {
			return err
		}
		if err := p.apply(patch); err != nil {
			return err
		}
		if patch.SummaryThrough != nil && p.SummaryThrough != "" {
			if err := checkMessageOf(ctx, tx, keys, p.SummaryThrough, id, "summary_through"); err != nil {
				return err
			}
		}
		p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
		rec, raw, err := v.sealRecord(ctx, tx, keys, id, KindConversation, &p)
		if err != nil {
			return err
		}
		if err := replaceRecord(ctx, tx, rid, rec); err != nil {
			return err
		}
		return indexRecord(ctx, tx, keys, rid, rec, raw)
	})
	if err != nil {
		return Conversation{}, fmt.Errorf("edit conversation %s: %w", id, err)
	}
	return v.Conversation(ctx, id)
}

func (p *conversationPayload) apply(patch ConversationPatch) error {
	return errors.Join(
		patchField(&p.Title, patch.Title, cleanTitle),
		patchField(&p.Model, patch.Model, cleanModel),
		patchField(&p.Summary, patch.Summary, cleanSummary),
		patchField(&p.SummaryThrough, patch.SummaryThrough, func(through string) (string, error) {
			through = strings.TrimSpace(through)
			if through != "" && !idPattern.MatchString(through) {
				return "", invalidf("summary_through %.70q is not a message id", through)
			}
			return through, nil
		}),
	)
}

// DeleteConversation deletes a conversation and every message of it, in
// one transaction: each becomes a tombstone (which syncs and beats every
// other version) and loses its revisions and index entries, as Forget does
// to a memory. Call Checkpoint afterwards to clear the old bytes from the
// write-ahead log too.
func (v *Vault) DeleteConversation(ctx context.Context, id string) error {
	keys, err := v.unlockedKeys()
	if err != nil {
		return err
	}
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		_, conv, rid, err := liveConversation(ctx, tx, keys, id)
		if err != nil {
			return err
		}
		doomed := []recordRef{{rid: rid, id: conv.ID}}
		heads, err := v.messageHeads(ctx, tx, keys)
		if err != nil {
			return err
		}
		for _, m := range heads.byConv[id] {
			doomed = append(doomed, recordRef{rid: m.rid, id: m.id})
		}
		// Feedback on its replies goes with it.
		feedback, err := v.feedbackOfConversation(ctx, tx, keys, id)
		if err != nil {
			return err
		}
		nMessages := len(doomed)
		doomed = append(doomed, feedback...)
		for i, d := range doomed {
			kind := KindMessage
			switch {
			case i == 0:
				kind = KindConversation
			case i >= nMessages:
				kind = KindFeedback
			}
			clock, err := v.tick(ctx, tx)
			if err != nil {
				return err
			}
			if err := forgetRecord(ctx, tx, d.rid, &Record{ID: d.id, Kind: kind, Clock: clock, Origin: v.device, Deleted: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	// Its passage vectors leave the in-memory index now, not at the next
	// search.
	if err := v.sync(ctx, 0); err != nil {
		v.log.Warn("catching up with the vault failed", "err", err)
	}
	return nil
}

// scanOpened calls fn for each live record of a kind with its payload
// decrypted, in one pass and in no particular order. raw is only valid
// during the call (the pass reuses one buffer, and reads the sealed bytes
// without copying them). Records this build cannot read (damaged, newer
// schema) are skipped and logged.
func (v *Vault) scanOpened(ctx context.Context, keys *vaultKeys, kind Kind, fn func(r *Record, raw []byte)) error {
	rows, err := v.db.QueryContext(ctx, "SELECT id, kind, sealed FROM records WHERE kind = ? AND deleted = 0", kind)
	if err != nil {
		return err
	}
	defer rows.Close()
	var buf []byte
	for rows.Next() {
		var r Record
		var sealed sql.RawBytes
		if err := rows.Scan(&r.ID, &r.Kind, &sealed); err != nil {
			return err
		}
		r.Sealed = sealed
		raw, err := keys.openRecordTo(buf[:0], &r, kind)
		r.Sealed = nil
		if err != nil {
			v.log.Warn("skipping unreadable record", "id", r.ID, "kind", kind, "err", err)
			continue
		}
		buf = raw
		fn(&r, raw)
	}
	return rows.Err()
}
