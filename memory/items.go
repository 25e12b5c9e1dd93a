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

// Limits on a memory item, checked before anything is stored.
const (
	MaxTextBytes = 64 << 10
	MaxTags      = 32
	MaxTagBytes  = 64
)

var (
	// ErrNotFound means no memory has that id (or it was forgotten).
	ErrNotFound = errors.New("no memory with that id")
	// ErrNewerSchema means a record was written by a newer build of cairn;
	// it is kept and synced, but this build cannot read or edit it.
	ErrNewerSchema = errors.New("written by a newer version of cairn: update cairn to read or edit it")
)

// Item is a memory: something worth remembering about the person.
type Item struct {
	ID        string    `json:"id"`
	Kind      ItemKind  `json:"kind"`
	Text      string    `json:"text"`
	Tags      []string  `json:"tags"`
	Pinned    bool      `json:"pinned"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// itemPayload is what is sealed inside a memory record (schema 1).
type itemPayload struct {
	Kind      ItemKind  `json:"kind"`
	Text      string    `json:"text"`
	Tags      []string  `json:"tags,omitempty"`
	Pinned    bool      `json:"pinned,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewItem is a memory to add.
type NewItem struct {
	Kind   ItemKind
	Text   string
	Tags   []string
	Pinned bool
	// CreatedAt is when the memory was first made (imports keep theirs);
	// zero means now.
	CreatedAt time.Time
}

// Patch changes some fields of a memory; nil fields stay as they are.
type Patch struct {
	Kind   *ItemKind
	Text   *string
	Tags   *[]string
	Pinned *bool
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
	keys, err := v.unlockedKeys()
	if err != nil {
		return Item{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	created := n.CreatedAt.UTC()
	if n.CreatedAt.IsZero() {
		created = now
	}
	p := itemPayload{Kind: n.Kind, Text: text, Tags: tags, Pinned: n.Pinned, CreatedAt: created, UpdatedAt: now}
	id := uuid.Must(uuid.NewV7()).String()
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		rec, raw, err := v.sealItem(ctx, tx, keys, id, &p)
		if err != nil {
			return err
		}
		rid, err := insertRecord(ctx, tx, rec)
		if err != nil {
			return err
		}
		return indexRecord(ctx, tx, keys, rid, rec, raw)
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
	return Item{ID: id, Kind: p.Kind, Text: p.Text, Tags: tags, Pinned: p.Pinned, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// sealItem makes the next local version of a memory record.
func (v *Vault) sealItem(ctx context.Context, tx *sql.Tx, keys *vaultKeys, id string, p *itemPayload) (*Record, []byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, nil, err
	}
	clock, err := v.tick(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	sealed := keys.records.seal(id, KindMemory, schemas[KindMemory], raw)
	return &Record{ID: id, Kind: KindMemory, Clock: clock, Origin: v.device, Sealed: sealed}, raw, nil
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
	if r.Kind != KindMemory {
		return p, &RecordError{ID: r.ID, Err: fmt.Errorf("is a %s, not a memory", r.Kind)}
	}
	if s := r.Schema(); s > schemas[KindMemory] {
		return p, &RecordError{ID: r.ID, Err: ErrNewerSchema}
	}
	raw, err := keys.records.open(r.ID, r.Kind, r.Sealed)
	if err != nil {
		return p, &RecordError{ID: r.ID, Err: err}
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, &RecordError{ID: r.ID, Err: fmt.Errorf("%w: payload does not decode: %v", ErrCorrupt, err)}
	}
	return p, nil
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
	return p.item(id), nil
}

// ListOptions filter List.
type ListOptions struct {
	Kind  ItemKind // empty: all kinds
	Tag   string   // empty: any tag
	Limit int      // 0: no limit
}

// List returns memories, most recently changed first. A record that fails
// its integrity check is skipped and logged (Verify names them all).
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
		if (o.Kind == "" || p.Kind == o.Kind) && (tag == "" || slices.Contains(p.Tags, tag)) {
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
		if err := p.apply(patch); err != nil {
			return err
		}
		p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
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
		return Item{}, fmt.Errorf("edit memory %s: %w", id, err)
	}
	v.catchUp(ctx)
	return next.item(id), nil
}

func (p *itemPayload) apply(patch Patch) error {
	if patch.Kind != nil {
		if err := validKind(*patch.Kind); err != nil {
			return err
		}
		p.Kind = *patch.Kind
	}
	if patch.Text != nil {
		t, err := cleanText(*patch.Text)
		if err != nil {
			return err
		}
		p.Text = t
	}
	if patch.Tags != nil {
		t, err := cleanTags(*patch.Tags)
		if err != nil {
			return err
		}
		p.Tags = t
	}
	if patch.Pinned != nil {
		p.Pinned = *patch.Pinned
	}
	return nil
}

// Forget erases a memory: the record becomes a tombstone that beats every
// other version on every device, and its revisions, index entries and
// embeddings are deleted. Call Checkpoint afterwards to clear the old bytes
// from the write-ahead log too.
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

// indexRecord brings the derived, device-local data for a record up to date
// with its current version: the blind keyword index entry (rewritten) and
// any embedding (dropped as stale; catchUp computes a new one).
func indexRecord(ctx context.Context, tx *sql.Tx, keys *vaultKeys, rid int64, r *Record, payload []byte) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM blind_index WHERE rowid = ?", rid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM embeddings WHERE rid = ?", rid); err != nil {
		return err
	}
	text := indexText(r, payload)
	if text == "" {
		return nil
	}
	toks := blindTokens(keys.index, words(text))
	_, err := tx.ExecContext(ctx, "INSERT INTO blind_index(rowid, tokens) VALUES(?, ?)", rid, strings.Join(toks, " "))
	return err
}

// indexText is the searchable text of a record version, or "" for one that
// is not searched (tombstones, other kinds, newer schemas).
func indexText(r *Record, payload []byte) string {
	if r.Deleted || r.Kind != KindMemory || r.Schema() > schemas[KindMemory] {
		return ""
	}
	var p itemPayload
	if json.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.Text + " " + strings.Join(p.Tags, " ")
}
