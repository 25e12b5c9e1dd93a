package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/api"
)

func (c *cli) tokenCommand() *cobra.Command {
	var rotate bool
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Show the local API's token (--rotate replaces it); create, list and revoke named ones",
		Long: `The local API (cairn serve) needs a bearer token on every request. The
default token has every scope and is kept in $CAIRN_HOME/api-token (mode
0600); this prints it, making one if there is none. --rotate replaces it:
the old one stops working at once.

Give each client its own named token with only the scopes it needs
(` + strings.Join(api.AllScopes, ", ") + `), so a leaked one is revoked alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			toks, err := api.OpenTokens(c.Home().Dir)
			if err != nil {
				return err
			}
			var tok string
			if rotate {
				tok, err = toks.Rotate()
			} else {
				tok, _, err = toks.EnsureDefault()
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(c.Stdout, tok)
			return nil
		},
	}
	cmd.Flags().BoolVar(&rotate, "rotate", false, "replace the default token; the old one stops working at once")
	cmd.AddCommand(c.tokenCreate(), c.tokenList(), c.tokenRevoke())
	return cmd
}

func (c *cli) tokenCreate() *cobra.Command {
	var scopes []string
	cmd := &cobra.Command{
		Use:   "create NAME --scope SCOPE[,SCOPE]",
		Short: "Make a named token with scopes; it is shown once",
		Args:  exactArgs(1, "a token name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			toks, err := api.OpenTokens(c.Home().Dir)
			if err != nil {
				return err
			}
			tok, err := toks.Create(args[0], scopes)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.Stdout, tok)
			fmt.Fprintf(c.Stderr, "Token %s (%s), shown only this once: only its hash is kept.\n", args[0], strings.Join(scopes, ", "))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&scopes, "scope", nil, "what it may do: "+strings.Join(api.AllScopes, ", "))
	return cmd
}

func (c *cli) tokenList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tokens: names, scopes, when made (never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			toks, err := api.OpenTokens(c.Home().Dir)
			if err != nil {
				return err
			}
			list, err := toks.List()
			if err != nil {
				return err
			}
			for _, t := range list {
				if asJSON {
					if err := writeJSONLine(c.Stdout, map[string]any{"name": t.Name, "scopes": t.Scopes, "created_at": t.CreatedAt}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(c.Stdout, "%-20s %-40s %s\n", t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.Local().Format("2006-01-02 15:04"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

func (c *cli) tokenRevoke() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a named token; it stops working at once, even on a running server",
		Args:  exactArgs(1, "a token name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			toks, err := api.OpenTokens(c.Home().Dir)
			if err != nil {
				return err
			}
			if err := toks.Revoke(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "revoked %s\n", args[0])
			return nil
		},
	}
}
