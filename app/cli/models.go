package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/memory"
)

func (c *cli) modelsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models you can chat with, and set the default",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, bs, _, err := c.BackendsOnly()
			if err != nil {
				return err
			}
			var list apitype.ModelList
			if err := c.withModelsAPI(ctx, func(cl *client.Client) (err error) {
				list, err = cl.Models(ctx)
				return err
			}); err != nil {
				return err
			}
			for _, u := range list.Unreachable {
				fmt.Fprintf(c.Stderr, "%s: %s\n", u.Backend, u.Error)
			}
			headed := false
			for _, m := range list.Models {
				name := m.Name
				// Whether the backend may see memories is this home's
				// setting, read here as the server read it.
				receives := true
				if b, _, err := bs.Resolve(name); err == nil {
					receives = bs.ReceivesMemory(b)
				}
				numCtx := s.NumCtx[name]
				if asJSON {
					m.Name = strings.TrimPrefix(m.Name, m.Backend+"/")
					if err := writeJSONLine(c.Stdout, struct {
						agent.ModelInfo
						Ref            string `json:"ref"`
						Default        bool   `json:"default"`
						NumCtx         int    `json:"num_ctx,omitempty"`
						ReceivesMemory bool   `json:"receives_memory"`
					}{m, name, sameModel(name, s.Model), numCtx, receives}); err != nil {
						return err
					}
					continue
				}
				if !headed {
					fmt.Fprintf(c.Stdout, "  %-36s %9s  %-8s %s\n", "MODEL (* default)", "SIZE", "PARAMS", "CONTEXT")
					headed = true
				}
				mark := " "
				if sameModel(name, s.Model) {
					mark = "*"
				}
				ctxNote := "default context"
				if numCtx > 0 {
					ctxNote = fmt.Sprintf("num_ctx %d", numCtx)
				}
				memNote := ""
				if !receives {
					memNote = "  (remote: no memory sent)"
				}
				if m.Device != "" {
					memNote = "  on your device " + m.Device + ", " + map[bool]string{false: "online", true: "OFFLINE"}[m.Offline]
				}
				fmt.Fprintf(c.Stdout, "%s %-36s %9s  %-8s %s%s\n", mark, name, humanBytes(m.Size), m.Params, ctxNote, memNote)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	c.addSyncFlags(cmd) // with no owner running, this process lists the other devices' models
	cmd.AddCommand(c.modelsUse(), c.modelsEmbedding(), c.modelsShare())
	return cmd
}

// sameModel reports whether two model names are one model: Ollama reads
// "tiny" as "tiny:latest".
func sameModel(a, b string) bool {
	norm := func(s string) string {
		if s == "" || strings.Contains(s[strings.LastIndex(s, "/")+1:], ":") {
			return s
		}
		return s + ":latest"
	}
	return a != "" && norm(a) == norm(b)
}

func (c *cli) modelsEmbedding() *cobra.Command {
	return &cobra.Command{
		Use:   "embedding NAME|off",
		Short: "Choose the model that embeds memories for semantic search, and embed them all",
		Long: `Choose the embedding model (default nomic-embed-text) and embed every memory
with it, showing progress. Stopping it midway is safe: what is left is
embedded later, and search works by keyword meanwhile. "off" keeps search
to keywords and sends no memory text to an embedding model.`,
		Args: exactArgs(1, "an embedding model name, or off"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			s, _, ollama, err := c.BackendsOnly()
			if err != nil {
				return err
			}
			s.EmbeddingModel = args[0]
			if args[0] == "off" {
				if err := c.Home().SaveSettings(s); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, "semantic search off: keyword search only")
				return nil
			}
			emb := agent.NewEmbedder(ollama, args[0])
			if err := emb.Check(ctx); err != nil {
				return err
			}
			if err := c.Home().SaveSettings(s); err != nil {
				return err
			}
			return c.withVault(ctx, func(v *memory.Vault) error {
				if err := v.SetEmbedder(ctx, emb); err != nil {
					return err
				}
				bar := newProgressBar(c.Stdout, c.isTerminalOut())
				err := v.EmbedAll(ctx, func(done, total int) {
					bar.update(agent.PullProgress{Status: "embedding memories", Digest: "", Total: int64(total), Completed: int64(done)})
				})
				bar.done()
				if errors.Is(err, context.Canceled) {
					return errors.New("stopped; the rest is embedded later, and search works by keyword meanwhile")
				}
				if err != nil {
					return err
				}
				// Then past messages, for recall by meaning (memories first).
				bar = newProgressBar(c.Stdout, c.isTerminalOut())
				err = v.EmbedPassages(ctx, func(done, total int) {
					bar.update(agent.PullProgress{Status: "embedding past messages", Total: int64(total), Completed: int64(done)})
				})
				bar.done()
				if errors.Is(err, context.Canceled) {
					return errors.New("stopped; the rest is embedded later, and search works by keyword meanwhile")
				}
				if err != nil {
					return err
				}
				st, err := v.EmbeddingStatus(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stdout, "%d of %d memories and %d of %d past messages embedded with %s\n", st.Embedded, st.Total, st.MessagesEmbedded, st.MessagesTotal, st.Model)
				return nil
			})
		},
	}
}

func (c *cli) modelsUse() *cobra.Command {
	var numCtx int
	cmd := &cobra.Command{
		Use:   "use NAME",
		Short: "Make NAME the default chat model (and set its context length with --num-ctx)",
		Args:  exactArgs(1, "a model name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, bs, _, err := c.BackendsOnly()
			if err != nil {
				return err
			}
			b, name, err := bs.Resolve(args[0])
			if err != nil {
				return err
			}
			info, err := b.Show(ctx, name)
			if err != nil {
				return err
			}
			s.Model = args[0]
			if numCtx != 0 {
				if s.NumCtx == nil {
					s.NumCtx = map[string]int{}
				}
				s.NumCtx[args[0]] = numCtx
				if info.TrainedContext > 0 && numCtx > info.TrainedContext {
					fmt.Fprintf(c.Stderr, "note: %s was trained with a %d-token context; answers may degrade beyond it\n", args[0], info.TrainedContext)
				}
			}
			if err := c.Home().SaveSettings(s); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "default model: %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().IntVar(&numCtx, "num-ctx", 0, "context window in tokens to run it with (more needs more memory; Ollama's default otherwise)")
	return cmd
}

func (c *cli) pullCommand() *cobra.Command {
	var insecure, asJSON bool
	cmd := &cobra.Command{
		Use:   "pull NAME",
		Short: "Download a model into Ollama, with progress",
		Args:  exactArgs(1, "a model name, e.g. llama3.2"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			bar := newProgressBar(c.Stdout, c.isTerminalOut())
			err := c.withModelsAPI(ctx, func(cl *client.Client) error {
				return cl.Pull(ctx, apitype.PullRequest{Name: args[0], Insecure: insecure}, func(p agent.PullProgress) {
					if asJSON {
						writeJSONLine(c.Stdout, p)
						return
					}
					bar.update(p)
				})
			})
			bar.done()
			if errors.Is(err, context.Canceled) {
				return errors.New("pull stopped; run it again to resume where it left off")
			}
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(c.Stdout, "%s is ready: `cairn chat --model %s`\n", args[0], args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow a registry without TLS (your own registry on the LAN)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each progress step as a JSON object per line")
	return cmd
}
