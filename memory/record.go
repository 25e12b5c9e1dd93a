package memory

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Kind names what a record holds. It is one of the few cleartext columns.
type Kind string

// The record kinds this build reads. Records of other kinds (from a newer
// build) are stored and passed on unchanged.
const (
	KindMemory       Kind = "memory"
	KindConversation Kind = "conversation"
	KindMessage      Kind = "message"
	KindDocument     Kind = "document"
	KindFeedback     Kind = "feedback"
	KindDevice       Kind = "device"
)

// schemas is the payload schema version this build writes and reads for
// each kind. A record with a greater version is kept, unread.
var schemas = map[Kind]uint16{KindMemory: 2, KindConversation: 1, KindMessage: 1, KindFeedback: 1}

// MaxSealedSize bounds one sealed record (payload plus envelope).
const MaxSealedSize = 4 << 20

// Record is a record as it is stored and as it travels between devices:
// cleartext ordering fields and a sealed payload. Tombstones have no
// payload.
type Record struct {
	ID      string `json:"id"`
	Kind    Kind   `json:"kind"`
	Clock   Clock  `json:"clock"`
	Origin  string `json:"origin"`
	Deleted bool   `json:"deleted,omitempty"`
	Sealed  []byte `json:"sealed,omitempty"`
}

// Schema is the payload schema version from the sealed header (0 for a
// tombstone or a malformed header).
func (r *Record) Schema() uint16 {
	h, err := parseSealHeader(r.Sealed)
	if err != nil {
		return 0
	}
	return h.schema
}

func (r *Record) sameVersion(o *Record) bool {
	return r.Clock == o.Clock && r.Origin == o.Origin && r.Deleted == o.Deleted && bytes.Equal(r.Sealed, o.Sealed)
}

