package gym

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
)

// Near-duplicates: an item whose words are nearly those of one the gym
// has (the same answer with a word changed, reordered punctuation) is
// refused like a duplicate, so that rewording an item does not buy a key
// more accepted items. Each item's text gets a MinHash signature of its
// 2-word shingles (64 hashes); 16 bands of 4 find candidates (LSH), and
// the estimated Jaccard similarity decides. Task results are left out:
// results of one task share their prompt and answers by design.

const (
	minhashSize  = 64
	minhashBands = 16
	minhashRows  = minhashSize / minhashBands
	// DefaultNearDuplicate is the similarity from which an item is a
	// near-duplicate.
	DefaultNearDuplicate = 0.75
)

const nearSchema = `
CREATE TABLE IF NOT EXISTS near_sigs (
	hash TEXT PRIMARY KEY,
	sig BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS near_bands (
	band INTEGER NOT NULL,
	key INTEGER NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS near_bands_by_key ON near_bands(band, key);`

type minhash [minhashSize]uint64

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// signature is the item's MinHash, and false when it is too short to
// judge (under 5 words).
func signature(it Item) (minhash, bool) {
	var words []string
	for _, ts := range [][]Turn{it.Messages, it.Prompt, it.Chosen, it.Rejected, it.Completion} {
		for _, t := range ts {
			words = append(words, strings.Fields(strings.ToLower(t.Content))...)
		}
	}
	var sig minhash
	if len(words) < 5 {
		return sig, false
	}
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	for i := 0; i+2 <= len(words); i++ {
		h := fnv.New64a()
		h.Write([]byte(string(it.Format) + "\x00" + words[i] + " " + words[i+1]))
		x := h.Sum64()
		for j := range sig {
			if v := splitmix(x ^ uint64(j)*0x632be59bd9b4e019); v < sig[j] {
				sig[j] = v
			}
		}
	}
	return sig, true
}

func (m *minhash) bytes() []byte {
	b := make([]byte, 8*minhashSize)
	for i, v := range m {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func (m *minhash) bandKey(band int) int64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range m[band*minhashRows : (band+1)*minhashRows] {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	return int64(h.Sum64() >> 1)
}

func similarity(a *minhash, b []byte) float64 {
	if len(b) != 8*minhashSize {
		return 0
	}
	same := 0
	for i := range a {
		if a[i] == binary.LittleEndian.Uint64(b[8*i:]) {
			same++
		}
	}
	return float64(same) / minhashSize
}

// One statement each for the bands' lookup and insert: 16 round trips
// through cgo an item were most of a contribution's time.
var (
	nearLookup = "SELECT DISTINCT s.hash, s.sig FROM near_bands b JOIN near_sigs s ON s.hash = b.hash WHERE " +
		strings.TrimSuffix(strings.Repeat("(b.band = ? AND b.key = ?) OR ", minhashBands), " OR ")
	nearInsert = "INSERT INTO near_bands (band, key, hash) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", minhashBands), ", ")
)

// nearDuplicate finds a kept item nearly the same as it (its hash and
// the similarity), or "".
func nearDuplicate(ctx context.Context, q querier, sig *minhash, threshold float64) (string, float64, error) {
	args := make([]any, 0, 2*minhashBands)
	for band := range minhashBands {
		args = append(args, band, sig.bandKey(band))
	}
	rows, err := q.QueryContext(ctx, nearLookup, args...)
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var b []byte
		if err := rows.Scan(&h, &b); err != nil {
			return "", 0, err
		}
		if s := similarity(sig, b); s >= threshold {
			return h, s, nil
		}
	}
	return "", 0, rows.Err()
}

func keepSignature(ctx context.Context, q querier, hash string, sig *minhash) error {
	if _, err := q.ExecContext(ctx, "INSERT OR IGNORE INTO near_sigs (hash, sig) VALUES (?, ?)", hash, sig.bytes()); err != nil {
		return err
	}
	args := make([]any, 0, 3*minhashBands)
	for band := range minhashBands {
		args = append(args, band, sig.bandKey(band), hash)
	}
	_, err := q.ExecContext(ctx, nearInsert, args...)
	return err
}

// checkNear refuses a near-duplicate (a reason), or keeps the item's
// signature for the next ones.
func (n *Node) checkNear(ctx context.Context, q querier, it Item, hash string) (string, error) {
	if it.Task != "" || n.cfg.NearDuplicate < 0 {
		return "", nil
	}
	sig, ok := signature(it)
	if !ok {
		return "", nil
	}
	other, s, err := nearDuplicate(ctx, q, &sig, n.cfg.NearDuplicate)
	if err != nil || other == "" {
		return "", err
	}
	if other == hash {
		return "", nil
	}
	return fmt.Sprintf("the gym has a near-duplicate of it already (item %.16s…, about %.0f%% the same): reworded copies are refused like copies", other, 100*s), nil
}
