package sync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3" // the backup store's database

	"github.com/cairnlabs/cairn/memory"
)

// Store is where replication reads its change feed and applies what
// arrives: the vault on a device (memory.Vault), a BackupStore on a backup
// node.
type Store interface {
	SyncFeed(ctx context.Context, after int64, limit int) ([]memory.SyncEntry, error)
	LastSeq(ctx context.Context) (int64, error)
	// CheckRecord says whether a record may be stored, storing nothing.
	CheckRecord(r *memory.Record) error
	// ApplyBatch merges records in order, all or none.
	ApplyBatch(ctx context.Context, rs []memory.Record) ([]memory.Outcome, error)
	// DeviceID is the origin of the records this store writes itself ("" for
	// a backup node, which writes none).
	DeviceID() string
}

// BackupStore holds sealed records without the vault key: it merges them by
// the cleartext fields with the vault's rule (last writer wins by clock and
// origin, the loser kept as a revision, a tombstone takes the revisions with
// it), so it can forward to each device what that device lacks. It cannot
// open a record, so it cannot tell a forged one from a real one: it trusts
// the members' Noise-authenticated connections for that, and the devices
// authenticate every record when they apply it.
type BackupStore struct {
	db *sql.DB
}

const backupSchema = `
CREATE TABLE IF NOT EXISTS records (
	id TEXT PRIMARY KEY, kind TEXT NOT NULL, clock INTEGER NOT NULL, origin TEXT NOT NULL,
	deleted INTEGER NOT NULL, seq INTEGER NOT NULL, sealed BLOB);
CREATE INDEX IF NOT EXISTS records_seq ON records(seq);
CREATE TABLE IF NOT EXISTS revisions (
	id TEXT NOT NULL, clock INTEGER NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL,
	sealed BLOB, seq INTEGER NOT NULL, UNIQUE (id, clock, origin));`

// OpenBackupStore opens (or creates, mode 0600) the backup node's store.
func OpenBackupStore(ctx context.Context, path string) (*BackupStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		f.Close()
	}
	db, err := sql.Open("sqlite3", memory.SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open backup store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, backupSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open backup store %s: %w", path, err)
	}
	return &BackupStore{db: db}, nil
}

// Close closes the store.
func (b *BackupStore) Close() error { return b.db.Close() }

// DeviceID is empty: a backup node writes no records of its own.
func (b *BackupStore) DeviceID() string { return "" }

// LastSeq is the latest change number.
func (b *BackupStore) LastSeq(ctx context.Context) (int64, error) {
	var s int64
	err := b.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM records").Scan(&s)
	return s, err
}

// CheckRecord checks what can be checked without the key.
func (b *BackupStore) CheckRecord(r *memory.Record) error { return r.CheckEnvelope() }

// SyncFeed is memory.Vault.SyncFeed for sealed records held without the key.
func (b *BackupStore) SyncFeed(ctx context.Context, after int64, limit int) ([]memory.SyncEntry, error) {
	rows, err := b.db.QueryContext(ctx, "SELECT seq, id, kind, clock, origin, deleted, sealed FROM records WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	var out []memory.SyncEntry
	for rows.Next() {
		var e memory.SyncEntry
		r := &e.Record
		if err := rows.Scan(&e.Seq, &r.ID, &r.Kind, &r.Clock, &r.Origin, &r.Deleted, &r.Sealed); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		rr, err := b.db.QueryContext(ctx, "SELECT clock, origin, deleted, sealed FROM revisions WHERE id = ? AND (seq > ? OR ? = 0) ORDER BY clock, origin", out[i].Record.ID, after, after)
		if err != nil {
			return nil, err
		}
		for rr.Next() {
			r := memory.Record{ID: out[i].Record.ID, Kind: out[i].Record.Kind}
			if err := rr.Scan(&r.Clock, &r.Origin, &r.Deleted, &r.Sealed); err != nil {
				rr.Close()
				return nil, err
			}
			out[i].Revisions = append(out[i].Revisions, r)
		}
		rr.Close()
	}
	return out, nil
}

// ApplyBatch merges records as memory.Vault.ApplyBatch does, without
// opening them, in one transaction.
func (b *BackupStore) ApplyBatch(ctx context.Context, in []memory.Record) ([]memory.Outcome, error) {
	for i := range in {
		if err := in[i].CheckEnvelope(); err != nil {
			return nil, err
		}
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	outs := make([]memory.Outcome, len(in))
	for i := range in {
		if outs[i], err = applySealed(ctx, tx, in[i]); err != nil {
			return nil, err
		}
	}
	return outs, tx.Commit()
}

// applySealed carries out the vault's merge decision (memory.DecideMerge)
// on a record held sealed: the same rule on the same cleartext fields, so
// a backup node keeps what every device keeps.
func applySealed(ctx context.Context, tx *sql.Tx, in memory.Record) (memory.Outcome, error) {
	out, err := storeMerged(ctx, tx, in)
	if err != nil {
		return memory.Unchanged, fmt.Errorf("store record %s: %w", in.ID, err)
	}
	return out, nil
}

func storeMerged(ctx context.Context, tx *sql.Tx, in memory.Record) (memory.Outcome, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM records").Scan(&seq); err != nil {
		return memory.Unchanged, err
	}
	cur := &memory.Record{}
	var curSeq int64
	err := tx.QueryRowContext(ctx, "SELECT id, kind, clock, origin, deleted, seq, sealed FROM records WHERE id = ?", in.ID).
		Scan(&cur.ID, &cur.Kind, &cur.Clock, &cur.Origin, &cur.Deleted, &curSeq, &cur.Sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		cur = nil
	case err != nil:
		return memory.Unchanged, err
	}
	m, err := memory.DecideMerge(cur, &in)
	if err != nil {
		return memory.Unchanged, err
	}
	if m.DropRevisions {
		if _, err := tx.ExecContext(ctx, "DELETE FROM revisions WHERE id = ?", in.ID); err != nil {
			return memory.Unchanged, err
		}
	}
	if m.Revision != nil {
		// The stored version keeps the change number it had while current; a
		// losing incoming one gives the record a new one, so the feed carries
		// the revision on to the devices that lack it.
		s := seq
		if m.Outcome == memory.Replaced {
			s = curSeq
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO revisions(id, clock, origin, deleted, sealed, seq) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			in.ID, m.Revision.Clock, m.Revision.Origin, m.Revision.Deleted, blob(m.Revision.Sealed), s)
		if err != nil {
			return memory.Unchanged, err
		}
		if m.Outcome == memory.KeptAsRevision {
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return memory.Unchanged, err
			}
			_, err = tx.ExecContext(ctx, "UPDATE records SET seq = ? WHERE id = ?", seq, in.ID)
			return m.Outcome, err
		}
	}
	if m.Current != nil {
		r := m.Current
		if _, err := tx.ExecContext(ctx, "INSERT INTO records(id, kind, clock, origin, deleted, seq, sealed) VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET clock = excluded.clock, origin = excluded.origin, deleted = excluded.deleted, seq = excluded.seq, sealed = excluded.sealed",
			r.ID, r.Kind, r.Clock, r.Origin, r.Deleted, seq, blob(r.Sealed)); err != nil {
			return memory.Unchanged, err
		}
	}
	return m.Outcome, nil
}

func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
