package cli

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/gym"
)

// The contributor's commands on a gym's transparency log.

func (c *cli) gymVerify() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify GYM",
		Short: "Check the gym's public log: it extends the checkpoint you kept, and holds every item it gave you a receipt for",
		Long: `Fetch the gym's latest signed checkpoint and prove, from the log's tiles,
that it begins with the checkpoint you kept last time and that every item of
your receipts is in it. A gym that dropped or changed anything it accepted
cannot pass: you are told so, both signed checkpoints are kept as evidence,
and nothing more is sent to that gym. Only the gym is contacted.`,
		Args: exactArgs(1, "a gym's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return c.withGym(ctx, args[0], func(gc *gym.Contributor, g gym.GymInfo) error {
				rep, verr := gc.VerifyLog(ctx, g)
				if asJSON {
					st, _, err := gc.LogStatus(ctx, g)
					if err != nil {
						return err
					}
					if err := c.printJSON(map[string]any{"report": rep, "log": st}); err != nil {
						return err
					}
					return verr
				}
				if errors.Is(verr, gym.ErrLogRewritten) {
					return verr
				}
				if verr != nil {
					return fmt.Errorf("could not check gym %s's log: %w (nothing was changed: try again when it answers)", g.Manifest.Name, verr)
				}
				fmt.Fprintf(c.Stdout, "Gym %s's log checks out: %d items (root %s), extending the %d you saw before; %d of your items in %d receipts are in it.\n",
					g.Manifest.Name, rep.Size, rep.Root, rep.Previous, rep.Items, rep.Receipts)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report and the kept checkpoint (and any evidence) as JSON")
	return cmd
}

func (c *cli) gymWitness() *cobra.Command {
	var keyPath, name string
	var publish bool
	cmd := &cobra.Command{
		Use:   "witness GYM --key FILE --name NAME",
		Short: "Check a gym's log as a witness and cosign its checkpoint with your own key",
		Long: `Check the gym's log as ` + "`cairn gym verify`" + ` does, then cosign its latest
checkpoint in the signed-note format under NAME with the Ed25519 key in FILE
(made, mode 0600, when it does not exist) and print it. With --publish (the
default) the gym is given the cosignature and serves it with its checkpoint.
Your witness key for others to check: printed on stderr.`,
		Args: exactArgs(1, "a gym's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" || name == "" {
				return usageError{fmt.Errorf("--key FILE and --name NAME are needed: the witness's key and its name (e.g. witness.example.org/you)")}
			}
			key, err := loadWitnessKey(keyPath)
			if err != nil {
				return err
			}
			vkey, err := gym.NoteKey(name, key.Public().(ed25519.PublicKey))
			if err != nil {
				return usageError{fmt.Errorf("--name %q: %w (no spaces or +)", name, err)}
			}
			ctx := cmd.Context()
			return c.withGym(ctx, args[0], func(gc *gym.Contributor, g gym.GymInfo) error {
				cosigned, err := gc.Witness(ctx, g, name, key, publish)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stdout, "%s", cosigned)
				fmt.Fprintf(c.Stderr, "Cosigned. Your witness key: %s\n", vkey)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyPath, "key", "", "the witness's Ed25519 key file (32-byte seed; made when missing)")
	f.StringVar(&name, "name", "", "the witness's note name")
	f.BoolVar(&publish, "publish", true, "give the cosignature to the gym")
	return cmd
}

func loadWitnessKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		return key, os.WriteFile(path, key.Seed(), 0o600)
	}
	if err != nil {
		return nil, err
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s is not a 32-byte Ed25519 seed: give another --key path to make a new one", path)
	}
	return ed25519.NewKeyFromSeed(b), nil
}
