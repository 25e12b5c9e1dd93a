package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// Store is what the agent needs of the vault.
type Store interface {
	Search(ctx context.Context, q memory.Query) ([]memory.Result, error)
	Add(ctx context.Context, n memory.NewItem) (memory.Item, error)
	Get(ctx context.Context, id string) (memory.Item, error)
	Edit(ctx context.Context, id string, p memory.Patch) (memory.Item, error)
	SoftForget(ctx context.Context, id, why string) (memory.Item, error)

	CreateConversation(ctx context.Context, n memory.NewConversation) (memory.Conversation, error)
	Conversation(ctx context.Context, id string) (memory.Conversation, error)
	EditConversation(ctx context.Context, id string, p memory.ConversationPatch) (memory.Conversation, error)
	AddMessage(ctx context.Context, n memory.NewMessage) (memory.Message, error)
	Message(ctx context.Context, id string) (memory.Message, error)
	Messages(ctx context.Context, conversationID string) ([]memory.Message, error)
	SearchMessages(ctx context.Context, q memory.MessageQuery) ([]memory.MessageResult, error)
}

// DefaultNumCtx is Ollama's default context window, used for models the
// person has not set one for (OLLAMA_CONTEXT_LENGTH changes Ollama's
// default, and so ours).
const DefaultNumCtx = 4096

// DefaultSystemPrompt is the system prompt unless the person sets one.
const DefaultSystemPrompt = `You are Cairn, a personal assistant running on the person's own computer. Be direct and helpful. You may be given memories about the person: use them when relevant, never invent any, and do not recite them unasked. Use the remember tool only for lasting facts or preferences the person states; use forget only when the person asks you to forget something.`

// Config sets how the agent chats.
type Config struct {
	// Model is the default chat model ("llama3.2", or "NAME/MODEL" for a
	// model on another backend).
	Model string
	// System is the system prompt; "" means DefaultSystemPrompt.
	System string
	// NumCtx is the context window per model; models not listed get
	// DefaultNumCtx (or OLLAMA_CONTEXT_LENGTH when set).
	NumCtx map[string]int
	// Reserve is kept free for the reply; 0 means a quarter of the window,
	// at most 1024 tokens.
	Reserve int
	// NumPredict caps a reply's tokens; 0 means DefaultReplyCap of the
	// window. Either way the reply never takes more than the window leaves
	// after the prompt (so Ollama never shifts the prompt out).
	NumPredict int
	// Memories is how many memories a turn may bring into the prompt.
	Memories int
	// Passages is how many passages of past messages a turn may bring
	// into the prompt; 0 means 6, negative means none.
	Passages int
	// NoExtraction turns memory extraction off.
	NoExtraction bool
	// NoTools stops offering tools to models that support them.
	NoTools bool
	// MaxToolRounds bounds the tool loop per reply.
	MaxToolRounds int
	// Temperature and Seed, when set, make replies reproducible (tests).
	Temperature *float64
	Seed        int
	Logger      *slog.Logger
	// OnExtraction, when set, receives each extraction report.
	OnExtraction func(ExtractionReport)
}

// Agent runs chat turns over a vault and a set of model backends.
type Agent struct {
	store    Store
	backends *Backends
	cfg      Config
	log      *slog.Logger
	bg       *scheduler

	mu    sync.Mutex
	stats ExtractionStats
	// replyCap is NumPredict, changeable while the agent runs.
	replyCap atomic.Int64
	// noExtraction is NoExtraction, changeable while the agent runs.
	noExtraction atomic.Bool
	// embedQueued: background embedding of past messages is queued or
	// running (recallembed.go).
	embedQueued atomic.Bool
}

// SetExtraction turns memory extraction after each turn on or off, from
// the next turn on.
func (a *Agent) SetExtraction(on bool) { a.noExtraction.Store(!on) }

// DefaultReplyCap is the share of the context window a reply may fill
// when no cap is set: a runaway model stops after a quarter of the window
// rather than filling it (minutes on a CPU).
const DefaultReplyCap = 4

// ReplyCap is the reply cap for a window of numCtx tokens: the setting,
// or numCtx/DefaultReplyCap.
func ReplyCap(setting, numCtx int) int {
	if setting > 0 {
		return setting
	}
	return max(numCtx/DefaultReplyCap, 64)
}

// SetReplyCap changes the cap on a reply's tokens for later turns; 0 is
// the default (a quarter of the window).
func (a *Agent) SetReplyCap(n int) { a.replyCap.Store(int64(max(n, 0))) }

