package owner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Home is a Cairn data folder: the vault and, later, the API token, the
// device identity and the owner lock. One person's data lives in one home.
type Home struct {
	Dir string
}

// DefaultHomeDir is $CAIRN_HOME, else the platform's data folder
// (platformHomeDir: ~/.local/share/cairn on Linux, %LOCALAPPDATA%\Cairn on
// Windows).
func DefaultHomeDir() (string, error) {
	if d := os.Getenv("CAIRN_HOME"); d != "" {
		return d, nil
	}
	d, err := platformHomeDir()
	if err != nil {
		return "", errors.New("cannot tell where to keep the vault: set CAIRN_HOME or pass --home")
	}
	return d, nil
}

// VaultPath is the vault's SQLite file.
func (h Home) VaultPath() string { return filepath.Join(h.Dir, "vault.db") }

// HasVault reports whether the home holds a vault.
func (h Home) HasVault() bool {
	_, err := os.Stat(h.VaultPath())
	return err == nil
}

func (h Home) NoVaultError() error {
	return fmt.Errorf("no vault in %s yet: run `cairn init` to create one (or pass --home to use another folder)", h.Dir)
}

// GymPath is the contributor's gym file: the gyms added, their
// pseudonymous keys, decisions, the outbox and receipts.
func (h Home) GymPath() string { return filepath.Join(h.Dir, "gym.db") }
