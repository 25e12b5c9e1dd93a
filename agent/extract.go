package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cairnlabs/cairn/memory"
)

// Memory extraction follows mem0's scheme: the model proposes facts about
// the person, each is compared with similar memories, and the model
// decides ADD, UPDATE, DELETE or NONE. Unlike mem0 it trusts none of it
// blindly: a public audit of one memory layer found 97.8% of its stored
// memories were junk, half of it the assistant's own words saved as facts.
// So every proposal carries the person's words it rests on
// (source_quote), and one whose quote is not in what the person said this
// turn is dropped and counted.

// Extraction events.
const (
	EventAdd    = "ADD"
	EventUpdate = "UPDATE"
	EventDelete = "DELETE"
	EventNone   = "NONE"
)

// Why proposals were dropped.
const (
	DropNoQuote   = "quote not in the person's words"
	DropInvalid   = "invalid proposal"
	DropDuplicate = "duplicate"
	DropKnown     = "already known"
	DropDecision  = "invalid decision"
	DropFailed    = "could not be stored"
)

// ExtractionReport says what one extraction did.
type ExtractionReport struct {
	ConversationID string         `json:"conversation_id"`
	MessageID      string         `json:"message_id"`
	Proposed       int            `json:"proposed"`
	Stored         int            `json:"stored"`
	Dropped        int            `json:"dropped"`
	Reasons        map[string]int `json:"reasons,omitempty"`
	Actions        []Action       `json:"actions,omitempty"`
	// Junk says the model's output was not the JSON asked for; nothing
	// changed.
	Junk bool   `json:"junk,omitempty"`
	Err  string `json:"error,omitempty"`
}

// Action is one change extraction made.
type Action struct {
	Event    string        `json:"event"`
	MemoryID string        `json:"memory_id"`
	Text     string        `json:"text"`
	Source   memory.Source `json:"source,omitempty"`
}

// ExtractionStats are running totals since the agent started.
type ExtractionStats struct {
	Runs     int `json:"runs"`
	Proposed int `json:"proposed"`
	Stored   int `json:"stored"`
	Dropped  int `json:"dropped"`
	Junk     int `json:"junk"`
}

// Stats returns the extraction totals.
func (a *Agent) Stats() ExtractionStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

func (r *ExtractionReport) drop(reason string) {
	r.Dropped++
	if r.Reasons == nil {
		r.Reasons = map[string]int{}
	}
	r.Reasons[reason]++
}

// proposal is one fact the model proposes.
type proposal struct {
	Text   string `json:"text"`
	Kind   string `json:"kind"`
	Source string `json:"source"`
	Quote  string `json:"source_quote"`
}

// The schemas bound every string and list, so constrained decoding ends
// even when a model rambles.
var extractSchema = json.RawMessage(`{"type":"object","properties":{"memories":{"type":"array","maxItems":4,"items":{"type":"object","properties":{"text":{"type":"string","maxLength":160},"kind":{"type":"string","enum":["fact","preference"]},"source":{"type":"string","enum":["stated","inferred"]},"source_quote":{"type":"string","maxLength":200}},"required":["text","kind","source","source_quote"]}}},"required":["memories"]}`)

var decideSchema = json.RawMessage(`{"type":"object","properties":{"event":{"type":"string","enum":["ADD","UPDATE","DELETE","NONE"]},"id":{"type":"string","maxLength":64},"text":{"type":"string","maxLength":300}},"required":["event","id","text"]}`)

const extractPrompt = `You pick out lasting facts and preferences about the USER from what the USER said. Rules:
- Only what the USER said about themselves: never the assistant's words, never general knowledge, never questions or requests.
- One short sentence per memory, in the USER's language, about the user ("Has a dog named Rex", "Prefers window seats").
- source is "stated" when the USER said it outright, "inferred" when it follows from what they said.
- source_quote must copy, word for word, the USER's words the memory rests on.
- Nothing worth keeping: return {"memories": []}.
Reply with JSON only.`

const decidePrompt = `You keep a person's memory up to date. Given a NEW fact about the person and EXISTING memories, decide:
- ADD: the new fact is new information.
- UPDATE: it changes or adds detail to one existing memory: give that memory's id and the merged text.
- DELETE: it says an existing memory is no longer true and leaves nothing to keep: give that memory's id.
- NONE: it is already known.
Reply with JSON only: {"event": "...", "id": "...", "text": "..."}.`

// maxExtractOutput bounds the model's JSON, so a rambling model cannot
// stall background work.
const maxExtractOutput = 768