// New returns an agent; Close stops its background work.
func New(store Store, backends *Backends, cfg Config) *Agent {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Memories <= 0 {
		cfg.Memories = 8
	}
	if cfg.MaxToolRounds <= 0 {
		cfg.MaxToolRounds = 4
	}
	if cfg.System == "" {
		cfg.System = DefaultSystemPrompt
	}
	a := &Agent{store: store, backends: backends, cfg: cfg, log: cfg.Logger, bg: newScheduler(cfg.Logger)}
	a.replyCap.Store(int64(max(cfg.NumPredict, 0)))
	a.noExtraction.Store(cfg.NoExtraction)
	return a
}

// Close stops background work; queued work is dropped (it is redone from
// the stored messages only by a later turn).
func (a *Agent) Close() { a.bg.close() }

// Wait blocks until background work (extraction, summaries) is done.
func (a *Agent) Wait(ctx context.Context) error { return a.bg.wait(ctx) }

// Busy reports whether background work (extraction, summaries) is queued
// or running, so a caller about to exit can say why it waits.
func (a *Agent) Busy() bool { return a.bg.busy() }

// Backends returns the agent's backends.
func (a *Agent) Backends() *Backends { return a.backends }

// NumCtx is the context window a model runs with.
func (a *Agent) NumCtx(model string) int {
	if n := a.cfg.NumCtx[model]; n > 0 {
		return n
	}
	if n, err := strconv.Atoi(os.Getenv("OLLAMA_CONTEXT_LENGTH")); err == nil && n > 0 {
		return n
	}
	return DefaultNumCtx
}

func (a *Agent) reserve(numCtx int) int {
	if a.cfg.Reserve > 0 {
		return a.cfg.Reserve
	}
	return min(numCtx/4, 1024)
}

// TurnRequest is one message from the person.
type TurnRequest struct {
	// ConversationID continues a conversation; "" starts one.
	ConversationID string
	// ParentID is the message this one follows; "" means the newest
	// message of the conversation. Giving an earlier user message's parent
	// edits that message: the new one starts a branch.
	ParentID string
	// Root makes the message a new first message of the conversation (with
	// ParentID ""): editing the first message starts a branch at the root.
	Root bool
	Text string
	// Model overrides the default model for this turn.
	Model string

	// System, when set, replaces the agent's system prompt for this turn
	// (API clients bring their own); the memory block is still added.
	System string
	// Tools, when set, are the caller's own tools: they are offered
	// instead of Cairn's memory tools (to models that can call tools), and
	// Cairn does not run them. A call to one ends the turn: the reply is
	// the stored assistant message with the calls (Reply.ToolCalls), and
	// the caller sends the results back as ToolResults.
	Tools []Tool
	// ToolResults answer the tool calls of the assistant message at
	// ParentID; a turn with them has no Text. They are stored as tool
	// messages and the model answers them.
	ToolResults []ToolResult
	// Limits narrow what the turn may do with memory, for a client that
	// may not do it all.
	Limits
	// MaxTokens caps the reply's tokens (0: the agent's setting).
	MaxTokens int
	// Temperature and Seed, when set, replace the agent's for this turn.
	Temperature *float64
	Seed        int
	// Format is a JSON schema (or "json") the reply must follow.
	Format json.RawMessage
	// OnStored, when set, is called once with the conversation and the
	// person's stored message, before the first delta reaches onDelta (or,
	// with no delta, before Chat returns): a caller that stops the reply
	// still knows where it went on. Not called when the message could not
	// be stored.
	OnStored func(conv memory.Conversation, user memory.Message)
}

// Limits narrow what one turn may do with the person's memory. The zero
// value limits nothing: the person's own chat (the CLI, the app). An API
// client gets the limits its token's scopes set.
type Limits struct {
	// NoRecall keeps memories out of the prompt and the recall tool out
	// of the model's reach.
	NoRecall bool
	// NoMemoryWrite offers the model no remember or forget tool.
	NoMemoryWrite bool
	// NoExtraction skips memory extraction after this turn.
	NoExtraction bool
}

// ToolResult is what one of the caller's tools returned.
type ToolResult struct {
	// CallID is the id of the call it answers.
	CallID string
	// Name is the tool's name; "" takes it from the call.
	Name    string
	Content string
}

// Turn is a finished turn.
type Turn struct {
	Conversation memory.Conversation
	User         memory.Message
	Reply        memory.Message
	// Tools lists the tool calls and results persisted on the way.
	Tools []memory.Message
	// Dropped is how many old messages did not fit the window.
	Dropped int
	// DoneReason is why the model stopped ("stop", "length"), as the
	// backend says.
	DoneReason string
}

