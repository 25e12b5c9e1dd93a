package cli

import (
	"context"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/memory"
)

// withAPI runs fn with a client of the local API: the API of the home's
// owner when one runs (no passphrase needed, and the owner's events and
// indexes see the change at once), else the same API handler served
// in-process on the vault opened for this command. Both ways a command
// runs the same handler, so it validates and answers the same.
func (c *cli) withAPI(ctx context.Context, fn func(*client.Client) error) error {
	if oc, ok := c.ownerClient(); ok {
		return fn(oc.api)
	}
	return c.withVault(ctx, func(v *memory.Vault) error {
		return fn(client.InProcess(api.New(api.Config{Vault: v}).InProcess()))
	})
}
