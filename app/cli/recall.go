package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// conversationSearch is `cairn conversations search`: what was said in
// past conversations, imported ones too.
func (c *cli) conversationSearch() *cobra.Command {
	var q memory.MessageQuery
	var mode, since, until string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Find messages of past conversations (imported ones too) by keyword and meaning",
		Args:  exactArgs(1, "what to search for, in quotes"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Text, q.Mode, q.Neighbours = args[0], memory.Mode(mode), asJSON
			var err error
			if q.Since, err = cliDate("since", since); err != nil {
				return err
			}
			if q.Until, err = cliDate("until", until); err != nil {
				return err
			}
			v, err := c.openSemanticVault(cmd.Context())
			if err != nil {
				return err
			}
			defer v.Close()
			res, err := v.SearchMessages(cmd.Context(), q)
			if err != nil {
				return err
			}
			if asJSON {
				for _, r := range res {
					if err := writeJSONLine(c.Stdout, r); err != nil {
						return err
					}
				}
				return nil
			}
			if len(res) == 0 {
				fmt.Fprintln(c.Stderr, "No messages match.")
				return nil
			}
			for _, r := range res {
				fmt.Fprintf(c.Stdout, "%s  %s  %-9s %s  (%s %s)\n", r.Message.CreatedAt.Local().Format("2006-01-02 15:04"), r.Message.ID, r.Message.Role,
					oneLine(r.Snippet, 100), r.Message.ConversationID, oneLine(strings.TrimSpace(r.ConversationTitle), 40))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&q.Limit, "limit", "n", 10, "most results to show")
	cmd.Flags().StringVar(&mode, "mode", "hybrid", "hybrid, keyword or vector (vector and hybrid need an embedding model; hybrid is keyword alone without one)")
	cmd.Flags().StringVar(&q.ConversationID, "conversation", "", "only this conversation")
	cmd.Flags().StringVar(&since, "since", "", "only messages written from this date on (2025-05-03)")
	cmd.Flags().StringVar(&until, "until", "", "only messages written before this date")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per result, with the turns before and after")
	return cmd
}

// cliDate reads a --since/--until date in local time, or an RFC 3339 time.
func cliDate(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q is not a date: give it as 2025-05-03 (or an RFC 3339 time)", flag, s)
}

// openSemanticVault opens the vault with the embedding model from the
// settings, for search by meaning (keywords alone when it is off or Ollama
// is away), as cairn serve does.
func (c *cli) openSemanticVault(ctx context.Context) (*memory.Vault, error) {
	s, _, ollama, err := c.BackendsOnly()
	if err != nil {
		return nil, err
	}
	var emb memory.Embedder
	if s.EmbeddingModel != "off" {
		emb = agent.NewEmbedder(ollama, s.EmbeddingModel)
	}
	return c.OpenVaultWith(ctx, emb)
}
