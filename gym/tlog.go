package gym

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// The gym's transparency log. Every accepted item's hash (never its
// content) is a leaf of an append-only Merkle tree, hashed as RFC 6962
// and Go's checksum database do (golang.org/x/mod/sumdb/tlog). The tree
// is kept as tlog's stored hashes in the gym's database, in the same
// transaction as the item, so an item is accepted exactly when its leaf
// is appended. Anyone can mirror the log from its tiles and signed
// checkpoints (see checkpoint.go and FORMATS.md).

// LogTileHeight is the height of the log's tiles: 2^8 hashes a tile, as
// in Go's checksum database.
const LogTileHeight = 8

const logSchema = `
CREATE TABLE IF NOT EXISTS log_hashes (
	idx INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_leaves (
	n INTEGER PRIMARY KEY,
	item TEXT NOT NULL UNIQUE
);`

// LogRecord is the record a leaf holds for an item: its hex SHA-256 hash
// (64 ASCII bytes). The leaf hash is tlog.RecordHash of it.
func LogRecord(itemHash string) []byte { return []byte(itemHash) }

// querier is what the log needs of a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// logStore reads and appends the log in a database or a transaction.
type logStore struct {
	ctx context.Context
	q   querier
}

// ReadHashes implements tlog.HashReader over the stored hashes.
func (s logStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	args := make([]any, len(indexes))
	for i, x := range indexes {
		args[i] = x
	}
	rows, err := s.q.QueryContext(s.ctx, "SELECT idx, hash FROM log_hashes WHERE idx IN (?"+strings.Repeat(",?", len(indexes)-1)+")", args...)
	if err != nil {
		return nil, fmt.Errorf("read the log's hashes: %w", err)
	}
	defer rows.Close()
	found := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("the log's hash %d is damaged", idx)
		}
		found[idx] = tlog.Hash(b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("the log has no stored hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}

// size is the number of leaves.
func (s logStore) size() (int64, error) {
	var n int64
	err := s.q.QueryRowContext(s.ctx, "SELECT COALESCE(MAX(n) + 1, 0) FROM log_leaves").Scan(&n)
	return n, err
}

// append adds an item's leaf at the end and returns its index.
func (s logStore) append(itemHash string) (int64, error) {
	n, err := s.size()
	if err != nil {
		return 0, err
	}
	hashes, err := tlog.StoredHashes(n, LogRecord(itemHash), s)
	if err != nil {
		return 0, fmt.Errorf("append leaf %d: %w", n, err)
	}
	first := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		if _, err := s.q.ExecContext(s.ctx, "INSERT INTO log_hashes (idx, hash) VALUES (?, ?)", first+int64(i), h[:]); err != nil {
			return 0, fmt.Errorf("append leaf %d: %w", n, err)
		}
	}
	if _, err := s.q.ExecContext(s.ctx, "INSERT INTO log_leaves (n, item) VALUES (?, ?)", n, itemHash); err != nil {
		return 0, fmt.Errorf("append leaf %d: %w", n, err)
	}
	return n, nil
}

// indexOf is the leaf index of an item, or -1 when it is not in the log.
func (s logStore) indexOf(itemHash string) (int64, error) {
	var n int64
	err := s.q.QueryRowContext(s.ctx, "SELECT n FROM log_leaves WHERE item = ?", itemHash).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, nil
	}
	return n, err
}

// tree is the log's current size and root hash.
func (s logStore) tree() (tlog.Tree, error) {
	n, err := s.size()
	if err != nil {
		return tlog.Tree{}, err
	}
	h, err := tlog.TreeHash(n, s)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("the log's root at size %d: %w", n, err)
	}
	return tlog.Tree{N: n, Hash: h}, nil
}

// tile returns a tile's bytes as the tile protocol serves them: a hash
// tile holds W hashes of level L*H; a data tile (L = -1) holds the
// records of its leaves, one a line. A tile past the tree is an error.
func (s logStore) tile(t tlog.Tile, size int64) ([]byte, error) {
	w := int64(t.W)
	if t.L < 0 {
		if (t.N<<uint(t.H))+w > size {
			return nil, errTilePastLog
		}
		rows, err := s.q.QueryContext(s.ctx, "SELECT item FROM log_leaves WHERE n >= ? AND n < ? ORDER BY n", t.N<<uint(t.H), (t.N<<uint(t.H))+w)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var b []byte
		for rows.Next() {
			var item string
			if err := rows.Scan(&item); err != nil {
				return nil, err
			}
			b = append(append(b, LogRecord(item)...), '\n')
		}
		return b, rows.Err()
	}
	if (t.N<<uint(t.H))+w > size>>uint(t.L*t.H) {
		return nil, errTilePastLog
	}
	return tlog.ReadTileData(t, s)
}

var errTilePastLog = errors.New("the tile is past the end of the log")
