package cli

import (
	"context"
	"fmt"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/gym"
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

// withModelsAPI is withAPI for the model routes, which need no passphrase:
// with no owner, the handler serves in-process over the vault opened
// locked, so listing and pulling models never ask for it either way.
func (c *cli) withModelsAPI(ctx context.Context, fn func(*client.Client) error) error {
	if oc, ok := c.ownerClient(); ok {
		return fn(oc.api)
	}
	sess, err := c.OpenLocked(ctx)
	if err != nil {
		return err
	}
	defer sess.Close(context.WithoutCancel(ctx))
	// The other devices' models too, as DEVICE/MODEL.
	if err := c.ReachDevices(ctx, sess); err != nil {
		fmt.Fprintln(c.Stderr, err)
	}
	return fn(client.InProcess(api.New(api.Config{Vault: sess.Vault, Agent: sess.Agent, Backends: sess.Backends}).InProcess()))
}

// withGymAPI is withAPI for the gym routes: with no owner, the in-process
// handler has the home's gym file as well as the vault.
func (c *cli) withGymAPI(ctx context.Context, fn func(*client.Client) error) error {
	if oc, ok := c.ownerClient(); ok {
		return fn(oc.api)
	}
	if !c.Home().HasVault() {
		// A home with only gyms: the routes that need no vault answer,
		// the others say there is none yet.
		return c.withGymFileAPI(ctx, fn)
	}
	return c.withContributor(ctx, func(gc *gym.Contributor) error {
		return c.withVault(ctx, func(v *memory.Vault) error {
			return fn(client.InProcess(api.New(api.Config{Vault: v, Gym: gc}).InProcess()))
		})
	})
}

// withGymFileAPI is withAPI for the routes of the home's gym file alone
// (gyms, outbox, receipts, revocations), which need neither the vault nor
// the passphrase: with no owner, the handler serves in-process over the
// gym file only (those routes answer before there is a vault).
func (c *cli) withGymFileAPI(ctx context.Context, fn func(*client.Client) error) error {
	if oc, ok := c.ownerClient(); ok {
		return fn(oc.api)
	}
	return c.withContributor(ctx, func(gc *gym.Contributor) error {
		return fn(client.InProcess(api.New(api.Config{Gym: gc}).InProcess()))
	})
}
