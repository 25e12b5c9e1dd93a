package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

func (c *cli) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create an encrypted vault and print its one-time recovery key",
		Long: `Create the vault in the data folder. The passphrase comes from
$CAIRN_PASSPHRASE, --passphrase-file, or is asked for twice on a terminal.

The recovery key printed at the end is shown once: keep it somewhere safe
(a password manager, or on paper). With it, ` + "`cairn passwd --recovery-key`" + `
sets a new passphrase if you forget yours.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := c.Home()
			if h.HasVault() {
				return fmt.Errorf("a vault already exists in %s: nothing was changed (use `cairn passwd` to change its passphrase, or --home for another folder)", h.Dir)
			}
			pass, err := c.NewPassphrase(owner.EnvPassphrase, c.PassFile)
			if err != nil {
				return err
			}
			v, recovery, err := memory.Create(cmd.Context(), memory.Config{Path: h.VaultPath()}, pass)
			if err != nil {
				return err
			}
			defer v.Close()
			// The local API's token, made now so scripts can be set up
			// before the first `cairn serve`.
			if toks, err := api.OpenTokens(h.Dir); err == nil {
				if _, _, err := toks.EnsureDefault(); err != nil {
					fmt.Fprintf(c.Stderr, "note: the API token could not be made (%v); `cairn token` makes it later\n", err)
				}
			}
			fmt.Fprintf(c.Stderr, "Created your vault in %s.\n\n", h.Dir)
			fmt.Fprintf(c.Stderr, "Your recovery key (shown only this once):\n\n")
			fmt.Fprintf(c.Stdout, "    %s\n\n", recovery)
			fmt.Fprintln(c.Stderr, "Keep it somewhere safe, apart from this device: a password manager or paper.")
			fmt.Fprintln(c.Stderr, "If you forget your passphrase, `cairn passwd --recovery-key` sets a new one with it.")
			fmt.Fprintln(c.Stderr, "Without passphrase or recovery key, nobody can open the vault, not even us.")
			return nil
		},
	}
}

func (c *cli) passwdCommand() *cobra.Command {
	var useRecovery bool
	var newFile string
	cmd := &cobra.Command{
		Use:   "passwd",
		Short: "Change the vault's passphrase (or set a new one with the recovery key)",
		Long: `Change the passphrase. Only the key wrap changes; no record is rewritten.

The current passphrase comes from $CAIRN_PASSPHRASE, --passphrase-file or a
prompt; the new one from $CAIRN_NEW_PASSPHRASE, --new-passphrase-file or a
prompt. With --recovery-key, the recovery key from ` + "`cairn init`" + ` stands in for
the current passphrase ($CAIRN_RECOVERY_KEY, or a prompt).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			h := c.Home()
			if !h.HasVault() {
				return h.NoVaultError()
			}
			v, err := memory.Open(ctx, memory.Config{Path: h.VaultPath()})
			if err != nil {
				return err
			}
			defer v.Close()
			if useRecovery {
				key, err := c.recoveryKey()
				if err != nil {
					return err
				}
				next, err := c.NewPassphrase(owner.EnvNewPassphrase, newFile)
				if err != nil {
					return err
				}
				if err := v.ResetPassphrase(ctx, key, next); err != nil {
					return err
				}
			} else {
				old, err := c.Passphrase("Current passphrase: ")
				if err != nil {
					return err
				}
				// Check the old one before asking for a new one.
				if err := v.Unlock(ctx, old); err != nil {
					return err
				}
				next, err := c.NewPassphrase(owner.EnvNewPassphrase, newFile)
				if err != nil {
					return err
				}
				if err := v.ChangePassphrase(ctx, old, next); err != nil {
					return err
				}
			}
			fmt.Fprintln(c.Stderr, "Passphrase changed. Your recovery key still works.")
			return nil
		},
	}
	cmd.Flags().BoolVar(&useRecovery, "recovery-key", false, "use the recovery key instead of the current passphrase")
	cmd.Flags().StringVar(&newFile, "new-passphrase-file", "", "read the new passphrase from this file")
	return cmd
}

func (c *cli) recoveryKey() (string, error) {
	if k := os.Getenv(owner.EnvRecoveryKey); k != "" {
		return k, nil
	}
	if !c.Term.IsTerminal() {
		return "", fmt.Errorf("the recovery key is needed: set %s or run in a terminal to be asked", owner.EnvRecoveryKey)
	}
	k, err := c.Term.ReadSecret("Recovery key: ")
	return string(k), err
}
