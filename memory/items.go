package memory

import (
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

// ItemKind is what a memory item is about.
type ItemKind string

// Memory item kinds.
const (
	Fact       ItemKind = "fact"
	Preference ItemKind = "preference"
	Note       ItemKind = "note"
	Summary    ItemKind = "summary"
)

// ItemKinds lists the valid kinds, for help texts and validation.
var ItemKinds = []ItemKind{Fact, Preference, Note, Summary}

// Source says how a memory came to be.
type Source string

// Memory sources.
const (
	SourceManual   Source = ""         // typed by the person (CLI, UI, API)
	SourceStated   Source = "stated"   // extracted: the person said it
	SourceInferred Source = "inferred" // extracted: inferred from what the person said
	SourceModel    Source = "model"    // the model's remember tool
	SourceImport   Source = "import"
)

// Sources lists the valid sources, for help texts and validation.
var Sources = []Source{SourceManual, SourceStated, SourceInferred, SourceModel, SourceImport}

// Limits on a memory item, checked before anything is stored.
const (
	MaxTextBytes  = 64 << 10
	MaxTags       = 32
	MaxTagBytes   = 64
	MaxMessageIDs = 64
)

var (
	// ErrNotFound means no record has that id (or it was forgotten or
	// deleted). Errors that wrap it name what was looked for.
	ErrNotFound = errors.New("no memory with that id")
	// ErrNewerSchema means a record was written by a newer build of cairn;
	// it is kept and synced, but this build cannot read or edit it.
	ErrNewerSchema = errors.New("written by a newer version of cairn: update cairn to read or edit it")
)

// Item is a memory: something worth remembering about the person.
type Item struct {
	ID     string   `json:"id"`
	Kind   ItemKind `json:"kind"`
	Text   string   `json:"text"`
	Tags   []string `json:"tags"`
	Pinned bool     `json:"pinned"`
	// Source says how the memory came to be (empty: typed by the person).
	Source Source `json:"source,omitempty"`
	// Quote is the person's own words the memory rests on, when it was
	// extracted from a conversation.
	Quote string `json:"quote,omitempty"`
	// MessageIDs are the messages it came from.
	MessageIDs []string `json:"message_ids,omitempty"`
	// ForgottenAt is set only on soft-forgotten items (see SoftForget),
	// which only Forgotten returns.
	ForgottenAt  *time.Time `json:"forgotten_at,omitempty"`
	ForgottenWhy string     `json:"forgotten_why,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// itemPayload is what is sealed inside a memory record. Schema 2 added
// source, quote, message_ids and the soft-forget fields; a schema 1
// payload is the same JSON without them, so it decodes unchanged.
type itemPayload struct {
	Kind         ItemKind   `json:"kind"`
	Text         string     `json:"text"`
	Tags         []string   `json:"tags,omitempty"`
	Pinned       bool       `json:"pinned,omitempty"`
	Source       Source     `json:"source,omitempty"`
	Quote        string     `json:"quote,omitempty"`
	MessageIDs   []string   `json:"message_ids,omitempty"`
	ForgottenAt  *time.Time `json:"forgotten_at,omitempty"`
	ForgottenWhy string     `json:"forgotten_why,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// NewItem is a memory to add.
type NewItem struct {
	Kind   ItemKind
	Text   string
	Tags   []string
	Pinned bool
	// Source, Quote and MessageIDs record where the memory came from.
	Source     Source
	Quote      string
	MessageIDs []string
	// CreatedAt is when the memory was first made (imports keep theirs);
	// zero means now.
	CreatedAt time.Time
}

// Patch changes some fields of a memory; nil fields stay as they are.
type Patch struct {
	Kind       *ItemKind
	Text       *string
	Tags       *[]string
	Pinned     *bool
	Source     *Source
	Quote      *string
	MessageIDs *[]string
}

func validKind(k ItemKind) error {
	if slices.Contains(ItemKinds, k) {
		return nil
	}
	return invalidf("unknown kind %q: use one of fact, preference, note, summary", k)
}

func cleanText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidf("text is not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalidf("text is empty: a memory needs some words")
	case len(s) > MaxTextBytes:
		return "", invalidf("text is %d bytes, over the %d-byte limit for one memory: split it or keep it as a document", len(s), MaxTextBytes)
	}
	return s, nil
}

func validSource(s Source) error {
	if slices.Contains(Sources, s) {
		return nil
	}
	return invalidf("unknown source %q: use stated, inferred, model, import, or leave it empty for a memory the person typed", s)
}

// cleanQuote checks the words a memory rests on; empty is fine.
func cleanQuote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidf("quote is not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	if len(s) > MaxTextBytes {
		return "", invalidf("quote is %d bytes, over the %d-byte limit: quote the sentence the memory rests on, not the conversation", len(s), MaxTextBytes)
	}
	return s, nil
}

func cleanTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if !utf8.ValidString(t) {
			return nil, invalidf("tag is not valid UTF-8")
		}
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "":
			return nil, invalidf("a tag is empty: leave it out or give it a name")
		case len(t) > MaxTagBytes:
			return nil, invalidf("tag %.20q… is over %d bytes", t, MaxTagBytes)
		case strings.IndexFunc(t, unicode.IsControl) >= 0:
			return nil, invalidf("tag %q has control characters", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, invalidf("%d tags, more than the %d a memory may have", len(out), MaxTags)
	}
	return out, nil
}

// Add stores a new memory and returns it. Bad input is refused with an
// error wrapping ErrInvalid, and nothing is stored.
func (v *Vault) Add(ctx context.Context, n NewItem) (Item, error) {
	if n.Kind == "" {
		n.Kind = Fact
	}
	if err := validKind(n.Kind); err != nil {
		return Item{}, err
	}
	text, err := cleanText(n.Text)
	if err != nil {
		return Item{}, err
	}
	tags, err := cleanTags(n.Tags)
	if err != nil {
		return Item{}, err
	}
	if err := validSource(n.Source); err != nil {
		return Item{}, err
	}
	quote, err := cleanQuote(n.Quote)
	if err != nil {
		return Item{}, err
	}
	msgIDs, err := cleanIDs("message id", n.MessageIDs, MaxMessageIDs)
	if err != nil {
		return Item{}, err
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return Item{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	created := n.CreatedAt.UTC()
	if n.CreatedAt.IsZero() {
		created = now
	}
	p := itemPayload{Kind: n.Kind, Text: text, Tags: tags, Pinned: n.Pinned, Source: n.Source, Quote: quote, MessageIDs: msgIDs, CreatedAt: created, UpdatedAt: now}
	id := uuid.Must(uuid.NewV7()).String()
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		return v.insertNew(ctx, tx, keys, id, KindMemory, &p)
	})
	if err != nil {
		return Item{}, fmt.Errorf("add memory: %w", err)
	}
	v.catchUp(ctx)
	return p.item(id), nil
}

func (p *itemPayload) item(id string) Item {
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	return Item{
		ID: id, Kind: p.Kind, Text: p.Text, Tags: tags, Pinned: p.Pinned,
		Source: p.Source, Quote: p.Quote, MessageIDs: p.MessageIDs,
		ForgottenAt: p.ForgottenAt, ForgottenWhy: p.ForgottenWhy,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// sealItem makes the next local version of a memory record.
func (v *Vault) sealItem(ctx context.Context, tx *sql.Tx, keys *vaultKeys, id string, p *itemPayload) (*Record, []byte, error) {
	return v.sealRecord(ctx, tx, keys, id, KindMemory, p)
}

// insertNew seals, stores and indexes a new record.
func (v *Vault) insertNew(ctx context.Context, tx *sql.Tx, keys *vaultKeys, id string, kind Kind, payload any) error {
	rec, raw, err := v.sealRecord(ctx, tx, keys, id, kind, payload)
	if err != nil {
		return err
	}
	rid, err := insertRecord(ctx, tx, rec)
	if err != nil {
		return err
	}
	return indexNewRecord(ctx, tx, keys, rid, rec, raw)
}

// sealRecord makes the next local version of a record of this build's
// schema for its kind.
func (v *Vault) sealRecord(ctx context.Context, tx *sql.Tx, keys *vaultKeys, id string, kind Kind, payload any) (*Record, []byte, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, nil, err
	}
	if len(raw)+sealOverhead > MaxSealedSize {
		return nil, nil, invalidf("%s is %d bytes sealed, over the %d-byte limit of one record", kind, len(raw)+sealOverhead, MaxSealedSize)
	}
	clock, err := v.tick(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	sealed := keys.records.seal(id, kind, schemas[kind], raw)
	return &Record{ID: id, Kind: kind, Clock: clock, Origin: v.device, Sealed: sealed}, raw, nil
}

// tick is the clock for a local write: past every clock this vault has
// seen, its own and those received.
func (v *Vault) tick(ctx context.Context, tx *sql.Tx) (Clock, error) {
	var seen Clock
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(clock), 0) FROM records").Scan(&seen); err != nil {
		return 0, err
	}
	return nextClock(seen, time.Now()), nil
}

