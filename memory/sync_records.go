package memory

import (
	"context"
	"database/sql"
	"fmt"
)

// SyncEntry is one change of the feed that sync ships: a record as it is
// now, with the past versions of it that became known here after the
// change number the reader asked from. Applying Revisions then Record with
// Apply, in that order, gives the receiver the same winner and the same
// revisions.
type SyncEntry struct {
	Seq       int64
	Revisions []Record
	Record    Record
}

// SyncFeed returns up to limit entries changed after seq, oldest first,
// sealed as stored. With after = 0 every revision is included.
func (v *Vault) SyncFeed(ctx context.Context, after int64, limit int) ([]SyncEntry, error) {
	changes, err := v.Changes(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	revs, err := v.revisionsOfPage(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]SyncEntry, 0, len(changes))
	for _, c := range changes {
		e := SyncEntry{Seq: c.Seq, Record: c.Record}
		if !c.Deleted {
			for _, r := range revs[c.ID] {
				r.Kind = c.Kind
				e.Revisions = append(e.Revisions, r)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// revisionsOfPage reads, in one query, the revisions that SyncFeed ships
// with the page of changes after seq, by record id, oldest first.
func (v *Vault) revisionsOfPage(ctx context.Context, after int64, limit int) (map[string][]Record, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT v.id, v.clock, v.origin, v.deleted, v.sealed FROM revisions v
		JOIN (SELECT id FROM records WHERE seq > ? ORDER BY seq LIMIT ?) r ON r.id = v.id
		WHERE v.seq > ? OR ? = 0 ORDER BY v.clock, v.origin`, after, limit, after, after)
	if err != nil {
		return nil, fmt.Errorf("read revisions: %w", err)
	}
	defer rows.Close()
	out := map[string][]Record{}
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Clock, &r.Origin, &r.Deleted, &r.Sealed); err != nil {
			return nil, err
		}
		out[r.ID] = append(out[r.ID], r)
	}
	return out, rows.Err()
}

// keepIncomingRevision stores a version that lost to the current one. A
// version not seen before gives the record a new change number, so that the
// feed carries the revision on to the devices that do not have it.
func keepIncomingRevision(ctx context.Context, tx *sql.Tx, rid int64, r *Record) (known bool, err error) {
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO revisions(id, clock, origin, deleted, sealed, seq) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		r.ID, r.Clock, r.Origin, r.Deleted, nullBlob(r.Sealed), seq)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return true, err
	}
	_, err = tx.ExecContext(ctx, "UPDATE records SET seq = ? WHERE rid = ?", seq, rid)
	return false, err
}

// SealedEpoch is the key epoch a sealed payload names in its header (0 for
// a tombstone or a malformed header). It needs no key, so that a node
// without the vault key can tell which epoch a record belongs to.
func (r *Record) SealedEpoch() uint32 {
	h, err := parseSealHeader(r.Sealed)
	if err != nil {
		return 0
	}
	return h.epoch
}

// CheckEnvelope checks a record's cleartext fields and the shape of its
// sealed envelope without opening it: what a node without the vault key
// can check before it stores a record.
func (r *Record) CheckEnvelope() error {
	if err := r.validate(); err != nil {
		return err
	}
	if !r.Deleted {
		if _, err := parseSealHeader(r.Sealed); err != nil {
			return &RecordError{ID: r.ID, Err: err}
		}
	}
	return nil
}

// CheckRecord checks a record that came from elsewhere as Apply would,
// opening its sealed payload, and stores nothing: so that a batch can be
// refused whole when one record in it is bad.
func (v *Vault) CheckRecord(r *Record) error {
	if err := r.validate(); err != nil {
		return err
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return err
	}
	if r.Deleted {
		return nil
	}
	if _, err := keys.records.open(r.ID, r.Kind, r.Sealed); err != nil {
		return &RecordError{ID: r.ID, Err: err}
	}
	return nil
}

// ApplyBatch is Apply for many records in one transaction, in order: sync
// applies a batch at a time. Every record is validated and opened before
// any is stored, so a batch with one bad record stores nothing.
func (v *Vault) ApplyBatch(ctx context.Context, in []Record) ([]Outcome, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	payloads := make([][]byte, len(in))
	for i := range in {
		if err := in[i].validate(); err != nil {
			return nil, err
		}
		if !in[i].Deleted {
			if payloads[i], err = keys.records.open(in[i].ID, in[i].Kind, in[i].Sealed); err != nil {
				return nil, &RecordError{ID: in[i].ID, Err: err}
			}
		}
	}
	outs := make([]Outcome, len(in))
	changed := false
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		for i := range in {
			if outs[i], err = applyOne(ctx, tx, keys, in[i], payloads[i]); err != nil {
				return fmt.Errorf("apply record %s: %w", in[i].ID, err)
			}
			changed = changed || outs[i] != Unchanged
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		if err := v.sync(ctx, 0); err != nil {
			v.log.Warn("catching up with the vault failed", "err", err)
		}
	}
	return outs, nil
}
