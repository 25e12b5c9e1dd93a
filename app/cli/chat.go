package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

func (c *cli) chatCommand() *cobra.Command {
	var model, conv string
	cmd := &cobra.Command{
		Use:   "chat [MESSAGE]",
		Short: "Chat with a local model, with your memories (one message, or a conversation)",
		Long: `Chat with a model through Ollama. With MESSAGE (or - to read it from standard
input), send that one message and print the reply. Without, start a
conversation: type a message and press Enter; Ctrl-C stops a reply, and
Ctrl-C or Ctrl-D at the prompt ends the chat. Commands in a chat: /new,
/model NAME, /regen, /help, /quit.

Relevant memories go into the prompt; facts you state are remembered
(turn that off with "extraction": false in settings.json).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Ctrl-C stops a reply, not the chat: only SIGTERM (or Ctrl-C
			// at the prompt) ends it, so detach from the process's
			// interrupt-cancelled context.
			ctx, stop := signal.NotifyContext(context.WithoutCancel(cmd.Context()), syscall.SIGTERM)
			defer stop()
			r, err := c.OpenRuntime(ctx)
			if err != nil {
				return err
			}
			// Background learning from the last turn finishes before the
			// vault closes, saying so; Ctrl-C skips it.
			defer func() { r.Close(c.finishLearning(ctx, r)) }()
			if model, err = r.DefaultModel(ctx, model); err != nil {
				return err
			}
			if len(args) == 1 {
				text, err := c.textArg(args[0])
				if err != nil {
					return err
				}
				_, err = c.chatTurn(ctx, r, agent.TurnRequest{ConversationID: conv, Text: text, Model: model})
				return err
			}
			return c.repl(ctx, r, model, conv)
		},
	}
	cmd.Flags().StringVarP(&model, "model", "m", "", "model to chat with (default: the one set by `cairn models use`)")
	cmd.Flags().StringVarP(&conv, "conversation", "c", "", "continue this conversation (ids from `cairn conversations`)")
	return cmd
}

// chatTurn sends one message, streaming the reply to stdout. Ctrl-C stops
// the reply; what arrived is kept.
func (c *cli) chatTurn(ctx context.Context, r *owner.Session, req agent.TurnRequest) (*agent.Turn, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	w := bufio.NewWriter(c.Stdout)
	turn, err := r.Agent.Chat(ctx, req, func(s string) {
		w.WriteString(s)
		w.Flush()
	})
	w.WriteString("\n")
	w.Flush()
	if err == nil && turn != nil && turn.Reply.Stats != nil && turn.Reply.Stats.Limit > 0 {
		fmt.Fprintf(c.Stderr, "(stopped at the length limit of %d tokens: \"max_reply_tokens\" in settings.json, or the app's Settings, raises it)\n", turn.Reply.Stats.Limit)
	}
	return turn, c.turnError(ctx, turn, err)
}

// learningWait bounds how long a chat waits, at its end, for memory
// extraction of the last turn.
const learningWait = 2 * time.Minute

// finishLearning waits for the agent's background work (memory extraction
// of the last turn, summaries) before the chat exits, with a note on
// stderr, a spinner on a terminal, and Ctrl-C to skip it: the conversation
// is stored already, only what the model would have learnt from the last
// turn is lost. It returns a done context for close.
func (c *cli) finishLearning(ctx context.Context, r *owner.Session) context.Context {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), learningWait)
	defer cancel()
	// close must not wait again: what it gets is already done.
	done, finished := context.WithCancel(context.Background())
	finished()
	if !r.Agent.Busy() {
		return done
	}
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	const note = "Learning from this conversation (memory extraction); Ctrl-C skips it, the conversation is saved."
	waited := make(chan error, 1)
	go func() { waited <- r.Agent.Wait(sctx) }()
	start := time.Now()
	var err error
	if c.isTerminalErr() {
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		tick := time.NewTicker(120 * time.Millisecond)
		defer tick.Stop()
	spin:
		for i := 0; ; i++ {
			fmt.Fprintf(c.Stderr, "\r%c %s %ds", frames[i%len(frames)], note, int(time.Since(start).Seconds()))
			select {
			case err = <-waited:
				break spin
			case <-tick.C:
			}
		}
		fmt.Fprint(c.Stderr, "\r\033[K")
	} else {
		fmt.Fprintln(c.Stderr, note)
		err = <-waited
	}
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(c.Stderr, "(stopped learning after %s: nothing was learnt from the last turn)\n", learningWait)
	default:
		fmt.Fprintln(c.Stderr, "(skipped: nothing was learnt from the last turn; the conversation is saved)")
	}
	return done
}

// turnError explains a failed or stopped turn.
func (c *cli) turnError(ctx context.Context, turn *agent.Turn, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && turn != nil && turn.Reply.ID != "" {
		fmt.Fprintf(c.Stderr, "(stopped; the part that arrived is kept in conversation %s)\n", turn.Conversation.ID)
		return nil
	}
	return err
}

func (c *cli) repl(ctx context.Context, r *owner.Session, model, conv string) error {
	in := bufio.NewReader(os.Stdin)
	interactive := c.Term.IsTerminal()
	if interactive {
		fmt.Fprintf(c.Stderr, "Chatting with %s. /help for commands; Ctrl-C stops a reply; Ctrl-D ends.\n", model)
	}
	var last *agent.Turn
	for {
		if interactive {
			fmt.Fprint(c.Stderr, "\n> ")
		}
		line, err := readLine(ctx, in)
		if err != nil {
			if interactive {
				fmt.Fprintln(c.Stderr)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case line == "/quit" || line == "/exit":
			return nil
		case line == "/help":
			fmt.Fprintln(c.Stderr, "/new starts a conversation, /model NAME switches model, /regen answers the last message again, /quit ends.")
			continue
		case line == "/new":
			conv, last = "", nil
			fmt.Fprintln(c.Stderr, "(new conversation)")
			continue
		case strings.HasPrefix(line, "/model"):
			if name := strings.TrimSpace(strings.TrimPrefix(line, "/model")); name != "" {
				model = name
			}
			fmt.Fprintf(c.Stderr, "(model: %s)\n", model)
			continue
		case line == "/regen":
			if last == nil || last.Reply.ID == "" {
				fmt.Fprintln(c.Stderr, "(nothing to answer again yet)")
				continue
			}
			sctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			turn, err := r.Agent.Regenerate(sctx, last.Reply.ID, model, agent.Limits{}, func(s string) { io.WriteString(c.Stdout, s) })
			fmt.Fprintln(c.Stdout)
			err = c.turnError(sctx, turn, err)
			stop()
			if err != nil {
				fmt.Fprintf(c.Stderr, "cairn: %s\n", explain(err))
				continue
			}
			last = turn
			continue
		case strings.HasPrefix(line, "/"):
			fmt.Fprintf(c.Stderr, "(unknown command %s: /help lists them)\n", strings.Fields(line)[0])
			continue
		}
		turn, err := c.chatTurn(ctx, r, agent.TurnRequest{ConversationID: conv, Text: line, Model: model})
		if err != nil {
			if !interactive {
				return err
			}
			fmt.Fprintf(c.Stderr, "cairn: %s\n", explain(err))
			continue
		}
		last, conv = turn, turn.Conversation.ID
	}
}

// readLine reads a line, giving up when ctx ends or Ctrl-C is pressed at
// the prompt.
func readLine(ctx context.Context, in *bufio.Reader) (string, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := in.ReadString('\n')
		if err == io.EOF && s != "" {
			err = nil
		}
		ch <- res{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		return "", context.Canceled
	}
}

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
			headed := false
			for i, b := range bs.All() {
				models, err := b.Models(ctx)
				if err != nil {
					if i == 0 {
						return err
					}
					fmt.Fprintf(c.Stderr, "%s: %v\n", b.Name(), err)
					continue
				}
				for _, m := range models {
					name := m.Name
					if i > 0 {
						name = b.Name() + "/" + m.Name
					}
					numCtx := s.NumCtx[name]
					if asJSON {
						if err := writeJSONLine(c.Stdout, struct {
							agent.ModelInfo
							Ref            string `json:"ref"`
							Default        bool   `json:"default"`
							NumCtx         int    `json:"num_ctx,omitempty"`
							ReceivesMemory bool   `json:"receives_memory"`
						}{m, name, sameModel(name, s.Model), numCtx, bs.ReceivesMemory(b)}); err != nil {
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
					if !bs.ReceivesMemory(b) {
						memNote = "  (remote: no memory sent)"
					}
					fmt.Fprintf(c.Stdout, "%s %-36s %9s  %-8s %s%s\n", mark, name, humanBytes(m.Size), m.Params, ctxNote, memNote)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	cmd.AddCommand(c.modelsUse(), c.modelsEmbedding())
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
				st, err := v.EmbeddingStatus(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stdout, "%d of %d memories embedded with %s\n", st.Embedded, st.Total, st.Model)
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
			_, _, ollama, err := c.BackendsOnly()
			if err != nil {
				return err
			}
			bar := newProgressBar(c.Stdout, c.isTerminalOut())
			err = ollama.Pull(ctx, args[0], insecure, func(p agent.PullProgress) {
				if asJSON {
					writeJSONLine(c.Stdout, p)
					return
				}
				bar.update(p)
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

func (c *cli) isTerminalOut() bool {
	f, ok := c.Stdout.(*os.File)
	return ok && owner.Terminal{In: f}.IsTerminal()
}

// progressBar draws pull progress: a redrawn bar on a terminal, a line per
// status or per tenth of a layer otherwise.
type progressBar struct {
	w        io.Writer
	tty      bool
	status   string
	lastTick int64
	drawn    bool
}

func newProgressBar(w io.Writer, tty bool) *progressBar { return &progressBar{w: w, tty: tty} }

func (b *progressBar) update(p agent.PullProgress) {
	label := p.Status
	if p.Digest != "" {
		label = "pulling " + shortDigest(p.Digest)
	}
	if p.Total <= 0 {
		if label != b.status {
			b.finishLine()
			fmt.Fprintln(b.w, label)
			b.status = label
		}
		return
	}
	if label != b.status && p.Completed > 0 && p.Completed < p.Total {
		// A layer's bar starts empty, however far the first report is.
		b.update(agent.PullProgress{Status: p.Status, Digest: p.Digest, Total: p.Total})
	}
	pct := p.Completed * 100 / p.Total
	if b.tty {
		const width = 30
		fill := int(pct * width / 100)
		fmt.Fprintf(b.w, "\r%s %3d%% ▕%s%s▏ %s / %s ", label, pct, strings.Repeat("█", fill), strings.Repeat(" ", width-fill), humanBytes(p.Completed), humanBytes(p.Total))
		b.drawn, b.status = true, label
		return
	}
	tick := pct / 10
	if label != b.status || tick != b.lastTick || p.Completed == p.Total {
		if label == b.status && tick == b.lastTick && p.Completed == p.Total && b.drawn {
			return
		}
		fmt.Fprintf(b.w, "%s %3d%% %s / %s\n", label, pct, humanBytes(p.Completed), humanBytes(p.Total))
		b.status, b.lastTick, b.drawn = label, tick, p.Completed == p.Total
	}
}

func (b *progressBar) finishLine() {
	if b.tty && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

func (b *progressBar) done() { b.finishLine() }

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

func humanBytes(n int64) string {
	switch {
	case n <= 0:
		return "0 B"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}

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
