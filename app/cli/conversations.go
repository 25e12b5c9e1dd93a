package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/memory"
)

func (c *cli) conversationsCommand() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:     "conversations",
		Aliases: []string{"conv"},
		Short:   "List, show, rename and delete conversations",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				convs, err := api.Conversations(cmd.Context(), limit)
				if err != nil {
					return err
				}
				for _, cv := range convs {
					if asJSON {
						if err := writeJSONLine(c.Stdout, cv); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(c.Stdout, "%s  %s  %3d msgs  %s\n", memory.ShortID(cv.ID), cv.UpdatedAt.Local().Format("2006-01-02 15:04"), cv.Messages, oneLine(cv.Title, 60))
				}
				if len(convs) == 0 && !asJSON {
					fmt.Fprintln(c.Stderr, "no conversations yet: `cairn chat` starts one")
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	cmd.Flags().IntVarP(&limit, "limit", "n", 50, "at most this many, most recent first (0 for all)")
	cmd.AddCommand(c.conversationShow(), c.conversationRename(), c.conversationDelete(), c.conversationSearch())
	return cmd
}

func (c *cli) conversationShow() *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print a conversation (its latest branch; --all for every message)",
		Args:  exactArgs(1, "a conversation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				d, err := api.Conversation(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				cv, msgs := d.Conversation, d.Messages
				if !all {
					msgs = agent.Thread(msgs, "")
				}
				if asJSON {
					for _, m := range msgs {
						if err := writeJSONLine(c.Stdout, m); err != nil {
							return err
						}
					}
					return nil
				}
				fmt.Fprintf(c.Stdout, "# %s\n", cv.Title)
				for _, m := range msgs {
					note := ""
					if m.Incomplete {
						note = " (stopped)"
					}
					if len(m.ToolCalls) > 0 {
						for _, tc := range m.ToolCalls {
							note += fmt.Sprintf(" [calls %s %s]", tc.Name, string(tc.Arguments))
						}
					}
					// The id is what `cairn gym feedback` takes.
					fmt.Fprintf(c.Stdout, "\n%s%s  [%s]:\n%s\n", m.Role, note, memory.ShortID(m.ID), m.Content)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per message")
	cmd.Flags().BoolVar(&all, "all", false, "every message of every branch, oldest first")
	return cmd
}

func (c *cli) conversationRename() *cobra.Command {
	return &cobra.Command{
		Use:   "rename ID TITLE",
		Short: "Rename a conversation",
		Args:  exactArgs(2, "a conversation id and a title"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				cv, err := api.RenameConversation(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stdout, "renamed %s: %s\n", memory.ShortID(cv.ID), cv.Title)
				return nil
			})
		},
	}
}

func (c *cli) conversationDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a conversation and all its messages, on every device",
		Args:  exactArgs(1, "a conversation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withAPI(cmd.Context(), func(api *client.Client) error {
				if err := api.DeleteConversation(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.Stdout, "deleted conversation %s\n", args[0])
				return nil
			})
		},
	}
}
