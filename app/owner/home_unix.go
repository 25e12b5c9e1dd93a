//go:build !windows

package owner

import (
	"os"
	"path/filepath"
)

// platformHomeDir is $XDG_DATA_HOME/cairn, else ~/.local/share/cairn.
func platformHomeDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "cairn"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".local", "share", "cairn"), nil
}