// Chat runs one turn: it stores the person's message, brings relevant
// memories into the prompt, streams the reply to onDelta and stores it.
// A cancelled ctx keeps the part of the reply that arrived, marked
// incomplete; the returned error is then ctx's.
func (a *Agent) Chat(ctx context.Context, req TurnRequest, onDelta func(string)) (*Turn, error) {
	text := strings.TrimSpace(req.Text)
	switch {
	case len(req.ToolResults) > 0:
		if text != "" {
			return nil, fmt.Errorf("%w: a turn carries a message or tool results, not both", memory.ErrInvalid)
		}
	case text == "":
		return nil, fmt.Errorf("%w: the message is empty", memory.ErrInvalid)
	case len(text) > memory.MaxMessageBytes:
		return nil, fmt.Errorf("%w: the message is %d bytes, over the %d-byte limit: attach long texts as documents", memory.ErrInvalid, len(text), memory.MaxMessageBytes)
	}
	var conv memory.Conversation
	if req.ConversationID != "" {
		var err error
		if conv, err = a.store.Conversation(ctx, req.ConversationID); err != nil {
			return nil, err
		}
	}
	model := cmp.Or(req.Model, conv.Model, a.cfg.Model)
	// Ask the backend first: when it is down or lacks the model, nothing
	// is stored and the person still has their message to send again.
	backend, name, err := a.backends.Resolve(model)
	if err != nil {
		return nil, err
	}
	if _, err := a.backends.Show(ctx, backend, name); err != nil {
		return nil, err
	}
	recall := func() []recallItem { return nil }
	if len(req.ToolResults) == 0 && !req.NoRecall {
		recall = a.recall(ctx, backend, text)
	}
	defer func() { recall() }() // never leave the search running past the turn
	var msgs []memory.Message
	if conv.ID != "" {
		if msgs, err = a.store.Messages(ctx, conv.ID); err != nil {
			return nil, err
		}
	}
	parent := req.ParentID
	switch {
	case req.Root && parent != "":
		return nil, fmt.Errorf("%w: a turn is either a new first message (root) or follows parent %s, not both", memory.ErrInvalid, parent)
	case req.Root:
	case parent == "":
		parent = head(msgs)
	case !hasMessage(msgs, parent):
		return nil, fmt.Errorf("%w: message %s is not in conversation %s", memory.ErrNotFound, parent, cmp.Or(conv.ID, "(new)"))
	}
	if len(req.ToolResults) > 0 {
		thread, pend, err := a.storeToolResults(ctx, conv, msgs, parent, req.ToolResults)
		if err != nil {
			return nil, err
		}
		if t := lastUserText(thread); t != "" && !req.NoRecall {
			recall = a.recall(ctx, backend, t)
		}
		req.NoExtraction = true // no words of the person's in this turn
		return a.reply(ctx, conv, thread, pend, model, recall, onDelta, req)
	}
	// The message is stored while the prompt is assembled and the model
	// reads it: an fsync or two less before the first token. The reply is
	// stored only once the message is.
	pend := a.storeUser(ctx, conv, model, parent, text)
	user := memory.Message{ConversationID: conv.ID, ParentID: parent, Role: memory.RoleUser, Content: text, CreatedAt: time.Now()}
	thread := append(threadTo(msgs, parent), user)
	return a.reply(ctx, conv, thread, pend, model, recall, onDelta, req)
}

// pending is a person's message being stored.
type pending struct {
	done chan struct{}
	conv memory.Conversation
	user memory.Message
	err  error
}

func (p *pending) wait() (memory.Conversation, memory.Message, error) {
	<-p.done
	return p.conv, p.user, p.err
}

func stored(conv memory.Conversation, user memory.Message) *pending {
	p := &pending{done: make(chan struct{}), conv: conv, user: user}
	close(p.done)
	return p
}

// storeUser stores the person's message (and a new conversation) in the
// background; a cancelled turn still stores it.
func (a *Agent) storeUser(ctx context.Context, conv memory.Conversation, model, parent, text string) *pending {
	ctx = context.WithoutCancel(ctx)
	p := &pending{done: make(chan struct{}), conv: conv}
	go func() {
		defer close(p.done)
		if p.conv.ID == "" {
			if p.conv, p.err = a.store.CreateConversation(ctx, memory.NewConversation{Title: titleFrom(text), Model: model}); p.err != nil {
				return
			}
		}
		p.user, p.err = a.store.AddMessage(ctx, memory.NewMessage{ConversationID: p.conv.ID, ParentID: parent, Role: memory.RoleUser, Content: text})
	}()
	return p
}

