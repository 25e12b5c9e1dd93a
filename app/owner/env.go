package owner

import (
	"io"
	"io/fs"
)

// Env is what one run of cairn knows about where it runs: its streams,
// the frontend it serves, the home it works on and where the passphrase
// comes from. The command line (app/cli) and the desktop window
// (app/desktop) build on it; the owner's runtime is assembled from it.
type Env struct {
	Stdout, Stderr io.Writer
	Term           Terminal
	Assets         fs.FS

	HomeDir  string
	PassFile string
	Sync     SyncFlags // p2p options of the owner (sync.go)
}

// Home is the home this run works on.
func (c *Env) Home() Home { return Home{Dir: c.HomeDir} }
