package memory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// PlainRecord is a record with its payload in the clear: what export
// writes (inside an encrypted bundle, or as open JSONL) and what import
// brings in. A bundle goes to a device that may have another vault key,
// so records travel as plaintext and are sealed again, under the
// receiving vault's key, by ApplyPlain.
type PlainRecord struct {
	ID      string
	Kind    Kind
	Clock   Clock
	Origin  string
	Deleted bool
	// Schema is the payload's schema version (0 for a tombstone).
	Schema uint16
	// Payload is the record's content, JSON for every kind this build
	// knows (FORMATS.md); nil for a tombstone.
	Payload []byte
	// NewOnly applies the record only if the vault has nothing under its
	// id, for sources that carry no version of their own (a plain file of
	// memories without dates): importing it twice must change nothing.
	NewOnly bool
}

// PlainChange is a record of the change feed, opened. Err is set (and
// Payload nil) for a record this vault cannot open: a damaged record, or
// one sealed under another key epoch.
type PlainChange struct {
	Seq int64
	PlainRecord
	Err error
}

// OpenChanges is Changes with every payload decrypted: the feed export
// reads, a page at a time so that a large vault never sits in memory.
func (v *Vault) OpenChanges(ctx context.Context, after int64, limit int) ([]PlainChange, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	changes, err := v.Changes(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]PlainChange, len(changes))
	for i, c := range changes {
		p := PlainChange{Seq: c.Seq, PlainRecord: PlainRecord{ID: c.ID, Kind: c.Kind, Clock: c.Clock, Origin: c.Origin, Deleted: c.Deleted}}
		if !c.Deleted {
			p.Schema = c.Schema()
			if p.Payload, err = keys.records.open(c.ID, c.Kind, c.Sealed); err != nil {
				p.Err = &RecordError{ID: c.ID, Err: err}
			}
		}
		out[i] = p
	}
	return out, nil
}

// PlainResult is what ApplyPlain did with one record: an outcome, or the
// reason it was refused (an error wrapping ErrInvalid; nothing of that
// record was stored).
type PlainResult struct {
	Outcome Outcome
	Err     error
}

// maxClockSkew bounds how far in the future an imported record's clock may
// be: a clock far ahead would drag every later local write with it.
const maxClockSkew = 24 * time.Hour

var errDryRun = errors.New("dry run")

// ApplyPlain seals each record under this vault's key and merges it with
// Apply's rule, all in one transaction: either the whole batch is stored
// or none of it. Records that fail their checks are refused one by one
// (their PlainResult says why) and the rest of the batch goes on. A record
// whose payload equals the stored version with the same clock and origin
// is unchanged, so importing the same file twice changes nothing though
// every seal has a fresh nonce. With dryRun the transaction is rolled
// back: the results say what would happen and nothing is written.
func (v *Vault) ApplyPlain(ctx context.Context, recs []PlainRecord, dryRun bool) ([]PlainResult, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	res := make([]PlainResult, len(recs))
	now := time.Now()
	for i := range recs {
		res[i].Err = recs[i].check(now)
	}
	changed := false
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		for i := range recs {
			if res[i].Err != nil {
				continue
			}
			out, err := applyPlainTx(ctx, tx, keys, &recs[i])
			if err != nil {
				if errors.Is(err, ErrInvalid) {
					res[i].Err = err
					continue
				}
				return fmt.Errorf("apply record %s: %w", recs[i].ID, err)
			}
			res[i].Outcome = out
			changed = changed || out != Unchanged
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	if changed && !dryRun {
		if err := v.sync(ctx, 0); err != nil {
			v.log.Warn("catching up with the vault failed", "err", err)
		}
	}
	return res, nil
}

func applyPlainTx(ctx context.Context, tx *sql.Tx, keys *vaultKeys, p *PlainRecord) (Outcome, error) {
	cur, _, err := currentRecord(ctx, tx, p.ID)
	if err != nil {
		return Unchanged, err
	}
	if cur != nil && p.NewOnly {
		return Unchanged, nil
	}
	if cur != nil && !cur.Deleted && !p.Deleted && cur.Clock == p.Clock && cur.Origin == p.Origin && cur.Kind == p.Kind && cur.Schema() == p.Schema {
		// The same version, sealed again: compare what is inside.
		if raw, err := keys.records.open(cur.ID, cur.Kind, cur.Sealed); err == nil && bytes.Equal(raw, p.Payload) {
			return Unchanged, nil
		}
	}
	in := Record{ID: p.ID, Kind: p.Kind, Clock: p.Clock, Origin: p.Origin, Deleted: p.Deleted}
	if !p.Deleted {
		in.Sealed = keys.records.seal(p.ID, p.Kind, p.Schema, p.Payload)
	}
	return applyOne(ctx, tx, keys, in, p.Payload)
}

// check refuses what must not enter a vault: malformed cleartext fields,
// a clock far in the future, and payloads of known kinds that break the
// limits and rules of FORMATS.md (an importer must not store what the
// vault's own writers would refuse).
func (p *PlainRecord) check(now time.Time) error {
	r := Record{ID: p.ID, Kind: p.Kind, Clock: p.Clock, Origin: p.Origin, Deleted: p.Deleted, Sealed: nil}
	if !p.Deleted {
		if len(p.Payload)+sealOverhead > MaxSealedSize {
			return invalidf("record %s is %d bytes, over the %d-byte limit", p.ID, len(p.Payload)+sealOverhead, MaxSealedSize)
		}
		r.Sealed = make([]byte, sealOverhead) // stands in for the seal in validate
	}
	if err := r.validate(); err != nil {
		return err
	}
	if p.Clock.Time().After(now.Add(maxClockSkew)) {
		return invalidf("record %s: its clock %s is in the future", p.ID, p.Clock)
	}
	if p.Deleted {
		if p.Schema != 0 {
			return invalidf("record %s is a tombstone but names a schema", p.ID)
		}
		return nil
	}
	if p.Schema == 0 {
		return invalidf("record %s has no schema version", p.ID)
	}
	if known, ok := schemas[p.Kind]; !ok || p.Schema > known {
		return nil // a newer build's record: kept and passed on unread
	}
	if err := checkPayload(p.Kind, p.Payload); err != nil {
		return fmt.Errorf("record %s (%s): %w", p.ID, p.Kind, err)
	}
	return nil
}

func decodePayload(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return invalidf("payload is not the JSON of its kind: %v", err)
	}
	if dec.More() {
		return invalidf("payload has data after its JSON object")
	}
	return nil
}

