package cli

import (
	"bufio"
	"cmp"
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

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/apitype"
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
			return c.withChatAPI(ctx, func(api *client.Client) error {
				model, err := c.chatModel(ctx, api, model)
				if err != nil {
					return err
				}
				if len(args) == 1 {
					text, err := c.textArg(args[0])
					if err != nil {
						return err
					}
					_, err = c.chatTurn(ctx, api, apitype.ChatRequest{ConversationID: conv, Text: text, Model: model})
					return err
				}
				return c.repl(ctx, api, model, conv)
			})
		},
	}
	cmd.Flags().StringVarP(&model, "model", "m", "", "model to chat with (default: the one set by `cairn models use`)")
	cmd.Flags().StringVarP(&conv, "conversation", "c", "", "continue this conversation (ids from `cairn conversations`)")
	c.addSyncFlags(cmd) // with no owner running, this process reaches the other devices
	return cmd
}

// withChatAPI is withAPI for a chat: with no owner, the in-process
// handler has the agent and the models, and background learning from the
// last turn finishes before the vault closes, saying so (Ctrl-C skips it).
// With an owner, the owner learns; nothing is asked for.
func (c *cli) withChatAPI(ctx context.Context, fn func(*client.Client) error) error {
	if oc, ok := c.ownerClient(); ok {
		return fn(oc.api)
	}
	sess, err := c.OpenRuntime(ctx)
	if err != nil {
		return err
	}
	defer func() { sess.Close(c.finishLearning(ctx, sess)) }()
	// With no owner, this process reaches the other devices itself.
	if err := c.ReachDevices(ctx, sess); err != nil {
		fmt.Fprintln(c.Stderr, err)
	}
	return fn(client.InProcess(api.New(api.Config{Vault: sess.Vault, Agent: sess.Agent, Backends: sess.Backends}).InProcess()))
}

// chatModel is the model to chat with: the flag, the setting, or the only
// chat model this device's Ollama has.
func (c *cli) chatModel(ctx context.Context, api *client.Client, flag string) (string, error) {
	s, err := c.Home().LoadSettings()
	if err != nil {
		return "", err
	}
	return owner.ChooseModel(flag, s.Model, func() ([]string, error) {
		list, err := api.Models(ctx)
		var names []string
		for _, m := range list.Models {
			// Other backends' models are named "backend/model".
			if !strings.HasPrefix(m.Name, m.Backend+"/") {
				names = append(names, m.Name)
			}
		}
		return names, err
	})
}

// chatTurn sends one message, streaming the reply to stdout. Ctrl-C stops
// the reply; what arrived is kept.
func (c *cli) chatTurn(ctx context.Context, api *client.Client, req apitype.ChatRequest) (apitype.Turn, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	turn, err := api.Chat(ctx, req, c.printReply)
	return turn, c.endTurn(ctx, turn, err)
}

// printReply writes the reply's text to stdout as it arrives.
func (c *cli) printReply(ev client.ChatEvent) { io.WriteString(c.Stdout, ev.Text) }

// endTurn ends the reply's line, notes a reply cut at the length limit and
// explains a failed or stopped turn.
func (c *cli) endTurn(ctx context.Context, turn apitype.Turn, err error) error {
	fmt.Fprintln(c.Stdout)
	if err == nil && turn.Reply.Stats != nil && turn.Reply.Stats.Limit > 0 {
		fmt.Fprintf(c.Stderr, "(stopped at the length limit of %d tokens: \"max_reply_tokens\" in settings.json, or the app's Settings, raises it)\n", turn.Reply.Stats.Limit)
	}
	if err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil && turn.Conversation.ID != "" {
		fmt.Fprintf(c.Stderr, "(stopped; the part that arrived is kept in conversation %s)\n", turn.Conversation.ID)
		return nil
	}
	return err
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

func (c *cli) repl(ctx context.Context, api *client.Client, model, conv string) error {
	in := bufio.NewReader(os.Stdin)
	interactive := c.Term.IsTerminal()
	if interactive {
		fmt.Fprintf(c.Stderr, "Chatting with %s. /help for commands; Ctrl-C stops a reply; Ctrl-D ends.\n", model)
	}
	var last string // the last reply, for /regen; "": the conversation's head
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
			conv, last = "", ""
			fmt.Fprintln(c.Stderr, "(new conversation)")
			continue
		case strings.HasPrefix(line, "/model"):
			if name := strings.TrimSpace(strings.TrimPrefix(line, "/model")); name != "" {
				model = name
			}
			fmt.Fprintf(c.Stderr, "(model: %s)\n", model)
			continue
		case line == "/regen":
			reply := c.lastReply(ctx, api, conv, last)
			if reply == "" {
				fmt.Fprintln(c.Stderr, "(nothing to answer again yet)")
				continue
			}
			sctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			turn, err := api.Regenerate(sctx, reply, model, c.printReply)
			if turn.Conversation.ID == "" {
				turn.Conversation.ID = conv // a stopped regeneration stays in it
			}
			err = c.endTurn(sctx, turn, err)
			stop()
			if err != nil {
				fmt.Fprintf(c.Stderr, "cairn: %s\n", explain(err))
				continue
			}
			last = turn.Reply.ID
			continue
		case strings.HasPrefix(line, "/"):
			fmt.Fprintf(c.Stderr, "(unknown command %s: /help lists them)\n", strings.Fields(line)[0])
			continue
		}
		turn, err := c.chatTurn(ctx, api, apitype.ChatRequest{ConversationID: conv, Text: line, Model: model})
		if err != nil {
			if !interactive {
				return err
			}
			fmt.Fprintf(c.Stderr, "cairn: %s\n", explain(err))
			continue
		}
		// A stopped reply has no id here: /regen finds it as the head.
		last, conv = turn.Reply.ID, cmp.Or(turn.Conversation.ID, conv)
	}
}

// lastReply is the reply /regen answers again: the last one seen, else
// the head of the conversation when it is a reply (one that was stopped).
func (c *cli) lastReply(ctx context.Context, api *client.Client, conv, last string) string {
	if last != "" || conv == "" {
		return last
	}
	d, err := api.Conversation(ctx, conv)
	if err != nil {
		return ""
	}
	for _, m := range d.Messages {
		if m.ID == d.Head && m.Role == memory.RoleAssistant {
			return m.ID
		}
	}
	return ""
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
