package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/desktop"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// cli is one run of the command line: its streams and global flags.
type cli struct {
	*owner.Env
	verbose bool
}

// Main runs the cairn command line and returns the process exit code.
// assets is the built frontend, for the desktop window.
func Main(ctx context.Context, args []string, assets fs.FS) int {
	owner.PrivateUmask()
	c := &cli{Env: &owner.Env{Stdout: os.Stdout, Stderr: os.Stderr, Term: owner.Terminal{In: os.Stdin, Out: os.Stderr}, Assets: assets}}
	return c.run(ctx, args)
}

func (c *cli) run(ctx context.Context, args []string) int {
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(c.Stdout)
	root.SetErr(c.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.Stderr, "cairn: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(c.Stderr, "cairn: %s\n", explain(err))
	return exitError
}

// usageError marks mistakes in how a command was called.
type usageError struct{ error }

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Your memory, on your devices: a local-first personal AI runtime",
		Long: `Cairn remembers what matters about you in an encrypted vault on your own
devices, for the open-weight models you run yourself.

Plain "cairn" opens the desktop app (in a desktop build, with a display).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       owner.Version(),
		Args:          cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return c.setup(cmd)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.openDefault(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetVersionTemplate("cairn {{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVar(&c.HomeDir, "home", "", "data folder (default $CAIRN_HOME, else $XDG_DATA_HOME/cairn, else ~/.local/share/cairn)")
	f.StringVar(&c.PassFile, "passphrase-file", "", "read the vault passphrase from this file (else $CAIRN_PASSPHRASE, else a prompt)")
	f.BoolVarP(&c.verbose, "verbose", "v", false, "log more (never memory text, keys or passphrases)")
	root.AddCommand(c.initCommand(), c.passwdCommand(), c.memoryCommand(), c.chatCommand(), c.modelsCommand(), c.pullCommand(), c.conversationsCommand(), c.serveCommand(), c.tokenCommand(), c.mcpCommand(), c.gymCommand(), c.exportCommand(), c.importCommand(), c.syncCommand(), c.relayCommand(), c.doctorCommand(), c.versionCommand())
	return root
}

func (c *cli) setup(cmd *cobra.Command) error {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: level})))
	if c.HomeDir == "" {
		d, err := owner.DefaultHomeDir()
		if err != nil {
			return err
		}
		c.HomeDir = d
	}
	return nil
}

// openDefault is plain `cairn`: the desktop window where there is one;
// on a machine without a display (a server, an SSH session) or in a
// headless build, `cairn serve --ui` for a browser instead.
func (c *cli) openDefault(cmd *cobra.Command) error {
	why := desktop.NoDisplayReason()
	if why == "" && !desktop.Built {
		why = "this build of cairn has no desktop window (`make build` makes one)"
	}
	if why == "" {
		return desktop.Open(cmd.Context(), c.Env)
	}
	return c.serveInstead(cmd, why)
}

// explain adds what to do next to the errors people meet most.
func explain(err error) string {
	switch {
	case errors.Is(err, memory.ErrWrongPassphrase):
		return "wrong passphrase: the vault did not open and nothing was changed. If you have forgotten it, run `cairn passwd --recovery-key` with the recovery key that `cairn init` printed."
	case errors.Is(err, memory.ErrWrongRecoveryKey):
		return err.Error() + ": nothing was changed. Check the key against the one `cairn init` printed."
	case errors.Is(err, memory.ErrNotFound) && !strings.Contains(err.Error(), "`cairn "):
		// Only when the error names no command to run next.
		return err.Error() + ": see `cairn memory list` for the ids"
	}
	return err.Error()
}