// openItem decrypts and decodes a memory record.
func (keys *vaultKeys) openItem(r *Record) (itemPayload, error) {
	var p itemPayload
	raw, err := keys.openRecord(r, KindMemory)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, &RecordError{ID: r.ID, Err: fmt.Errorf("%w: payload does not decode: %v", ErrCorrupt, err)}
	}
	return p, nil
}

// openRecord decrypts a record of the given kind whose schema this build
// reads.
func (keys *vaultKeys) openRecord(r *Record, kind Kind) ([]byte, error) {
	return keys.openRecordTo(nil, r, kind)
}

// openRecordTo is openRecord, appending the payload to dst.
func (keys *vaultKeys) openRecordTo(dst []byte, r *Record, kind Kind) ([]byte, error) {
	if r.Kind != kind {
		return nil, &RecordError{ID: r.ID, Err: fmt.Errorf("is a %s, not a %s", r.Kind, kind)}
	}
	if s := r.Schema(); s > schemas[kind] {
		return nil, &RecordError{ID: r.ID, Err: ErrNewerSchema}
	}
	raw, err := keys.records.openTo(dst, r.ID, r.Kind, r.Sealed)
	if err != nil {
		return nil, &RecordError{ID: r.ID, Err: err}
	}
	return raw, nil
}

// Get returns one memory.
func (v *Vault) Get(ctx context.Context, id string) (Item, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return Item{}, err
	}
	r, _, err := currentRecord(ctx, v.db, id)
	if err != nil {
		return Item{}, fmt.Errorf("get memory %s: %w", id, err)
	}
	if r == nil || r.Deleted || r.Kind != KindMemory {
		return Item{}, fmt.Errorf("memory %s: %w", id, ErrNotFound)
	}
	p, err := keys.openItem(r)
	if err != nil {
		return Item{}, err
	}
	if p.ForgottenAt != nil {
		return Item{}, errSoftForgotten(id)
	}
	return p.item(id), nil
}

func errSoftForgotten(id string) error {
	return notFoundf("memory %s was forgotten at the model's request: restore it from the forgotten memories to use it again", id)
}

// ListOptions filter List.
type ListOptions struct {
	Kind  ItemKind // empty: all kinds
	Tag   string   // empty: any tag
	Limit int      // 0: no limit
}

// List returns memories, most recently changed first. A record that fails
// its integrity check is skipped and logged (Verify names them all), and
// soft-forgotten memories are left out (Forgotten lists them).
func (v *Vault) List(ctx context.Context, o ListOptions) ([]Item, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	tag := strings.ToLower(strings.TrimSpace(o.Tag))
	out := []Item{}
	err = v.scanRecords(ctx, KindMemory, func(r *Record) bool {
		p, err := keys.openItem(r)
		if err != nil {
			v.log.Warn("skipping unreadable memory", "id", r.ID, "err", err)
			return true
		}
		if p.ForgottenAt == nil && (o.Kind == "" || p.Kind == o.Kind) && (tag == "" || slices.Contains(p.Tags, tag)) {
			out = append(out, p.item(r.ID))
		}
		return o.Limit <= 0 || len(out) < o.Limit
	})
	return out, err
}

// scanRecords calls fn for each live record of a kind, newest first, until
// fn returns false.
func (v *Vault) scanRecords(ctx context.Context, kind Kind, fn func(*Record) bool) error {
	rows, err := v.db.QueryContext(ctx, "SELECT id, kind, clock, origin, sealed FROM records WHERE kind = ? AND deleted = 0 ORDER BY clock DESC", kind)
	if err != nil {
		return fmt.Errorf("list %s records: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Kind, &r.Clock, &r.Origin, &r.Sealed); err != nil {
			return err
		}
		if !fn(&r) {
			break
		}
	}
	return rows.Err()
}

// Edit changes a memory. The version it replaces is kept as a revision.
func (v *Vault) Edit(ctx context.Context, id string, patch Patch) (Item, error) {
	return v.updateItem(ctx, id, "edit", func(p *itemPayload) error {
		if p.ForgottenAt != nil {
			return errSoftForgotten(id)
		}
		if err := p.apply(patch); err != nil {
			return err
		}
		p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
		return nil
	})
}

