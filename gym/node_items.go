package gym

import (
	"context"
	"io"
	"time"
)

// What a gym node keeps, read back: its live items, scored, and exported
// as JSONL (parquet.go writes them as Parquet).

// StoredItem is an accepted item as the gym keeps it, with its
// provenance.
type StoredItem struct {
	Hash        string
	Raw         []byte
	Contributor PublicKey
	// LogIndex is its leaf in the transparency log.
	LogIndex int64
	Received time.Time
	// License is the licence its contributor signed it under.
	License string
	// Score is its contributor's score (ScoredItems only).
	Score float64
}

// Items lists the live (not revoked, not rejected) items of a format (""
// for all), in the order they arrived.
func (n *Node) Items(ctx context.Context, f Format) ([]StoredItem, error) {
	var out []StoredItem
	err := n.eachItem(ctx, f, func(s StoredItem) error {
		out = append(out, s)
		return nil
	})
	return out, err
}

// eachItem calls fn with each live item of a format in the order they
// arrived, read as it goes: an export of millions holds one at a time.
// fn must not use the database (the rows hold a connection).
func (n *Node) eachItem(ctx context.Context, f Format, fn func(StoredItem) error) error {
	rows, err := n.db.QueryContext(ctx, `SELECT i.hash, i.raw, i.contributor, COALESCE(l.n, -1), i.received, i.license FROM items i LEFT JOIN log_leaves l ON l.item = i.hash
		WHERE i.revoked IS NULL AND i.hash NOT IN (SELECT hash FROM rejections) AND (? = '' OR i.format = ?) ORDER BY i.received, i.hash`, f, f)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s StoredItem
		var at int64
		if err := rows.Scan(&s.Hash, &s.Raw, &s.Contributor, &s.LogIndex, &at, &s.License); err != nil {
			return err
		}
		s.Received = time.UnixMilli(at).UTC()
		if err := fn(s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ScoredItems are the live items of a format whose contributor's score is
// at least minScore, each with that score.
func (n *Node) ScoredItems(ctx context.Context, f Format, minScore float64) ([]StoredItem, error) {
	items, err := n.Items(ctx, f)
	if err != nil {
		return nil, err
	}
	sc, err := n.scorer(ctx)
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, it := range items {
		r, err := sc.record(ctx, it.Contributor)
		if err != nil {
			return nil, err
		}
		if it.Score = r.Score; r.Score >= minScore {
			out = append(out, it)
		}
	}
	return out, nil
}

// Export writes the live items of a format as TRL JSONL; it returns how
// many rows it wrote.
func (n *Node) Export(ctx context.Context, f Format, w io.Writer) (int, error) {
	return n.ExportScored(ctx, f, 0, w)
}

// ExportScored is Export of the items whose contributor scores at least
// minScore.
func (n *Node) ExportScored(ctx context.Context, f Format, minScore float64, w io.Writer) (int, error) {
	stored, err := n.ScoredItems(ctx, f, minScore)
	if err != nil {
		return 0, err
	}
	items := make([]Item, 0, len(stored))
	for _, s := range stored {
		it, err := DecodeItem(s.Raw)
		if err != nil {
			n.log.Warn("skipping an unreadable stored item", "hash", s.Hash, "err", err)
			continue
		}
		items = append(items, it)
	}
	return len(items), WriteJSONL(w, items)
}
