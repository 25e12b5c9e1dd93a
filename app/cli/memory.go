package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/memory"
)

func (c *cli) memoryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "memory",
		Short: "Add, search, list, show, edit and forget memories",
	}
	cmd.AddCommand(c.memoryAdd(), c.memorySearch(), c.memoryList(), c.memoryShow(), c.memoryEdit(), c.memoryForget(), c.memoryForgotten(), c.memoryRestore())
	return cmd
}

// withVault opens the vault for the length of one command.
func (c *cli) withVault(ctx context.Context, fn func(*memory.Vault) error) error {
	v, err := c.OpenVault(ctx)
	if err != nil {
		return err
	}
	defer v.Close()
	return fn(v)
}

func kindFlag(cmd *cobra.Command, p *string, usage string) {
	cmd.Flags().StringVar(p, "kind", "", usage+" (fact, preference, note, summary)")
}

func (c *cli) memoryAdd() *cobra.Command {
	var kind string
	var tags []string
	var pinned bool
	cmd := &cobra.Command{
		Use:   "add TEXT",
		Short: "Remember something; prints the new memory's id",
		Long:  "Remember something and print the new memory's id. TEXT - reads the text from standard input.",
		Args:  exactArgs(1, "the memory's text, in quotes (or - to read it from standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind == "" {
				kind = string(memory.Fact)
			}
			text, err := c.textArg(args[0])
			if err != nil {
				return err
			}
			k := memory.ItemKind(kind)
			in := apitype.MemoryInput{Kind: &k, Text: &text, Tags: &tags, Pinned: &pinned}
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				it, err := api.AddMemory(cmd.Context(), in)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, it.ID)
				return nil
			})
		},
	}
	kindFlag(cmd, &kind, "what kind of memory (default fact)")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "a tag (repeat for more)")
	cmd.Flags().BoolVar(&pinned, "pin", false, "pin it: pinned memories rank higher")
	return cmd
}

func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// writeJSONLines is the --json output of a listing: one API object a line.
func writeJSONLines[T any](w io.Writer, vs []T) error {
	for _, v := range vs {
		if err := writeJSONLine(w, v); err != nil {
			return err
		}
	}
	return nil
}

func (c *cli) memorySearch() *cobra.Command {
	var q apitype.MemoryQuery
	var kind, mode string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Find memories by keyword and meaning",
		Args:  exactArgs(1, "what to search for, in quotes"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Text, q.Kind, q.Mode = args[0], memory.ItemKind(kind), memory.Mode(mode)
			if strings.TrimSpace(q.Text) == "" {
				return usageError{fmt.Errorf("nothing to search for: give words in quotes, or list memories with `cairn memory list`")}
			}
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				res, err := api.SearchMemories(cmd.Context(), q)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONLines(c.Stdout, res)
				}
				if len(res) == 0 {
					fmt.Fprintln(c.Stderr, "No memories match.")
					return nil
				}
				tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
				for _, r := range res {
					fmt.Fprintf(tw, "%.4f\t%s\t%s\t%s%s\n", scoreOf(r), r.ID, r.Kind, oneLine(r.Snippet, 100), tagSuffix(r.Tags))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&q.Limit, "limit", 10, "most results to show")
	kindFlag(cmd, &kind, "only this kind")
	cmd.Flags().StringVar(&q.Tag, "tag", "", "only memories with this tag")
	cmd.Flags().StringVar(&mode, "mode", "hybrid", "hybrid, keyword or vector")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per result")
	return cmd
}

func (c *cli) memoryList() *cobra.Command {
	var o apitype.MemoryQuery
	var kind string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List memories, most recently changed first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Kind = memory.ItemKind(kind)
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				items, err := api.ListMemories(cmd.Context(), o)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONLines(c.Stdout, items)
				}
				if len(items) == 0 {
					fmt.Fprintln(c.Stderr, "No memories yet. Add one with `cairn memory add \"...\"`.")
					return nil
				}
				tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
				for _, it := range items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", it.ID, it.Kind, it.UpdatedAt.Local().Format("2006-01-02 15:04"), oneLine(it.Text, 80), tagSuffix(it.Tags))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&o.Limit, "limit", 0, "most memories to list (0: all)")
	kindFlag(cmd, &kind, "only this kind")
	cmd.Flags().StringVar(&o.Tag, "tag", "", "only memories with this tag")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per memory")
	return cmd
}

func (c *cli) memoryShow() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one memory in full, with its earlier versions",
		Args:  exactArgs(1, "the memory's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				it, err := api.Memory(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				revs, err := api.MemoryRevisions(cmd.Context(), it.ID)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONLine(c.Stdout, apitype.Memory{Item: it})
				}
				fmt.Fprintf(c.Stdout, "%s\n\n", it.Text)
				fmt.Fprintf(c.Stdout, "id:       %s\nkind:     %s\n", it.ID, it.Kind)
				if len(it.Tags) > 0 {
					fmt.Fprintf(c.Stdout, "tags:     %s\n", strings.Join(it.Tags, ", "))
				}
				if it.Pinned {
					fmt.Fprintln(c.Stdout, "pinned:   yes")
				}
				fmt.Fprintf(c.Stdout, "created:  %s\nupdated:  %s\n", it.CreatedAt.Local().Format(time.RFC1123), it.UpdatedAt.Local().Format(time.RFC1123))
				for i := len(revs) - 1; i >= 0; i-- {
					fmt.Fprintf(c.Stdout, "earlier (%s): %s\n", revs[i].UpdatedAt.Local().Format("2006-01-02 15:04"), oneLine(revs[i].Text, 100))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "as one JSON object")
	return cmd
}

