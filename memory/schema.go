package memory

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations bring the vault's tables up to date, one transaction each;
// PRAGMA user_version records how many have run. Append only: never edit a
// migration that has shipped.
//
// Cleartext columns are only what ordering and sync need: id, kind, clock,
// origin device, deleted flag, plus the local change sequence (seq) and
// SQLite's row id. Everything a person wrote is inside sealed.
var migrations = []string{
	// 1: records, revisions, the blind keyword index and sealed embeddings.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value BLOB NOT NULL
	);
	CREATE TABLE records (
		rid     INTEGER PRIMARY KEY,
		id      TEXT NOT NULL UNIQUE,
		kind    TEXT NOT NULL,
		clock   INTEGER NOT NULL,
		origin  TEXT NOT NULL,
		deleted INTEGER NOT NULL DEFAULT 0,
		seq     INTEGER NOT NULL,
		sealed  BLOB
	);
	CREATE INDEX records_seq ON records(seq);
	CREATE INDEX records_clock ON records(clock);
	CREATE INDEX records_kind ON records(kind, deleted, clock);
	CREATE TABLE revisions (
		rid     INTEGER PRIMARY KEY,
		id      TEXT NOT NULL,
		clock   INTEGER NOT NULL,
		origin  TEXT NOT NULL,
		deleted INTEGER NOT NULL DEFAULT 0,
		sealed  BLOB,
		UNIQUE (id, clock, origin)
	);
	CREATE VIRTUAL TABLE blind_index USING fts5(tokens, content='', contentless_delete=1);
	CREATE TABLE embeddings (
		rid    INTEGER NOT NULL REFERENCES records(rid) ON DELETE CASCADE,
		model  TEXT NOT NULL,
		dim    INTEGER NOT NULL,
		sealed BLOB NOT NULL, -- float32 vector, for exact rescoring
		quant  BLOB NOT NULL, -- its int8 copy and scale, loaded at unlock
		PRIMARY KEY (rid, model)
	);`,
	// 2: per-token document counts of the blind index, for query planning.
	`CREATE VIRTUAL TABLE blind_vocab USING fts5vocab(blind_index, 'row');`,
	// 3: the blind index of messages, apart from the memories' so that
	// memory search ranks and plans over memories alone.
	`CREATE VIRTUAL TABLE message_index USING fts5(tokens, content='', contentless_delete=1);
	CREATE VIRTUAL TABLE message_vocab USING fts5vocab(message_index, 'row');`,
	// 4: the local change number at which each revision became known here,
	// so sync ships only the revisions a peer has not had (sync_records.go).
	`ALTER TABLE revisions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;`,
	// 5: message passages (passages.go): each passage's own words and its
	// neighbouring turns as a down-weighted second column, and which
	// message each passage row belongs to.
	`CREATE VIRTUAL TABLE passage_index USING fts5(body, context, content='', contentless_delete=1);
	INSERT INTO passage_index(passage_index, rank) VALUES('rank', 'bm25(1.0, 0.35)');
	CREATE VIRTUAL TABLE passage_vocab USING fts5vocab(passage_index, 'row');
	CREATE TABLE passages (
		prow INTEGER PRIMARY KEY,
		rid  INTEGER NOT NULL, -- the message's record
		part INTEGER NOT NULL  -- passage number, or -1 for the turn after it
	);
	CREATE INDEX passages_rid ON passages(rid);`,
	// 6: embeddings of message passages (passages_vectors.go), sealed like
	// memory embeddings under the device-local vectors subkey; seq is the
	// message version embedded.
	`CREATE TABLE passage_embeddings (
		rid    INTEGER NOT NULL REFERENCES records(rid) ON DELETE CASCADE,
		part   INTEGER NOT NULL,
		model  TEXT NOT NULL,
		seq    INTEGER NOT NULL,
		sealed BLOB NOT NULL, -- float32 vector, for exact rescoring
		quant  BLOB NOT NULL, -- its int8 copy and scale, loaded at unlock
		PRIMARY KEY (rid, model, part)
	);`,
}

// schemaVersion is the number of migrations this build knows.
var schemaVersion = len(migrations)

func userVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migrate runs the migrations this vault has not had yet. A vault written by
// a newer build (more migrations than this one knows) is refused rather than
// guessed at.
func migrate(ctx context.Context, db *sql.DB) error {
	have, err := userVersion(ctx, db)
	if err != nil {
		return err
	}
	if have > schemaVersion {
		return fmt.Errorf("the vault's schema version %d is newer than this build knows (%d): update cairn", have, schemaVersion)
	}
	for i := have; i < schemaVersion; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		// Another process may have migrated while this one waited for the
		// write lock.
		var now int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&now); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if now > i {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}