// extractor runs one extraction with a model.
type extractor struct {
	a       *Agent
	backend Backend
	model   string
	numCtx  int
}

func (a *Agent) enqueueExtraction(b Backend, model string, numCtx int, user memory.Message, thread []memory.Message) {
	// Context for the model: the assistant message the person answered,
	// which is never a source itself.
	var before string
	if n := len(thread); n >= 2 && thread[n-2].Role == memory.RoleAssistant {
		before = thread[n-2].Content
	}
	x := extractor{a: a, backend: b, model: model, numCtx: numCtx}
	a.bg.enqueue("extract memories", func(ctx context.Context) error {
		rep := x.run(ctx, user, before)
		if errors.Is(context.Cause(ctx), errPreempted) {
			return ctx.Err() // runs again after the reply
		}
		a.mu.Lock()
		a.stats.Runs++
		a.stats.Proposed += rep.Proposed
		a.stats.Stored += rep.Stored
		a.stats.Dropped += rep.Dropped
		if rep.Junk {
			a.stats.Junk++
		}
		a.mu.Unlock()
		a.log.Info("memory extraction", "conversation", rep.ConversationID, "proposed", rep.Proposed, "stored", rep.Stored, "dropped", rep.Dropped, "junk", rep.Junk, "reasons", rep.Reasons)
		if a.cfg.OnExtraction != nil {
			a.cfg.OnExtraction(rep)
		}
		if rep.Err != "" {
			return errors.New(rep.Err)
		}
		return nil
	})
}

// Extract runs extraction on one user message now, in the foreground.
// The CLI and tests use it; chat turns queue it in the background.
func (a *Agent) Extract(ctx context.Context, model string, user memory.Message, before string) (ExtractionReport, error) {
	b, name, err := a.backends.Resolve(cmp.Or(model, a.cfg.Model))
	if err != nil {
		return ExtractionReport{}, err
	}
	x := extractor{a: a, backend: b, model: name, numCtx: a.NumCtx(cmp.Or(model, a.cfg.Model))}
	rep := x.run(ctx, user, before)
	if rep.Err != "" {
		return rep, errors.New(rep.Err)
	}
	return rep, nil
}

func (x *extractor) ask(ctx context.Context, system, content string, schema json.RawMessage, dst any) (bool, error) {
	temp := 0.0
	resp, err := x.backend.Chat(ctx, ChatRequest{
		Model: x.model, NumCtx: x.numCtx, NumPredict: maxExtractOutput, Format: schema, Temperature: &temp, Seed: x.a.cfg.Seed,
		Messages: []Message{{Role: "system", Content: system}, {Role: "user", Content: content}},
	}, nil)
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(resp.Message.Content)), dst); err != nil {
		// The output itself stays out of the log: it may echo the person.
		x.a.log.Warn("memory extraction: model output is not the JSON asked for; nothing changed", "model", x.model, "err", safeErr(err), "bytes", len(resp.Message.Content))
		return false, nil
	}
	return true, nil
}

func (x *extractor) run(ctx context.Context, user memory.Message, before string) ExtractionReport {
	rep := ExtractionReport{ConversationID: user.ConversationID, MessageID: user.ID}
	var in strings.Builder
	if before != "" {
		fmt.Fprintf(&in, "ASSISTANT (context only, not a source):\n%s\n\n", clip(before, 1500))
	}
	fmt.Fprintf(&in, "USER:\n%s", user.Content)
	var out struct {
		Memories []proposal `json:"memories"`
	}
	ok, err := x.ask(ctx, extractPrompt, in.String(), extractSchema, &out)
	if err != nil {
		rep.Err = err.Error()
		return rep
	}
	if !ok {
		rep.Junk = true
		return rep
	}
	said := normalize(user.Content)
	var seen []string
	for _, p := range out.Memories {
		rep.Proposed++
		p.Text = strings.Join(strings.Fields(p.Text), " ")
		kind := memory.ItemKind(p.Kind)
		source := memory.Source(p.Source)
		switch {
		case len(p.Text) < 3 || len(p.Text) > 700 || (kind != memory.Fact && kind != memory.Preference) ||
			(source != memory.SourceStated && source != memory.SourceInferred):
			rep.drop(DropInvalid)
			continue
		case !quoted(said, p.Quote):
			rep.drop(DropNoQuote)
			continue
		}
		key := normalize(p.Text)
		if slices.Contains(seen, key) {
			rep.drop(DropDuplicate)
			continue
		}
		seen = append(seen, key)
		if err := x.apply(ctx, &rep, p, kind, source, user); err != nil {
			if ctx.Err() != nil {
				rep.Err = ctx.Err().Error()
				return rep
			}
			x.a.log.Warn("memory extraction: storing failed", "err", safeErr(err))
			rep.drop(DropFailed)
		}
	}
	return rep
}

