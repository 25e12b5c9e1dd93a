package gym

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// A registration stamp is proof of work tied to one key and one gym: a
// nonce such that SHA-256 of "cairn-gym-stamp-v1\n" GYM "\n" KEY "\n"
// NONCE starts with the number of zero bits the gym's manifest asks
// (Limits.StampBits). Made once per key, it makes mass-made keys cost
// CPU time: 2^bits hashes on average.

func stampHash(gym string, key PublicKey, nonce string) [32]byte {
	return sha256.Sum256([]byte("cairn-gym-stamp-v1\n" + gym + "\n" + string(key) + "\n" + nonce))
}

func leadingZeros(h [32]byte) int {
	n := 0
	for i := 0; i < len(h); i += 8 {
		z := bits.LeadingZeros64(binary.BigEndian.Uint64(h[i:]))
		n += z
		if z < 64 {
			break
		}
	}
	return n
}

// ValidStamp says whether a nonce is a stamp of at least bits for a key
// at a gym.
func ValidStamp(gym string, key PublicKey, nonce string, bits int) bool {
	return len(nonce) <= 32 && leadingZeros(stampHash(gym, key, nonce)) >= bits
}

// MakeStamp finds a stamp (about 2^bits hashes).
func MakeStamp(gym string, key PublicKey, bits int) string {
	for i := uint64(0); ; i++ {
		nonce := strconv.FormatUint(i, 36)
		if ValidStamp(gym, key, nonce, bits) {
			return nonce
		}
	}
}

// stamp is this person's stamp for the gym's key, made once (it takes
// about 2^bits hashes) and kept.
func (c *Contributor) stamp(ctx context.Context, g GymInfo) (string, error) {
	bits := g.Manifest.Limits.StampBits
	if bits <= 0 {
		return "", nil
	}
	if bits > 32 {
		return "", fmt.Errorf("gym %s asks for a %d-bit stamp: more work than this device should do (at most 32)", g.Manifest.Name, bits)
	}
	var nonce string
	err := c.db.QueryRowContext(ctx, "SELECT nonce FROM stamps WHERE gym = ?", g.ID).Scan(&nonce)
	if err == nil && ValidStamp(g.ID, g.Contributor, nonce, bits) {
		return nonce, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	nonce = MakeStamp(g.ID, g.Contributor, bits)
	_, err = c.db.ExecContext(ctx, "INSERT OR REPLACE INTO stamps (gym, nonce) VALUES (?, ?)", g.ID, nonce)
	return nonce, err
}

const stampSchema = `
CREATE TABLE IF NOT EXISTS stamps (
	gym TEXT PRIMARY KEY,
	nonce TEXT NOT NULL
);`
