package owner

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/memory"
)

// OSKeyring is the OS keyring through github.com/zalando/go-keyring: the
// Secret Service over D-Bus on Linux (GNOME Keyring, KWallet), the
// Keychain on macOS, the Credential Manager on Windows. It keeps each
// vault's device key under the service "cairn".
type OSKeyring struct{}

// KeyringService is the service the OS keyring files Cairn's keys under.
const KeyringService = "cairn"

// keyringTimeout bounds one keyring call: a locked keyring may wait for a
// prompt that nobody sees (a server, an SSH session).
const keyringTimeout = 10 * time.Second

var _ api.KeyStore = OSKeyring{}

// Available checks that a keyring answers, without prompting for long.
func (k OSKeyring) Available(ctx context.Context) error {
	if err := keyringReachable(); err != nil {
		return err
	}
	_, err := k.Get(ctx, "probe")
	if errors.Is(err, api.ErrNotInKeyring) {
		return nil
	}
	return err
}

func (OSKeyring) Get(ctx context.Context, account string) ([]byte, error) {
	s, err := withKeyringTimeout(ctx, func() (string, error) { return keyring.Get(KeyringService, account) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, api.ErrNotInKeyring
	}
	if err != nil {
		return nil, fmt.Errorf("read the OS keyring: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the OS keyring's entry %q for %s is not Cairn's: %w", account, KeyringService, err)
	}
	return b, nil
}

func (OSKeyring) Set(ctx context.Context, account string, secret []byte) error {
	_, err := withKeyringTimeout(ctx, func() (string, error) {
		return "", keyring.Set(KeyringService, account, base64.StdEncoding.EncodeToString(secret))
	})
	if err != nil {
		return fmt.Errorf("write to the OS keyring: %w", err)
	}
	return nil
}

func (OSKeyring) Delete(ctx context.Context, account string) error {
	_, err := withKeyringTimeout(ctx, func() (string, error) { return "", keyring.Delete(KeyringService, account) })
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("delete from the OS keyring: %w", err)
	}
	return nil
}

// withKeyringTimeout runs fn, giving up after keyringTimeout or when ctx
// ends (fn goes on in the background: go-keyring takes no context).
func withKeyringTimeout(ctx context.Context, fn func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := fn()
		done <- result{s, err}
	}()
	t := time.NewTimer(keyringTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.s, r.err
	case <-t.C:
		return "", errors.New("the OS keyring did not answer (is it locked, waiting for a password prompt?)")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// UnlockFromKeyring opens a locked vault with the device key in the OS
// keyring, where the person chose to keep one; it says whether it did. A
// keyring that fails is logged, not fatal: the passphrase still works.
func (c *Env) UnlockFromKeyring(ctx context.Context, v *memory.Vault) bool {
	if !v.Locked() {
		return false
	}
	if has, err := v.HasDeviceKey(ctx); err != nil || !has {
		return false
	}
	ok, err := api.UnlockFromKeyring(ctx, v, OSKeyring{})
	if err != nil {
		fmt.Fprintf(c.Stderr, "The vault's key is meant to be in the OS keyring, but reading it failed (%v): unlock with the passphrase.\n", err)
	}
	return ok
}

// RememberKey keeps a new vault's device key in the OS keyring (uiApp's
// keyring hook, for "keep the key in the keyring" at creation).
func RememberKey(ctx context.Context, v *memory.Vault, passphrase []byte) error {
	return api.RememberKey(ctx, v, OSKeyring{}, passphrase)
}