// updateItem writes the next version of a live memory, as change makes it
// from the current one, and keeps the current one as a revision. what names
// the operation in errors.
func (v *Vault) updateItem(ctx context.Context, id, what string, change func(*itemPayload) error) (Item, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return Item{}, err
	}
	var next itemPayload
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		cur, rid, err := currentRecord(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur == nil || cur.Deleted || cur.Kind != KindMemory {
			return ErrNotFound
		}
		p, err := keys.openItem(cur)
		if err != nil {
			return err
		}
		if err := change(&p); err != nil {
			return err
		}
		next = p
		rec, raw, err := v.sealItem(ctx, tx, keys, id, &p)
		if err != nil {
			return err
		}
		if err := keepRevision(ctx, tx, cur); err != nil {
			return err
		}
		if err := replaceRecord(ctx, tx, rid, rec); err != nil {
			return err
		}
		return indexRecord(ctx, tx, keys, rid, rec, raw)
	})
	if err != nil {
		return Item{}, fmt.Errorf("%s memory %s: %w", what, id, err)
	}
	v.catchUp(ctx)
	return next.item(id), nil
}

func (p *itemPayload) apply(patch Patch) error {
	return errors.Join(
		patchField(&p.Kind, patch.Kind, checked(validKind)),
		patchField(&p.Text, patch.Text, cleanText),
		patchField(&p.Tags, patch.Tags, cleanTags),
		patchField(&p.Pinned, patch.Pinned, nil),
		patchField(&p.Source, patch.Source, checked(validSource)),
		patchField(&p.Quote, patch.Quote, cleanQuote),
		patchField(&p.MessageIDs, patch.MessageIDs, func(ids []string) ([]string, error) {
			return cleanIDs("message id", ids, MaxMessageIDs)
		}),
	)
}

// patchField sets *dst to the cleaned *src when the patch sets it; clean
// may be nil for fields that need no checking.
func patchField[T any](dst, src *T, clean func(T) (T, error)) error {
	if src == nil {
		return nil
	}
	v := *src
	if clean != nil {
		var err error
		if v, err = clean(v); err != nil {
			return err
		}
	}
	*dst = v
	return nil
}

// checked turns a validity check into a cleaner that keeps the value.
func checked[T any](valid func(T) error) func(T) (T, error) {
	return func(v T) (T, error) { return v, valid(v) }
}

// Forget erases a memory: the record becomes a tombstone that beats every
// other version on every device, and its revisions, index entries and
// embeddings are deleted. It is the person's own forget, and final; it
// erases a soft-forgotten memory too. Call Checkpoint afterwards to clear
// the old bytes from the write-ahead log too.
func (v *Vault) Forget(ctx context.Context, id string) error {
	if _, err := v.unlockedKeys(); err != nil {
		return err
	}
	err := v.withTx(ctx, func(tx *sql.Tx) error {
		cur, rid, err := currentRecord(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur == nil || cur.Deleted || cur.Kind != KindMemory {
			return ErrNotFound
		}
		clock, err := v.tick(ctx, tx)
		if err != nil {
			return err
		}
		return forgetRecord(ctx, tx, rid, &Record{ID: id, Kind: cur.Kind, Clock: clock, Origin: v.device, Deleted: true})
	})
	if err != nil {
		return fmt.Errorf("forget memory %s: %w", id, err)
	}
	v.catchUp(ctx)
	return nil
}

// Revisions returns the earlier versions of a memory, oldest first.
func (v *Vault) Revisions(ctx context.Context, id string) ([]Item, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	if _, err := v.Get(ctx, id); err != nil {
		return nil, err
	}
	recs, err := v.revisionRecords(ctx, id)
	if err != nil {
		return nil, err
	}
	out := []Item{}
	for i := range recs {
		if recs[i].Deleted {
			continue
		}
		p, err := keys.openItem(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("revision %s of %s: %w", recs[i].Clock, id, err)
		}
		out = append(out, p.item(id))
	}
	return out, nil
}

// Verify checks every record's seal and returns one error per record that
// fails, naming it. The rest of the vault stays readable.
func (v *Vault) Verify(ctx context.Context) ([]error, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	rows, err := v.db.QueryContext(ctx, "SELECT id, kind, sealed FROM records WHERE deleted = 0")
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	var bad []error
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Kind, &r.Sealed); err != nil {
			return nil, err
		}
		if _, err := keys.records.open(r.ID, r.Kind, r.Sealed); err != nil {
			bad = append(bad, &RecordError{ID: r.ID, Err: err})
		}
	}
	return bad, rows.Err()
}