func checkPayload(kind Kind, raw []byte) error {
	switch kind {
	case KindMemory:
		var p itemPayload
		if err := decodePayload(raw, &p); err != nil {
			return err
		}
		return checkItemPayload(&p)
	case KindConversation:
		var p conversationPayload
		if err := decodePayload(raw, &p); err != nil {
			return err
		}
		return errors.Join(checkSame(p.Title, cleanTitle), checkSame(p.Model, cleanModel), checkSame(p.Summary, cleanSummary),
			checkOptionalID("summary_through", p.SummaryThrough), checkTime(p.CreatedAt))
	case KindMessage:
		var p messagePayload
		if err := decodePayload(raw, &p); err != nil {
			return err
		}
		n := NewMessage{ConversationID: p.ConversationID, ParentID: p.ParentID, Role: p.Role, Content: p.Content, Model: p.Model,
			Incomplete: p.Incomplete, ToolCalls: p.ToolCalls, ToolName: p.ToolName, MemoryIDs: p.MemoryIDs, RecalledIDs: p.RecalledIDs, Stats: p.Stats}
		if _, err := n.payload(); err != nil {
			return err
		}
		return checkTime(p.CreatedAt)
	case KindFeedback:
		var p feedbackPayload
		if err := decodePayload(raw, &p); err != nil {
			return err
		}
		switch {
		case !idPattern.MatchString(p.MessageID) || !idPattern.MatchString(p.ConversationID):
			return invalidf("feedback must name a message and a conversation by id")
		case p.Rating < -1 || p.Rating > 1:
			return invalidf("rating %d: use 1, -1 or leave it out", p.Rating)
		case p.Rating == 0 && strings.TrimSpace(p.Comment) == "" && strings.TrimSpace(p.Correction) == "":
			return invalidf("feedback needs a rating, a comment or a correction")
		case len(p.Comment) > MaxTextBytes || len(p.Correction) > MaxMessageBytes || !utf8.ValidString(p.Comment) || !utf8.ValidString(p.Correction):
			return invalidf("feedback comment or correction is too long or not UTF-8")
		}
		return checkTime(p.CreatedAt)
	}
	return nil
}

func checkItemPayload(p *itemPayload) error {
	text, err := cleanText(p.Text)
	if err == nil && text != p.Text {
		err = invalidf("text must be trimmed")
	}
	errs := []error{err, validKind(p.Kind), validSource(p.Source), checkSame(p.Quote, cleanQuote), checkTime(p.CreatedAt)}
	if len(p.Tags) > 0 {
		tags, err := cleanTags(p.Tags)
		if err == nil && !slices.Equal(tags, p.Tags) {
			err = invalidf("tags must be lower case, trimmed and without repeats")
		}
		errs = append(errs, err)
	}
	if _, err := cleanIDs("message id", p.MessageIDs, MaxMessageIDs); err != nil {
		errs = append(errs, err)
	}
	if p.ForgottenAt == nil && p.ForgottenWhy != "" {
		errs = append(errs, invalidf("forgotten_why without forgotten_at"))
	}
	return errors.Join(errs...)
}

// checkSame runs a cleaner and refuses a value it would change, so that an
// imported payload is stored byte for byte as it came.
func checkSame(s string, clean func(string) (string, error)) error {
	c, err := clean(s)
	if err != nil {
		if s == "" {
			return nil // empty is checked where it matters (text)
		}
		return err
	}
	if c != s {
		return invalidf("%.40q is not in its clean form (trimmed, whitespace folded)", s)
	}
	return nil
}

func checkOptionalID(what, id string) error {
	if id != "" && !idPattern.MatchString(id) {
		return invalidf("%s %.70q is not a record id", what, id)
	}
	return nil
}

func checkTime(t time.Time) error {
	if t.IsZero() {
		return invalidf("created_at is missing")
	}
	return nil
}

// Validate runs the checks ApplyPlain runs on a record before merging it,
// so that a producer of records (an importer, its fuzz test) can hold
// itself to them.
func (p *PlainRecord) Validate() error { return p.check(time.Now()) }
