package memory

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// A device key is a third wrap of the vault key, beside the passphrase and
// the recovery key: 32 random bytes that the desktop app keeps in the OS
// keyring, so the vault opens at start without the passphrase. The vault
// holds only the wrap; the secret itself lives outside it, and removing the
// wrap (RemoveDeviceKey) makes a copy of the secret useless.

// metaWrapDevice is the device-key wrap in the meta table.
const metaWrapDevice = "wrap_device"

// ErrNoDeviceKey means the vault has no device-key wrap (or the key given
// does not open it).
var ErrNoDeviceKey = errors.New("no device key for this vault: unlock it with the passphrase")

// AddDeviceKey makes a new device key that opens the vault, proving the
// right to do so with the passphrase, and returns the secret to keep in the
// OS keyring. It replaces any earlier device key.
func (v *Vault) AddDeviceKey(ctx context.Context, passphrase []byte) ([]byte, error) {
	var w keyWrap
	if err := v.readMeta(ctx, metaWrapPass, &w); err != nil {
		return nil, err
	}
	vaultKey, err := w.unwrapWithPassphrase(passphrase)
	if err != nil {
		return nil, fmt.Errorf("add device key: %w", err)
	}
	defer clear(vaultKey)
	secret := randomBytes(keySize)
	dw, err := wrapKey(deviceKEK(secret), vaultKey, nil)
	if err != nil {
		return nil, err
	}
	if err := v.writeMeta(ctx, map[string]any{metaWrapDevice: dw}); err != nil {
		return nil, fmt.Errorf("save device key wrap: %w", err)
	}
	return secret, nil
}

// HasDeviceKey reports whether a device key can open the vault.
func (v *Vault) HasDeviceKey(ctx context.Context) (bool, error) {
	var n int
	err := v.db.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE key = ?", metaWrapDevice).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read vault %s: %w", v.path, err)
	}
	return n > 0, nil
}

// UnlockWithDeviceKey unlocks the vault with a secret from AddDeviceKey.
// A wrong or revoked secret returns ErrNoDeviceKey and writes nothing.
func (v *Vault) UnlockWithDeviceKey(ctx context.Context, secret []byte) error {
	if ok, err := v.HasDeviceKey(ctx); err != nil || !ok {
		return cmp.Or(err, ErrNoDeviceKey)
	}
	var w keyWrap
	if err := v.readMeta(ctx, metaWrapDevice, &w); err != nil {
		return err
	}
	vaultKey, ok := w.unwrap(deviceKEK(secret))
	if !ok {
		return ErrNoDeviceKey
	}
	var epoch uint32
	if err := v.readMeta(ctx, metaKeyEpoch, &epoch); err != nil {
		clear(vaultKey)
		return err
	}
	if err := migrate(ctx, v.db); err != nil {
		clear(vaultKey)
		return v.explain(fmt.Errorf("unlock vault: %w", err))
	}
	ring, err := v.readKeyring(ctx, vaultKey, epoch)
	if err != nil {
		clear(vaultKey)
		return fmt.Errorf("unlock vault: %w", err)
	}
	v.unlocked(vaultKey, ring)
	return v.loadVectors(ctx)
}

// RemoveDeviceKey deletes the device-key wrap: a secret kept anywhere no
// longer opens the vault.
func (v *Vault) RemoveDeviceKey(ctx context.Context) error {
	return v.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key = ?", metaWrapDevice)
		return err
	})
}

// deviceKEK derives the key-encryption key from a device key; like the
// recovery key it has full entropy, so HKDF is enough.
func deviceKEK(secret []byte) []byte { return deriveKey(secret, "cairn device key wrap v1") }
