package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

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
	stdout, stderr io.Writer
	term           terminal
	assets         fs.FS

	homeDir  string
	passFile string
	verbose  bool
	sync     syncFlags // p2p options of the owner (cli_sync.go)
}

// Main runs the cairn command line and returns the process exit code.
// assets is the built frontend, for the desktop window.
func Main(ctx context.Context, args []string, assets fs.FS) int {
	ownerOnly()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, term: terminal{in: os.Stdin, out: os.Stderr}, assets: assets}
	return c.run(ctx, args)
}

func (c *cli) run(ctx context.Context, args []string) int {
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "cairn: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "cairn: %s\n", explain(err))
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
		Version:       Version(),
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
	f.StringVar(&c.homeDir, "home", "", "data folder (default $CAIRN_HOME, else $XDG_DATA_HOME/cairn, else ~/.local/share/cairn)")
	f.StringVar(&c.passFile, "passphrase-file", "", "read the vault passphrase from this file (else $CAIRN_PASSPHRASE, else a prompt)")
	f.BoolVarP(&c.verbose, "verbose", "v", false, "log more (never memory text, keys or passphrases)")
	root.AddCommand(c.initCommand(), c.passwdCommand(), c.memoryCommand(), c.chatCommand(), c.modelsCommand(), c.pullCommand(), c.conversationsCommand(), c.serveCommand(), c.tokenCommand(), c.mcpCommand(), c.gymCommand(), c.exportCommand(), c.importCommand(), c.syncCommand(), c.relayCommand(), c.doctorCommand(), c.versionCommand())
	return root
}

func (c *cli) setup(cmd *cobra.Command) error {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level})))
	if c.homeDir == "" {
		d, err := defaultHomeDir()
		if err != nil {
			return err
		}
		c.homeDir = d
	}
	return nil
}

func (c *cli) home() Home { return Home{Dir: c.homeDir} }

// openDefault is plain `cairn`: the desktop window where there is one;
// on a machine without a display (a server, an SSH session) or in a
// headless build, `cairn serve --ui` for a browser instead.
func (c *cli) openDefault(cmd *cobra.Command) error {
	why := noDisplayReason()
	if why == "" && !desktopBuild {
		why = "this build of cairn has no desktop window (`make build` makes one)"
	}
	if why == "" {
		return c.runDesktopApp(cmd.Context())
	}
	return c.serveInstead(cmd, why)
}

// runDesktopApp opens the window as the home's owner: it serves the API
// on 127.0.0.1 for scripts, and the same handler in-process to the page
// (no socket, so no token there). With no vault yet the page creates one.
func (c *cli) runDesktopApp(ctx context.Context) error {
	if err := desktopRuntimeMissing(); err != nil {
		return err
	}
	if c.focusRunningWindow() {
		fmt.Fprintln(c.stderr, "Cairn is already open on "+c.homeDir+": brought its window to the front.")
		return nil
	}
	// The window asks for the passphrase (or the keyring has the key),
	// not the terminal it may have been started from.
	c.term.in = nil
	o, err := c.startOwner(ctx, DefaultAddr, false, true)
	if errors.Is(err, errCannotListen) {
		o, err = c.startOwner(ctx, "127.0.0.1:0", false, true) // the usual port is taken
	}
	if err != nil {
		return err
	}
	defer o.stop()
	if o.sess != nil {
		c.unlockFromKeyring(ctx, o.sess.vault)
	}
	return c.runDesktop(ctx, o.api.InProcess())
}

// openVault opens and unlocks the home's vault, without an embedder:
// keyword search only.
func (c *cli) openVault(ctx context.Context) (*memory.Vault, error) {
	return c.openVaultWith(ctx, nil)
}

// openVaultWith opens and unlocks the home's vault with an embedder for
// semantic search (nil for none).
func (c *cli) openVaultWith(ctx context.Context, emb memory.Embedder) (*memory.Vault, error) {
	h := c.home()
	if !h.HasVault() {
		return nil, h.noVaultError()
	}
	v, err := memory.Open(ctx, memory.Config{Path: h.VaultPath(), Embedder: emb, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	// A person at a terminal gets three tries; a script gets one.
	tries := 1
	if os.Getenv(envPassphrase) == "" && c.passFile == "" && c.term.isTerminal() {
		tries = 3
	}
	for try := 1; ; try++ {
		pass, err := c.passphrase("Passphrase for " + h.Dir + ": ")
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
		fmt.Fprintln(c.stderr, "That passphrase is wrong; try again.")
	}
}

// explain adds what to do next to the errors people meet most.
func explain(err error) string {
	switch {
	case errors.Is(err, memory.ErrWrongPassphrase):
		return "wrong passphrase: the vault did not open and nothing was changed. If you have forgotten it, run `cairn passwd --recovery-key` with the recovery key that `cairn init` printed."
	case errors.Is(err, memory.ErrWrongRecoveryKey):
		return err.Error() + ": nothing was changed. Check the key against the one `cairn init` printed."
	case errors.Is(err, memory.ErrNotFound):
		return err.Error() + ": see `cairn memory list` for the ids"
	}
	return err.Error()
}