var (
	idPattern   = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,31}$`)
)

// ErrInvalid marks input that was refused; the message says what was wrong.
var ErrInvalid = errors.New("invalid input")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// notFoundError is an ErrNotFound with a message of its own, for records
// that are not memories or are hidden.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

func notFoundf(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

// cleanIDs checks a list of record ids (what names them goes in the
// message), dropping repeats.
func cleanIDs(what string, ids []string, limit int) ([]string, error) {
	var out []string
	for _, id := range ids {
		if !idPattern.MatchString(id) {
			return nil, invalidf("%s %.70q is not a record id (1-64 letters, digits, '-' or '_')", what, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > limit {
		return nil, invalidf("%d %ss, more than the %d allowed: keep the ones that matter", len(out), what, limit)
	}
	return out, nil
}

func (r *Record) validate() error {
	switch {
	case !idPattern.MatchString(r.ID):
		return invalidf("record id %q must be 1-64 letters, digits, '-' or '_'", r.ID)
	case !kindPattern.MatchString(string(r.Kind)):
		return invalidf("record %s: kind %q is not a valid kind name", r.ID, r.Kind)
	case !idPattern.MatchString(r.Origin):
		return invalidf("record %s: origin device %q is not a valid id", r.ID, r.Origin)
	case r.Clock == 0:
		return invalidf("record %s has no clock", r.ID)
	case r.Deleted && len(r.Sealed) > 0:
		return invalidf("record %s is a tombstone but carries a payload", r.ID)
	case !r.Deleted && len(r.Sealed) == 0:
		return invalidf("record %s has no payload", r.ID)
	case len(r.Sealed) > MaxSealedSize:
		return invalidf("record %s is %d bytes, over the %d-byte limit", r.ID, len(r.Sealed), MaxSealedSize)
	}
	return nil
}

// Outcome says what Apply did with a record.
type Outcome int

const (
	// Unchanged: the vault already had this exact version (or a tombstone
	// that absorbs it).
	Unchanged Outcome = iota
	// Inserted: a record the vault did not have.
	Inserted
	// Replaced: the incoming version won; the previous one is kept as a
	// revision.
	Replaced
	// KeptAsRevision: the incoming version lost and is kept as a revision.
	KeptAsRevision
	// Forgotten: a tombstone arrived; the record and its revisions are gone.
	Forgotten
)

func (o Outcome) String() string {
	return [...]string{"unchanged", "inserted", "replaced", "kept as revision", "forgotten"}[o]
}

// Apply merges a record that came from elsewhere (another device, an
// import). It is the one merge rule of Cairn:
//
//   - last writer wins by (hybrid logical clock, origin device), and the
//     losing version is kept as a revision, so nothing is silently lost;
//   - a tombstone beats every version, earlier or concurrent, and takes the
//     revisions with it: forget means forgotten;
//   - applying the same record twice changes nothing;
//   - a record of a newer schema version (or an unknown kind) is stored and
//     passed on unchanged, never rewritten.
//
// The sealed payload must authenticate under this vault's key; a record
// that does not is refused and nothing is stored.
func (v *Vault) Apply(ctx context.Context, in Record) (Outcome, error) {
	if err := in.validate(); err != nil {
		return Unchanged, err
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return Unchanged, err
	}
	var payload []byte
	if !in.Deleted {
		if payload, err = keys.records.open(in.ID, in.Kind, in.Sealed); err != nil {
			return Unchanged, &RecordError{ID: in.ID, Err: err}
		}
	}
	var out Outcome
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		out, err = applyOne(ctx, tx, keys, in, payload)
		return err
	})
	if err != nil {
		return Unchanged, fmt.Errorf("apply record %s: %w", in.ID, err)
	}
	if out != Unchanged {
		// Fold into the vector index now; embedding waits for the next search
		// or Refresh, so a batch of arriving records is not embedded one by one.
		if err := v.sync(ctx, 0); err != nil {
			v.log.Warn("catching up with the vault failed", "err", err)
		}
	}
	return out, nil
}

// applyOne carries out the merge decision (DecideMerge) inside a
// transaction, for a record already validated and opened (payload is nil
// for a tombstone).
func applyOne(ctx context.Context, tx *sql.Tx, keys *vaultKeys, in Record, payload []byte) (Outcome, error) {
	cur, rid, err := currentRecord(ctx, tx, in.ID)
	if err != nil {
		return Unchanged, err
	}
	m, err := DecideMerge(cur, &in)
	if err != nil {
		return Unchanged, err
	}
	switch m.Outcome {
	case Inserted:
		if rid, err = insertRecord(ctx, tx, m.Current); err != nil {
			return Unchanged, err
		}
		return Inserted, indexNewRecord(ctx, tx, keys, rid, m.Current, payload)
	case Forgotten:
		return Forgotten, forgetRecord(ctx, tx, rid, m.Current)
	case Replaced:
		if err := keepRevision(ctx, tx, m.Revision); err != nil {
			return Unchanged, err
		}
		if err := replaceRecord(ctx, tx, rid, m.Current); err != nil {
			return Unchanged, err
		}
		return Replaced, indexRecord(ctx, tx, keys, rid, m.Current, payload)
	case KeptAsRevision:
		known, err := keepIncomingRevision(ctx, tx, rid, m.Revision)
		if err != nil || known {
			return Unchanged, err
		}
		return KeptAsRevision, nil
	}
	if m.Current != nil { // a tombstone that wins over the stored tombstone
		return Unchanged, replaceRecord(ctx, tx, rid, m.Current)
	}
	return Unchanged, nil
}

func (v *Vault) unlockedKeys() (*vaultKeys, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.keys == nil {
		return nil, ErrLocked
	}
	return v.keys, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func currentRecord(ctx context.Context, q querier, id string) (*Record, int64, error) {
	var r Record
	var rid int64
	err := q.QueryRowContext(ctx, "SELECT rid, id, kind, clock, origin, deleted, sealed FROM records WHERE id = ?", id).
		Scan(&rid, &r.ID, &r.Kind, &r.Clock, &r.Origin, &r.Deleted, &r.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return &r, rid, nil
}

// nextSeq is the next local change number; every write to records takes
// one, so readers in other processes can catch up by sequence.
func nextSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM records").Scan(&seq)
	return seq, err
}

// insertRecord stores a new record with the next change number (nextSeq's,
// taken in the same statement: one statement fewer a record applied).
func insertRecord(ctx context.Context, tx *sql.Tx, r *Record) (int64, error) {
	res, err := tx.ExecContext(ctx, "INSERT INTO records(id, kind, clock, origin, deleted, seq, sealed) VALUES(?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM records), ?)",
		r.ID, r.Kind, r.Clock, r.Origin, r.Deleted, nullBlob(r.Sealed))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func replaceRecord(ctx context.Context, tx *sql.Tx, rid int64, r *Record) error {
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE records SET clock = ?, origin = ?, deleted = ?, seq = ?, sealed = ? WHERE rid = ?",
		r.Clock, r.Origin, r.Deleted, seq, nullBlob(r.Sealed), rid)
	return err
}

func keepRevision(ctx context.Context, tx *sql.Tx, r *Record) error {
	_, err := keepRevisionIfNew(ctx, tx, r)
	return err
}

// keepRevisionIfNew stores r as a past version of its record and reports
// whether that version was already known.
func keepRevisionIfNew(ctx context.Context, tx *sql.Tx, r *Record) (bool, error) {
	// The revision keeps the change number its record has now (the one it
	// had while it was the current version), so sync knows who has seen it.
	res, err := tx.ExecContext(ctx, "INSERT INTO revisions(id, clock, origin, deleted, sealed, seq) VALUES(?, ?, ?, ?, ?, coalesce((SELECT seq FROM records WHERE id = ?), 0)) ON CONFLICT DO NOTHING",
		r.ID, r.Clock, r.Origin, r.Deleted, nullBlob(r.Sealed), r.ID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 0, err
}

// forgetRecord turns a record into a tombstone and removes every trace of
// its content: revisions, index entries and embeddings. With secure_delete
// on, SQLite zeroes the freed bytes; a checkpoint then clears the WAL.
func forgetRecord(ctx context.Context, tx *sql.Tx, rid int64, tomb *Record) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM revisions WHERE id = (SELECT id FROM records WHERE rid = ?)", rid); err != nil {
		return err
	}
	if err := unindexRecord(ctx, tx, rid, tomb.Kind); err != nil {
		return err
	}
	return replaceRecord(ctx, tx, rid, tomb)
}

func nullBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Change is a record with its local change number.
type Change struct {
	Seq int64
	Record
}

// LastSeq is the sequence number of the latest change, so a reader of
// Changes can start from now.
func (v *Vault) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := v.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM records").Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the latest change: %w", err)
	}
	return seq, nil
}

// Changes returns up to limit records changed after seq, oldest first: the
// feed that sync and export read. Records are returned sealed, as stored.
func (v *Vault) Changes(ctx context.Context, after int64, limit int) ([]Change, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT seq, id, kind, clock, origin, deleted, sealed FROM records WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Seq, &c.ID, &c.Kind, &c.Clock, &c.Origin, &c.Deleted, &c.Sealed); err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Revisions returns the past versions of a record, oldest first, sealed.
func (v *Vault) revisionRecords(ctx context.Context, id string) ([]Record, error) {
	rows, err := v.db.QueryContext(ctx, "SELECT r.id, k.kind, r.clock, r.origin, r.deleted, r.sealed FROM revisions r JOIN records k ON k.id = r.id WHERE r.id = ? ORDER BY r.clock, r.origin", id)
	if err != nil {
		return nil, fmt.Errorf("read revisions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Kind, &r.Clock, &r.Origin, &r.Deleted, &r.Sealed); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
