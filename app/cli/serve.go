package cli

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/owner"
)

func (c *cli) serveCommand() *cobra.Command {
	var addr string
	var anyHost, ui bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the local API (REST, OpenAI-compatible, MCP) for your scripts and agents",
		Long: `Serve this home's API on 127.0.0.1 (default ` + owner.DefaultAddr + `), with the token
in $CAIRN_HOME/api-token (` + "`cairn token`" + ` shows it). One process serves a
home at a time. Without a passphrase ($CAIRN_PASSPHRASE, --passphrase-file,
or a terminal) the vault starts locked: POST /api/v1/unlock opens it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context() // ends on SIGINT and SIGTERM
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return usageError{fmt.Errorf("--addr %q is not host:port", addr)}
			}
			if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !anyHost {
				return usageError{fmt.Errorf("--addr %s is reachable from other machines: the API holds your memory, so it listens on loopback only unless you also pass --listen-beyond-loopback", addr)}
			}
			o, err := c.StartOwner(ctx, addr, anyHost, ui)
			if err != nil {
				return err
			}
			defer o.Stop()
			if ui || o.NewToken {
				// Good once, for ten minutes: it signs a browser in without
				// pasting the token.
				fmt.Fprintf(c.Stderr, "Open this in your browser to sign in (once, within 10 minutes):\n  %s\n", o.API.LoginURL(o.URL))
			}
			state := "unlocked"
			if o.Sess == nil {
				state = "not created yet: the web UI creates it"
			} else if o.Sess.Vault.Locked() {
				state = "locked: POST /api/v1/unlock with the passphrase"
			}
			fmt.Fprintf(c.Stderr, "Serving %s at %s (vault %s). Ctrl-C stops.\n", c.Home().Dir, o.URL, state)
			select {
			case err := <-o.Errc:
				return err
			case <-ctx.Done():
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", owner.DefaultAddr, "address to listen on (loopback)")
	cmd.Flags().BoolVar(&ui, "ui", false, "serve the web UI too, and print a one-time login link for the browser")
	cmd.Flags().BoolVar(&anyHost, "listen-beyond-loopback", false, "allow an --addr other machines can reach (dangerous: see the README)")
	c.addSyncFlags(cmd)
	return cmd
}

// serveInstead is plain `cairn` where no window can open: `cairn serve
// --ui`, which prints the address to open and the one-time login link.
func (c *cli) serveInstead(cmd *cobra.Command, why string) error {
	fmt.Fprintf(c.Stderr, "No window to open: %s.\nServing Cairn for a web browser instead (as `cairn serve --ui` does).\n", why)
	// CAIRN_ADDR moves it off the usual port.
	addr := cmp.Or(os.Getenv("CAIRN_ADDR"), owner.DefaultAddr)
	if os.Getenv("SSH_CONNECTION") != "" {
		host, _ := os.Hostname()
		_, port, _ := strings.Cut(addr, ":")
		fmt.Fprintf(c.Stderr, "From your own computer, forward the port first, then open the link below there:\n  ssh -L %s:127.0.0.1:%s %s\n", port, port, cmp.Or(host, "THIS-HOST"))
	}
	s := c.serveCommand()
	s.SetArgs([]string{"--ui", "--addr", addr})
	s.SetOut(c.Stdout)
	s.SetErr(c.Stderr)
	s.SilenceUsage, s.SilenceErrors = true, true
	return s.ExecuteContext(cmd.Context())
}
