package memory

import (
	"bytes"
	"context"
	"crypto/cipher"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"
)

// Records are sealed under an epoch key. A vault that was never paired has
// one epoch, whose key is its own vault key. Pairing gives a device the
// keys of the vault it joins; removing a device rotates to a new epoch whose
// key the removed device never gets. Every epoch key is kept (wrapped under
// a key derived from this device's vault key, in meta) so that older
// records still open.
const metaKeyring = "keyring"

type keyring struct {
	current uint32
	keys    map[uint32][]byte
	wrap    []byte // wraps the epoch keys in meta
}

func newKeyring(vaultKey []byte, current uint32, keys map[uint32][]byte) *keyring {
	if keys == nil {
		keys = map[uint32][]byte{current: bytes.Clone(vaultKey)}
	}
	return &keyring{current: current, keys: keys, wrap: deriveKey(vaultKey, "cairn keyring v1")}
}

func recordAEAD(key []byte) cipher.AEAD {
	aead, err := chacha20poly1305.NewX(deriveKey(key, "cairn record seal v1"))
	if err != nil {
		panic(err) // key size is fixed
	}
	return aead
}

func (r *keyring) sealer() *sealer {
	s := &sealer{epoch: r.current, aead: recordAEAD(r.keys[r.current]), older: map[uint32]cipher.AEAD{}}
	for e, k := range r.keys {
		if e != r.current {
			s.older[e] = recordAEAD(k)
		}
	}
	return s
}

type ringEntry struct {
	Epoch uint32  `json:"epoch"`
	Key   keyWrap `json:"key"`
}

func (v *Vault) readKeyring(ctx context.Context, vaultKey []byte, epoch uint32) (*keyring, error) {
	var raw []byte
	err := v.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", metaKeyring).Scan(&raw)
	if err == sql.ErrNoRows {
		return newKeyring(vaultKey, epoch, nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the key ring: %w", err)
	}
	var entries []ringEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("the key ring in %s is malformed: %w", v.path, err)
	}
	ring := newKeyring(vaultKey, epoch, map[uint32][]byte{})
	for _, e := range entries {
		k, ok := e.Key.unwrap(ring.wrap)
		if !ok {
			return nil, fmt.Errorf("key epoch %d in %s: %w", e.Epoch, v.path, ErrCorrupt)
		}
		ring.keys[e.Epoch] = k
	}
	if ring.keys[epoch] == nil {
		return nil, fmt.Errorf("the key ring in %s lacks the current epoch %d: %w", v.path, epoch, ErrCorrupt)
	}
	return ring, nil
}

func saveKeyring(ctx context.Context, tx *sql.Tx, ring *keyring) error {
	var entries []ringEntry
	for _, e := range slices.Sorted(maps.Keys(ring.keys)) {
		w, err := wrapKey(ring.wrap, ring.keys[e], nil)
		if err != nil {
			return err
		}
		entries = append(entries, ringEntry{Epoch: e, Key: w})
	}
	for k, val := range map[string]any{metaKeyring: entries, metaKeyEpoch: ring.current} {
		raw, err := json.Marshal(val)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", k, raw); err != nil {
			return err
		}
	}
	return nil
}

// useKeyring makes ring the record keys of the unlocked vault.
func (v *Vault) useKeyring(ring *keyring) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys == nil {
		return
	}
	nk := *v.keys
	nk.ring, nk.records = ring, ring.sealer()
	v.keys = &nk
}

// KeyEpoch is the key epoch that new records are sealed under.
func (v *Vault) KeyEpoch() (uint32, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return 0, err
	}
	return keys.ring.current, nil
}

// Keyring returns a copy of the record keys of every epoch and the current
// epoch, for pairing a new device. The caller must seal them before they
// leave the process.
func (v *Vault) Keyring() (map[uint32][]byte, uint32, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, 0, err
	}
	out := map[uint32][]byte{}
	for e, k := range keys.ring.keys {
		out[e] = bytes.Clone(k)
	}
	return out, keys.ring.current, nil
}

