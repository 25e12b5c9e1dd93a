package app

import (
	"context"
	"fmt"

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
	if oc, ok := c.home().ownerClient(); ok {
		cl, err := client.New(client.Config{BaseURL: oc.owner.URL, Token: oc.token,
			Server: fmt.Sprintf("the cairn process serving this home (pid %d, %s)", oc.owner.PID, oc.owner.URL)})
		if err != nil {
			return err
		}
		return fn(cl)
	}
	return c.withVault(ctx, func(v *memory.Vault) error {
		return fn(client.InProcess(api.New(api.Config{Vault: v}).InProcess()))
	})
}
