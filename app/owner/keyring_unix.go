//go:build !windows

package owner

import (
	"errors"
	"os"
	"path/filepath"
)

// keyringReachable says why no keyring can answer here, if none can: the
// Secret Service needs a D-Bus session bus.
func keyringReachable() error {
	if !SessionBusLikely() {
		return errors.New("no D-Bus session bus, so no Secret Service keyring here")
	}
	return nil
}

// SessionBusLikely reports whether a D-Bus session bus is there to ask,
// so that nothing starts one (godbus would try dbus-launch) on a machine
// without.
func SessionBusLikely() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "bus")); err == nil {
			return true
		}
	}
	return false
}