func (c *cli) memoryEdit() *cobra.Command {
	var kind string
	var tags []string
	var pin, unpin bool
	cmd := &cobra.Command{
		Use:   "edit ID [TEXT]",
		Short: "Change a memory; the earlier version is kept as a revision",
		Args:  rangeArgs(1, 2, "the memory's id, then its new text in quotes"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p apitype.MemoryInput
			if len(args) == 2 {
				text, err := c.textArg(args[1])
				if err != nil {
					return err
				}
				p.Text = &text
			}
			if kind != "" {
				k := memory.ItemKind(kind)
				p.Kind = &k
			}
			if cmd.Flags().Changed("tag") {
				p.Tags = &tags
			}
			if pin || unpin {
				p.Pinned = &pin
			}
			if p == (apitype.MemoryInput{}) {
				return usageError{fmt.Errorf("nothing to change: give new text, --kind, --tag, --pin or --unpin")}
			}
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				it, err := api.EditMemory(cmd.Context(), args[0], p)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, it.ID)
				return nil
			})
		},
	}
	kindFlag(cmd, &kind, "new kind")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "replace the tags (repeat for more)")
	cmd.Flags().BoolVar(&pin, "pin", false, "pin it")
	cmd.Flags().BoolVar(&unpin, "unpin", false, "unpin it")
	cmd.MarkFlagsMutuallyExclusive("pin", "unpin")
	return cmd
}

func (c *cli) memoryForget() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "forget ID",
		Short: "Forget a memory for good, with its earlier versions, on every device",
		Args:  exactArgs(1, "the memory's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return c.withAPI(ctx, func(api *client.Client) error {
				it, err := api.Memory(ctx, args[0])
				if err != nil {
					return err
				}
				if !yes && c.Term.IsTerminal() {
					answer, err := c.Term.ReadLine(fmt.Sprintf("Forget %q for good? This cannot be undone. [y/N] ", oneLine(it.Text, 60)))
					if err != nil {
						return err
					}
					if answer != "y" && answer != "Y" && answer != "yes" {
						fmt.Fprintln(c.Stderr, "Kept it.")
						return nil
					}
				}
				if err := api.ForgetMemory(ctx, it.ID); err != nil {
					return err
				}
				fmt.Fprintf(c.Stderr, "Forgot %s.\n", it.ID)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (c *cli) memoryForgotten() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "forgotten",
		Short: "List memories a model forgot, which you can restore for 30 days",
		Long: `List the memories a model asked to forget (its forget tool, or memory
extraction deciding a fact no longer holds). They stay restorable with
` + "`cairn memory restore ID`" + ` for 30 days, so a prompt injection hidden in an
imported note cannot erase your memory. Memories you forget yourself are
gone for good and are not listed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withAPI(ctx, func(api *client.Client) error {
				items, err := api.ForgottenMemories(ctx)
				if err != nil {
					return err
				}
				for _, it := range items {
					if asJSON {
						if err := writeJSONLine(c.Stdout, it); err != nil {
							return err
						}
						continue
					}
					left := memory.SoftForgetWindow - time.Since(*it.ForgottenAt)
					fmt.Fprintf(c.Stdout, "%s  %s  (%s; %d days left to restore)\n", it.ID, oneLine(it.Text, 60), oneLine(it.ForgottenWhy, 50), int(left.Hours()/24))
				}
				if len(items) == 0 && !asJSON {
					fmt.Fprintln(c.Stderr, "nothing to restore")
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

func (c *cli) memoryRestore() *cobra.Command {
	return &cobra.Command{
		Use:   "restore ID",
		Short: "Bring back a memory a model forgot (see `cairn memory forgotten`)",
		Args:  exactArgs(1, "the memory's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return c.withAPI(ctx, func(api *client.Client) error {
				it, err := api.RestoreMemory(ctx, args[0])
				if err != nil {
					return fmt.Errorf("%w (only memories a model forgot can be restored: see `cairn memory forgotten`)", err)
				}
				fmt.Fprintf(c.Stdout, "restored %s: %s\n", it.ID, oneLine(it.Text, 60))
				return nil
			})
		},
	}
}

// textArg is the argument itself, or standard input for "-" (read up to
// one byte past the limit, so an oversized text is refused, not cut).
func (c *cli) textArg(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(c.Term.In, memory.MaxTextBytes+1))
	if err != nil {
		return "", fmt.Errorf("read the text from standard input: %w", err)
	}
	return string(b), nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func tagSuffix(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "  #" + strings.Join(tags, " #")
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return rangeArgs(n, n, what)
}

func rangeArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{fmt.Errorf("%s expects %s (got %d arguments); see `%s --help`", cmd.CommandPath(), what, len(args), cmd.CommandPath())}
		}
		return nil
	}
}

// scoreOf is a search result's score (0 for a memory that came without one).
func scoreOf(m apitype.Memory) float64 {
	if m.Score == nil {
		return 0
	}
	return *m.Score
}