// RotateKey starts a new key epoch with a fresh random key: records written
// from now on are sealed under it. It returns the epoch and its key, to be
// handed to the devices that remain trusted.
func (v *Vault) RotateKey(ctx context.Context) (uint32, []byte, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return 0, nil, err
	}
	epoch := slices.Max(slices.Collect(maps.Keys(keys.ring.keys))) + 1
	key := randomBytes(keySize)
	if err := v.AddEpochKey(ctx, epoch, key); err != nil {
		return 0, nil, err
	}
	return epoch, key, nil
}

// AddEpochKey stores the key of an epoch that another device started; when
// it is newer than the current epoch it becomes current. Adding a key that
// is already held changes nothing; a different key for a held epoch is
// refused.
func (v *Vault) AddEpochKey(ctx context.Context, epoch uint32, key []byte) error {
	if len(key) != keySize {
		return invalidf("an epoch key is %d bytes, not %d", len(key), keySize)
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return err
	}
	if have, ok := keys.ring.keys[epoch]; ok {
		if bytes.Equal(have, key) {
			return nil
		}
		return invalidf("key epoch %d is already held with a different key", epoch)
	}
	ring := &keyring{current: max(keys.ring.current, epoch), keys: maps.Clone(keys.ring.keys), wrap: keys.ring.wrap}
	ring.keys[epoch] = bytes.Clone(key)
	if err := v.withTx(ctx, func(tx *sql.Tx) error { return saveKeyring(ctx, tx, ring) }); err != nil {
		return fmt.Errorf("save key epoch %d: %w", epoch, err)
	}
	v.useKeyring(ring)
	return nil
}

// AdoptKeyring replaces this vault's record keys with those of the vault
// it joins (pairing). Records and revisions that the new keys cannot open
// (those written here before joining) are sealed again under the new
// current epoch, unchanged otherwise, so nothing written here is lost.
func (v *Vault) AdoptKeyring(ctx context.Context, keys map[uint32][]byte, current uint32) error {
	if keys[current] == nil {
		return invalidf("the key ring lacks its current epoch %d", current)
	}
	old, err := v.unlockedKeys()
	if err != nil {
		return err
	}
	ring := &keyring{current: current, keys: map[uint32][]byte{}, wrap: old.ring.wrap}
	for e, k := range keys {
		if len(k) != keySize {
			return invalidf("key epoch %d is %d bytes, not %d", e, len(k), keySize)
		}
		ring.keys[e] = bytes.Clone(k)
	}
	next := ring.sealer()
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"records", "revisions"} {
			if err := reseal(ctx, tx, table, old.records, next); err != nil {
				return err
			}
		}
		return saveKeyring(ctx, tx, ring)
	})
	if err != nil {
		return fmt.Errorf("adopt the paired vault's keys: %w", err)
	}
	v.useKeyring(ring)
	return nil
}

// reseal seals again under next the rows of table that next cannot open.
func reseal(ctx context.Context, tx *sql.Tx, table string, old, next *sealer) error {
	q := "SELECT r.rid, r.id, k.kind, r.sealed FROM " + table + " r JOIN records k ON k.id = r.id WHERE r.sealed IS NOT NULL"
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	type redo struct {
		rid    int64
		sealed []byte
	}
	var todo []redo
	for rows.Next() {
		var rid int64
		var id string
		var kind Kind
		var blob []byte
		if err := rows.Scan(&rid, &id, &kind, &blob); err != nil {
			rows.Close()
			return err
		}
		if _, err := next.open(id, kind, blob); err == nil {
			continue
		}
		pt, err := old.open(id, kind, blob)
		if err != nil {
			rows.Close()
			return &RecordError{ID: id, Err: err}
		}
		h, _ := parseSealHeader(blob)
		todo = append(todo, redo{rid, next.seal(id, kind, h.schema, pt)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET sealed = ? WHERE rid = ?", r.sealed, r.rid); err != nil {
			return err
		}
	}
	return nil
}

// ErrUnknownEpoch means a record is sealed under a key epoch this vault does
// not hold (yet: a peer that rotated may not have sent the key here).
var ErrUnknownEpoch = errors.New("sealed under a key epoch this vault does not hold")
