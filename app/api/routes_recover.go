package api

import (
	"errors"
	"net/http"

	"github.com/cairnlabs/cairn/memory"
)

// The way back in for a person who forgot the passphrase, from the app
// itself: the recovery key shown at creation sets a new passphrase and
// opens the vault. Only the key wrap changes; no record is rewritten.

func (s *Server) recoverVault(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RecoveryKey   string `json:"recovery_key"`
		NewPassphrase string `json:"new_passphrase"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if len([]rune(in.NewPassphrase)) < MinPassphrase {
		return errorf(http.StatusBadRequest, "weak_passphrase", "the new passphrase is too short: use at least 8 characters (a few unrelated words are best)")
	}
	err := s.cfg.Vault.ResetPassphrase(r.Context(), in.RecoveryKey, []byte(in.NewPassphrase))
	if errors.Is(err, memory.ErrWrongRecoveryKey) {
		return errorf(http.StatusForbidden, "wrong_recovery_key", "that recovery key does not open this vault: check it (52 letters and digits in groups of four); nothing was changed")
	}
	if err != nil {
		return err
	}
	if s.cfg.Vault.Locked() {
		if err := s.cfg.Vault.Unlock(r.Context(), []byte(in.NewPassphrase)); err != nil {
			return err
		}
	}
	if tok, _ := tokenFrom(r.Context()); tok.Session {
		s.browser.resume(tok.Hash)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
	return nil
}
