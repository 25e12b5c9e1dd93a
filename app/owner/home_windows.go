//go:build windows

package owner

import (
	"errors"
	"os"
	"path/filepath"
)

// platformHomeDir is %LOCALAPPDATA%\Cairn: per user and per machine (not
// roamed to other machines of a domain, which a vault must not be), and
// readable by that user alone through the ACL it inherits.
func platformHomeDir() (string, error) {
	d := os.Getenv("LOCALAPPDATA")
	if d == "" {
		return "", errors.New("LOCALAPPDATA is not set")
	}
	return filepath.Join(d, "Cairn"), nil
}
