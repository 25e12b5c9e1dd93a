package owner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cairnlabs/cairn/memory"
)

// OpenVault opens and unlocks the home's vault, without an embedder:
// keyword search only.
func (c *Env) OpenVault(ctx context.Context) (*memory.Vault, error) {
	return c.OpenVaultWith(ctx, nil)
}

// OpenVaultWith opens and unlocks the home's vault with an embedder for
// semantic search (nil for none).
func (c *Env) OpenVaultWith(ctx context.Context, emb memory.Embedder) (*memory.Vault, error) {
	h := c.Home()
	if !h.HasVault() {
		return nil, h.NoVaultError()
	}
	v, err := memory.Open(ctx, memory.Config{Path: h.VaultPath(), Embedder: emb, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	// A person at a terminal gets three tries; a script gets one.
	tries := 1
	if os.Getenv(EnvPassphrase) == "" && c.PassFile == "" && c.Term.IsTerminal() {
		tries = 3
	}
	for try := 1; ; try++ {
		pass, err := c.Passphrase("Passphrase for " + h.Dir + ": ")
		if err == nil {
			err = v.Unlock(ctx, pass)
		}
		if err == nil {
			return v, nil
		}
		if try >= tries || !errors.Is(err, memory.ErrWrongPassphrase) {
			v.Close()
			return nil, err
		}
		fmt.Fprintln(c.Stderr, "That passphrase is wrong; try again.")
	}
}