// apply compares a proposal with similar memories and acts on it.
func (x *extractor) apply(ctx context.Context, rep *ExtractionReport, p proposal, kind memory.ItemKind, source memory.Source, user memory.Message) error {
	store := x.a.store
	similar, err := store.Search(ctx, memory.Query{Text: p.Text, Limit: 5})
	if err != nil && !errors.Is(err, memory.ErrNoEmbedder) {
		return err
	}
	key := normalize(p.Text)
	for _, s := range similar {
		if normalize(s.Item.Text) == key {
			// The same memory again: link the message to it.
			if err := x.link(ctx, s.Item, user.ID); err != nil {
				return err
			}
			rep.drop(DropDuplicate)
			return nil
		}
	}
	event, target, text := EventAdd, "", p.Text
	if len(similar) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "NEW: %s\n\nEXISTING:\n", p.Text)
		for _, s := range similar {
			b.WriteString(memoryLine(s.Item))
		}
		var d struct {
			Event string `json:"event"`
			ID    string `json:"id"`
			Text  string `json:"text"`
		}
		ok, err := x.ask(ctx, decidePrompt, b.String(), decideSchema, &d)
		if err != nil {
			return err
		}
		valid := slices.ContainsFunc(similar, func(r memory.Result) bool { return r.Item.ID == d.ID })
		d.Text = strings.Join(strings.Fields(d.Text), " ")
		switch {
		case !ok:
			rep.drop(DropDecision)
			return nil
		case d.Event == EventAdd:
		case d.Event == EventNone:
			if valid {
				if err := x.link(ctx, findItem(similar, d.ID), user.ID); err != nil {
					return err
				}
			}
			rep.drop(DropKnown)
			return nil
		case (d.Event == EventUpdate || d.Event == EventDelete) && valid:
			event, target = d.Event, d.ID
			if d.Event == EventUpdate && len(d.Text) >= 3 && len(d.Text) <= 500 {
				text = d.Text
			}
		default:
			rep.drop(DropDecision)
			return nil
		}
	}
	act := Action{Event: event, MemoryID: target, Text: text, Source: source}
	switch event {
	case EventAdd:
		item, err := store.Add(ctx, memory.NewItem{Kind: kind, Text: text, Source: source, Quote: p.Quote, MessageIDs: []string{user.ID}})
		if err != nil {
			return err
		}
		act.MemoryID = item.ID
	case EventUpdate:
		old := findItem(similar, target)
		ids := appendID(old.MessageIDs, user.ID)
		quote := p.Quote
		if _, err := store.Edit(ctx, target, memory.Patch{Text: &text, MessageIDs: &ids, Quote: &quote, Source: &source}); err != nil {
			return err
		}
	case EventDelete:
		// Soft: the person can undo what the model decided.
		if _, err := store.SoftForget(ctx, target, "no longer true, from what you said: “"+clip(p.Quote, 200)+"”"); err != nil {
			return err
		}
		act.Text = findItem(similar, target).Text
	}
	rep.Stored++
	rep.Actions = append(rep.Actions, act)
	return nil
}

// link records that a message supports an existing memory.
func (x *extractor) link(ctx context.Context, it memory.Item, msgID string) error {
	if slices.Contains(it.MessageIDs, msgID) {
		return nil
	}
	ids := appendID(it.MessageIDs, msgID)
	_, err := x.a.store.Edit(ctx, it.ID, memory.Patch{MessageIDs: &ids})
	return err
}

func appendID(ids []string, id string) []string {
	out := append(slices.Clone(ids), id)
	if len(out) > 64 {
		out = out[len(out)-64:]
	}
	return out
}

func findItem(res []memory.Result, id string) memory.Item {
	for _, r := range res {
		if r.Item.ID == id {
			return r.Item
		}
	}
	return memory.Item{}
}

// normalize folds case, width, spacing and punctuation, so a quote matches
// however the model re-spaced or re-punctuated it.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// quoted reports whether quote, normalised, is in what the person said.
// It must hold at least two letters: "I" or "ok" proves nothing.
func quoted(said, quote string) bool {
	q := normalize(quote)
	letters := 0
	for _, r := range q {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters < 2 {
		return false
	}
	return strings.Contains(" "+said+" ", " "+q+" ") || (!strings.Contains(q, " ") && letters >= 4 && strings.Contains(said, q))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
