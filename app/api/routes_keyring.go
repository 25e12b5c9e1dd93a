package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cairnlabs/cairn/memory"
)

// The OS keyring (Secret Service on Linux) may keep a device key that
// opens the vault, so the desktop app unlocks at start without the
// passphrase (memory/devicekey.go). The vault holds only a wrap of its key
// under that device key; removing it makes the keyring's copy useless.

// KeyStore keeps secrets outside the vault, by account name: the OS
// keyring (app/owner/keyring.go).
type KeyStore interface {
	// Available says why the keyring cannot be used (nil when it can).
	Available(ctx context.Context) error
	// Get returns ErrNotInKeyring when the account has no secret.
	Get(ctx context.Context, account string) ([]byte, error)
	Set(ctx context.Context, account string, secret []byte) error
	// Delete succeeds when there is nothing to delete.
	Delete(ctx context.Context, account string) error
}

// ErrNotInKeyring means the keyring holds no secret for the account.
var ErrNotInKeyring = errors.New("not in the keyring")

// keyringAccount is the keyring account of a vault's device key.
func keyringAccount(v *memory.Vault) string { return "vault " + v.ID() }

// RememberKey keeps a new device key for the vault in ks, proving the right
// with the passphrase. On failure nothing is left half done: no wrap in the
// vault without its key in the keyring.
func RememberKey(ctx context.Context, v *memory.Vault, ks KeyStore, passphrase []byte) error {
	if ks == nil {
		return errors.New("this build has no OS keyring")
	}
	if err := ks.Available(ctx); err != nil {
		return err
	}
	secret, err := v.AddDeviceKey(ctx, passphrase)
	if err != nil {
		return err
	}
	defer clear(secret)
	if err := ks.Set(ctx, keyringAccount(v), secret); err != nil {
		if rerr := v.RemoveDeviceKey(context.WithoutCancel(ctx)); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

// ForgetKey removes the device key from the vault and from ks: after it
// only the passphrase (or the recovery key) opens the vault.
func ForgetKey(ctx context.Context, v *memory.Vault, ks KeyStore) error {
	if err := v.RemoveDeviceKey(ctx); err != nil {
		return err
	}
	if ks == nil {
		return nil
	}
	if err := ks.Delete(ctx, keyringAccount(v)); err != nil {
		return fmt.Errorf("the vault no longer accepts the keyring's key, but removing it from the keyring failed: %w", err)
	}
	return nil
}

// UnlockFromKeyring unlocks the vault with the device key in ks, when
// there is one; it reports whether it did. A key the vault no longer
// accepts is removed from the keyring.
func UnlockFromKeyring(ctx context.Context, v *memory.Vault, ks KeyStore) (bool, error) {
	if ks == nil || !v.Locked() {
		return false, nil
	}
	if has, err := v.HasDeviceKey(ctx); err != nil || !has {
		return false, err
	}
	secret, err := ks.Get(ctx, keyringAccount(v))
	if errors.Is(err, ErrNotInKeyring) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer clear(secret)
	err = v.UnlockWithDeviceKey(ctx, secret)
	if errors.Is(err, memory.ErrNoDeviceKey) {
		return false, ks.Delete(ctx, keyringAccount(v))
	}
	return err == nil, err
}

// KeyringState says whether the keyring can and does keep the vault's key.
type KeyringState struct {
	// Available is false where there is no keyring (a server, an SSH
	// session without one); Reason then says why.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// Stored says the vault opens with a device key from the keyring.
	Stored bool `json:"stored"`
}

// KeyringStatus reports the keyring's state for the vault.
func KeyringStatus(ctx context.Context, v *memory.Vault, ks KeyStore) (KeyringState, error) {
	var st KeyringState
	if ks == nil {
		st.Reason = "this build has no OS keyring"
		return st, nil
	}
	if err := ks.Available(ctx); err != nil {
		st.Reason = err.Error()
		return st, nil
	}
	st.Available = true
	has, err := v.HasDeviceKey(ctx)
	if err != nil || !has {
		return st, err
	}
	secret, err := ks.Get(ctx, keyringAccount(v))
	if errors.Is(err, ErrNotInKeyring) {
		return st, nil
	}
	clear(secret)
	st.Stored = err == nil
	return st, err
}

// routesKeyring registers the keyring routes.
func (s *Server) routesKeyring() []route {
	return []route{
		{pattern: "GET /api/v1/keyring", scope: ScopeAdmin, serve: s.keyringState,
			summary: "Whether the OS keyring is there and keeps the vault's key, so the app unlocks at start (admin)"},
		{pattern: "PUT /api/v1/keyring", scope: ScopeAdmin, maxBody: smallBody, serve: s.rememberKey,
			summary: "Keep the vault's key in the OS keyring, proven by the passphrase (admin)", fields: "passphrase"},
		{pattern: "DELETE /api/v1/keyring", scope: ScopeAdmin, serve: s.forgetKey,
			summary: "Remove the vault's key from the OS keyring: only the passphrase opens the vault after this (admin)"},
	}
}

func (s *Server) keyringState(w http.ResponseWriter, r *http.Request) error {
	st, err := KeyringStatus(r.Context(), s.cfg.Vault, s.cfg.Keyring)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) rememberKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Passphrase string `json:"passphrase"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if s.cfg.Keyring == nil {
		return errorf(http.StatusNotImplemented, "no_keyring", "this build has no OS keyring: unlock with the passphrase")
	}
	if err := s.cfg.Keyring.Available(r.Context()); err != nil {
		return errorf(http.StatusServiceUnavailable, "no_keyring", "the OS keyring is not available ("+err.Error()+"): unlock with the passphrase")
	}
	if err := RememberKey(r.Context(), s.cfg.Vault, s.cfg.Keyring, []byte(in.Passphrase)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, KeyringState{Available: true, Stored: true})
	return nil
}

func (s *Server) forgetKey(w http.ResponseWriter, r *http.Request) error {
	if err := ForgetKey(r.Context(), s.cfg.Vault, s.cfg.Keyring); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, KeyringState{Available: s.cfg.Keyring != nil, Stored: false})
	return nil
}