// Regenerate answers the user message before reply again: the new answer
// is a branch beside the old one. lim narrows it as for Chat.
func (a *Agent) Regenerate(ctx context.Context, replyID, model string, lim Limits, onDelta func(string)) (*Turn, error) {
	old, err := a.store.Message(ctx, replyID)
	if err != nil {
		return nil, err
	}
	conv, err := a.store.Conversation(ctx, old.ConversationID)
	if err != nil {
		return nil, err
	}
	msgs, err := a.store.Messages(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	// Walk up past tool rounds to the user message it answered.
	byID := index(msgs)
	user := old
	for user.Role != memory.RoleUser {
		p, ok := byID[user.ParentID]
		if !ok {
			return nil, fmt.Errorf("%w: message %s answers no user message", memory.ErrInvalid, replyID)
		}
		user = p
	}
	if model == "" {
		model = cmp.Or(old.Model, conv.Model, a.cfg.Model)
	}
	backend, name, err := a.backends.Resolve(model)
	if err != nil {
		return nil, err
	}
	if _, err := a.backends.Show(ctx, backend, name); err != nil {
		return nil, err
	}
	recall := func() []recallItem { return nil }
	if !lim.NoRecall {
		recall = a.recall(ctx, backend, user.Content)
	}
	defer recall()
	return a.reply(ctx, conv, threadTo(msgs, user.ID), stored(conv, user), model, recall, onDelta, TurnRequest{Limits: lim})
}

// reply answers the last message of thread, which pend is storing; opts
// carries the turn's own settings (System, Tools, MaxTokens and the rest).
func (a *Agent) reply(ctx context.Context, conv memory.Conversation, thread []memory.Message, pend *pending, model string, recall func() []recallItem, onDelta func(string), opts TurnRequest) (*Turn, error) {
	backend, name, err := a.backends.Resolve(model)
	if err != nil {
		return nil, err
	}
	info, err := a.backends.Show(ctx, backend, name)
	if err != nil {
		return nil, err
	}
	withMemory := a.backends.ReceivesMemory(backend)
	numCtx := a.NumCtx(model)

	var recalled []recallItem
	if withMemory && !opts.NoRecall {
		recalled = recall()
	}
	summary := ""
	if conv.Summary != "" && conv.SummaryThrough != "" && inThread(thread, conv.SummaryThrough) {
		summary = conv.Summary
	}
	tools := a.toolsFor(info, withMemory, opts.Limits)
	if opts.Tools != nil {
		tools = nil
		if info.Can("tools") {
			tools = opts.Tools
		}
	}
	in := promptInput{
		System: cmp.Or(opts.System, a.cfg.System), Recall: recalled, Summary: summary, History: toBackend(thread),
		HistoryIDs: threadIDs(thread), Now: time.Now(),
		Tools: tools, NumCtx: numCtx, Reserve: a.reserve(numCtx),
	}
	p, err := assemble(in)
	if err != nil {
		if _, _, serr := pend.wait(); serr != nil {
			return nil, errors.Join(err, serr)
		}
		return nil, err
	}

	done := a.bg.reply()
	turn, err := a.stream(ctx, pend, backend, name, model, in, p, onDelta, opts)
	done()
	if turn == nil {
		return nil, err
	}
	turn.Dropped = p.Dropped
	if turn.Reply.ID == "" {
		return turn, err
	}
	thread[len(thread)-1] = turn.User
	if withMemory && !a.noExtraction.Load() && !opts.NoExtraction {
		a.enqueueExtraction(backend, name, numCtx, turn.User, thread)
	}
	if p.Dropped > 0 && (!p.Summarised || conv.SummaryThrough != thread[p.Dropped-1].ID) {
		a.enqueueSummary(backend, name, numCtx, turn.Conversation.ID, thread[:p.Dropped], summary)
	}
	a.EmbedPastMessages() // the turn's messages, for recall in later ones
	return turn, err
}

// stream runs the model, with the tool loop, and stores what it says.
func (a *Agent) stream(ctx context.Context, pend *pending, backend Backend, name, model string, in promptInput, p prompt, onDelta func(string), opts TurnRequest) (*Turn, error) {
	turn := &Turn{}
	messages := p.Messages
	estimate := p.Estimate
	// Stored messages follow the person's, once it is stored.
	var conv memory.Conversation
	var user memory.Message
	parent := ""
	await := func() error {
		if parent != "" {
			return nil
		}
		var err error
		if conv, user, err = pend.wait(); err != nil {
			return fmt.Errorf("your message could not be stored, so neither was the reply: %w", err)
		}
		turn.Conversation, turn.User, parent = conv, user, user.ID
		if opts.OnStored != nil {
			opts.OnStored(conv, user)
		}
		return nil
	}
	total := budget(in.NumCtx, in.Reserve)
	// Writes after a cancel must still happen: what arrived is kept.
	store := context.WithoutCancel(ctx)
	for round := 0; ; round++ {
		tools := in.Tools
		if round >= a.cfg.MaxToolRounds || estimate > total {
			tools = nil // the last round must answer in words
		}
		numPredict := ReplyCap(int(a.replyCap.Load()), in.NumCtx)
		if opts.MaxTokens > 0 {
			numPredict = opts.MaxTokens
		}
		numPredict = min(numPredict, max(in.NumCtx-estimate, in.Reserve))
		temperature, seed := a.cfg.Temperature, a.cfg.Seed
		if opts.Temperature != nil {
			temperature = opts.Temperature
		}
		if opts.Seed != 0 {
			seed = opts.Seed
		}
		req := ChatRequest{Model: name, Messages: messages, Tools: tools, Format: opts.Format, NumCtx: in.NumCtx, NumPredict: numPredict, Temperature: temperature, Seed: seed}
		resp, err := backend.Chat(ctx, req, func(d Delta) {
			if opts.OnStored != nil && parent == "" {
				// The caller hears where the turn is stored before its
				// first word; a failed store is the turn's error below.
				_ = await()
			}
			if onDelta != nil {
				onDelta(d.Content)
			}
		})
		stats := &memory.MessageStats{PromptTokens: resp.PromptTokens, OutputTokens: resp.OutputTokens, FirstTokenMS: resp.FirstToken.Milliseconds(), TotalMS: resp.Total.Milliseconds()}
		if resp.DoneReason == "length" {
			// Stopped by the cap, not by the model: the reply says so.
			stats.Limit = numPredict
		}
		if werr := await(); werr != nil {
			return nil, errors.Join(werr, err)
		}
		turn.DoneReason = resp.DoneReason
		if err != nil {
			if resp.Message.Content == "" && ctx.Err() == nil {
				return turn, err // nothing arrived: nothing to keep
			}
			m, serr := a.store.AddMessage(store, memory.NewMessage{
				ConversationID: conv.ID, ParentID: parent, Role: memory.RoleAssistant, Content: resp.Message.Content,
				Model: model, Incomplete: true, MemoryIDs: p.MemoryIDs, RecalledIDs: p.RecalledIDs, Stats: stats,
			})
			if serr != nil {
				return turn, errors.Join(err, serr)
			}
			turn.Reply = m
			return turn, err
		}
		if len(resp.Message.ToolCalls) == 0 || tools == nil {
			m, err := a.store.AddMessage(store, memory.NewMessage{
				ConversationID: conv.ID, ParentID: parent, Role: memory.RoleAssistant, Content: resp.Message.Content,
				Model: model, MemoryIDs: p.MemoryIDs, RecalledIDs: p.RecalledIDs, Stats: stats,
			})
			if err != nil {
				return turn, err
			}
			turn.Reply = m
			return turn, nil
		}
		calls := make([]memory.ToolCall, 0, len(resp.Message.ToolCalls))
		for _, c := range resp.Message.ToolCalls {
			if opts.Tools != nil {
				// The caller answers by id, across turns: ids must be unique.
				c.ID = newCallID()
			}
			calls = append(calls, memory.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		}
		asked, err := a.store.AddMessage(store, memory.NewMessage{
			ConversationID: conv.ID, ParentID: parent, Role: memory.RoleAssistant, Content: resp.Message.Content,
			Model: model, ToolCalls: calls, MemoryIDs: p.MemoryIDs, RecalledIDs: p.RecalledIDs, Stats: stats,
		})
		if err != nil {
			return turn, err
		}
		if opts.Tools != nil {
			turn.Reply = asked // the caller runs its own tools
			return turn, nil
		}
		turn.Tools = append(turn.Tools, asked)
		parent = asked.ID
		messages = append(messages, resp.Message)
		estimate += messageTokens(resp.Message)
		for _, c := range resp.Message.ToolCalls {
			result := a.runTool(store, c, user, opts.Limits)
			m, err := a.store.AddMessage(store, memory.NewMessage{
				ConversationID: conv.ID, ParentID: parent, Role: memory.RoleTool, Content: result, ToolName: c.Name,
			})
			if err != nil {
				return turn, err
			}
			turn.Tools = append(turn.Tools, m)
			parent = m.ID
			tm := Message{Role: "tool", Content: result, ToolName: c.Name, ToolCallID: c.ID}
			messages = append(messages, tm)
			estimate += messageTokens(tm)
		}
		if ctx.Err() != nil {
			return turn, ctx.Err()
		}
	}
}
