package owner

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cairnlabs/cairn/memory"
	cairnsync "github.com/cairnlabs/cairn/sync"
)

// SyncFlags are the p2p options of the process that owns the home.
type SyncFlags struct {
	Listen []string
	Relays []string
	Name   string // what the other devices call this one (--device-name)
}

// StartSync starts the owner's sync node. Until the device is paired (or
// sync is turned on) it opens no socket.
func (c *Env) StartSync(ctx context.Context, v *memory.Vault) (*cairnsync.Node, error) {
	name := c.Sync.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	return cairnsync.New(ctx, cairnsync.Config{
		Dir: c.syncDir(), Store: v, Keys: v, Role: cairnsync.RoleDevice, Name: name,
		Listen: c.Sync.Listen, Relays: c.Sync.Relays, Logger: slog.Default(),
	})
}

// syncDir holds the device's identity, trusted set and sync state.
func (c *Env) syncDir() string { return filepath.Join(c.Home().Dir, "sync") }
