package gym

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cairnlabs/cairn/memory"
)

// Vault is what the gym needs of the person's vault: feedback, the
// conversations it is about, and memories (for the names to redact).
type Vault interface {
	FeedbackOn(ctx context.Context, messageID string) ([]memory.Feedback, error)
	Messages(ctx context.Context, conversationID string) ([]memory.Message, error)
	List(ctx context.Context, o memory.ListOptions) ([]memory.Item, error)
}

// Example is a training example built from feedback, before redaction.
type Example struct {
	Item
	// Feedback is the id of the feedback record it came from (it stays
	// on this device: it is not part of the item).
	Feedback string
}

// Examples turns the vault's feedback into training examples of one
// format, oldest feedback first:
//
//   - SFT: the conversation up to a reply rated good, preferred among its
//     regenerations, or corrected (with the correction as the reply);
//   - DPO: a correction over the reply it corrects, a preferred reply over
//     each of its siblings, a reply rated good over a sibling rated bad;
//   - KTO: a rated reply with its rating as the label, a correction as a
//     good completion, and the corrected reply as a bad one.
//
// Replies cut short, and turns the prompt cannot carry (tool calls and
// results), are left out.
func Examples(ctx context.Context, v Vault, f Format) ([]Example, error) {
	fbs, err := v.FeedbackOn(ctx, "")
	if err != nil {
		return nil, err
	}
	b := builder{convs: map[string]*conversation{}, seen: map[string]bool{}, byConv: map[string][]memory.Feedback{}}
	for _, fb := range fbs {
		b.byConv[fb.ConversationID] = append(b.byConv[fb.ConversationID], fb)
	}
	for _, fb := range fbs {
		c, err := b.conversation(ctx, v, fb.ConversationID)
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		b.add(c, fb, f)
	}
	return b.out, nil
}

// WriteJSONL writes examples as TRL JSONL rows, one a line.
func WriteJSONL(w io.Writer, items []Item) error {
	enc := json.NewEncoder(w)
	for i := range items {
		if err := enc.Encode(items[i].Row()); err != nil {
			return fmt.Errorf("write row %d: %w", i+1, err)
		}
	}
	return nil
}

type conversation struct {
	byID     map[string]memory.Message
	children map[string][]memory.Message // by parent id
	feedback map[string][]memory.Feedback
}

type builder struct {
	convs  map[string]*conversation
	byConv map[string][]memory.Feedback
	seen   map[string]bool
	out    []Example
}

func (b *builder) conversation(ctx context.Context, v Vault, id string) (*conversation, error) {
	if c, ok := b.convs[id]; ok {
		return c, nil
	}
	msgs, err := v.Messages(ctx, id)
	if err != nil {
		if errors.Is(err, memory.ErrNotFound) { // deleted since
			b.convs[id] = nil
			return nil, nil
		}
		return nil, fmt.Errorf("read conversation %s: %w", id, err)
	}
	c := &conversation{byID: map[string]memory.Message{}, children: map[string][]memory.Message{}, feedback: map[string][]memory.Feedback{}}
	for _, m := range msgs {
		c.byID[m.ID] = m
		c.children[m.ParentID] = append(c.children[m.ParentID], m)
	}
	for _, fb := range b.byConv[id] {
		c.feedback[fb.MessageID] = append(c.feedback[fb.MessageID], fb)
	}
	b.convs[id] = c
	return c, nil
}

// prompt is the thread from the first message to the reply's parent;
// false when it cannot be a prompt (a tool turn, or no user turn last).
func (c *conversation) prompt(reply memory.Message) ([]Turn, bool) {
	var rev []Turn
	for id := reply.ParentID; id != ""; {
		m, ok := c.byID[id]
		if !ok {
			return nil, false
		}
		if m.Role == memory.RoleTool || len(m.ToolCalls) > 0 || strings.TrimSpace(m.Content) == "" {
			return nil, false
		}
		rev = append(rev, Turn{Role: string(m.Role), Content: m.Content})
		id = m.ParentID
	}
	slices.Reverse(rev)
	if len(rev) == 0 || rev[len(rev)-1].Role != "user" {
		return nil, false
	}
	return rev, true
}

// rating is the latest rating given to a message (0 for none).
func (c *conversation) rating(id string) int {
	r := 0
	for _, fb := range c.feedback[id] {
		if fb.Rating != 0 {
			r = fb.Rating
		}
	}
	return r
}

func usable(m memory.Message) bool {
	return m.Role == memory.RoleAssistant && !m.Incomplete && len(m.ToolCalls) == 0 && strings.TrimSpace(m.Content) != ""
}

func assistant(s string) []Turn { return []Turn{{Role: "assistant", Content: s}} }

func (b *builder) emit(fb memory.Feedback, it Item) {
	h := Hash(it.Encode())
	if b.seen[h] {
		return
	}
	b.seen[h] = true
	b.out = append(b.out, Example{Item: it, Feedback: fb.ID})
}

func (b *builder) add(c *conversation, fb memory.Feedback, f Format) {
	m, ok := c.byID[fb.MessageID]
	if !ok || !usable(m) {
		return
	}
	prompt, ok := c.prompt(m)
	if !ok {
		return
	}
	var siblings []memory.Message
	for _, s := range c.children[m.ParentID] {
		if s.ID != m.ID && usable(s) && s.Content != m.Content {
			siblings = append(siblings, s)
		}
	}
	slices.SortFunc(siblings, func(a, b memory.Message) int { return cmp.Compare(a.ID, b.ID) })
	yes, no := true, false
	switch f {
	case SFT:
		text := ""
		switch {
		case fb.Correction != "":
			text = fb.Correction
		case fb.Rating > 0 || fb.Preferred:
			text = m.Content
		}
		if text != "" {
			b.emit(fb, Item{Format: SFT, Messages: append(slices.Clone(prompt), assistant(text)...)})
		}
	case DPO:
		if fb.Correction != "" && fb.Correction != m.Content {
			b.emit(fb, Item{Format: DPO, Prompt: prompt, Chosen: assistant(fb.Correction), Rejected: assistant(m.Content)})
		}
		for _, s := range siblings {
			if fb.Preferred || (fb.Rating > 0 && c.rating(s.ID) < 0) {
				b.emit(fb, Item{Format: DPO, Prompt: prompt, Chosen: assistant(m.Content), Rejected: assistant(s.Content)})
			}
		}
	case KTO:
		switch {
		case fb.Rating > 0 || fb.Preferred:
			b.emit(fb, Item{Format: KTO, Prompt: prompt, Completion: assistant(m.Content), Label: &yes})
		case fb.Rating < 0 || fb.Correction != "":
			b.emit(fb, Item{Format: KTO, Prompt: prompt, Completion: assistant(m.Content), Label: &no})
		}
		if fb.Correction != "" && fb.Correction != m.Content {
			b.emit(fb, Item{Format: KTO, Prompt: prompt, Completion: assistant(fb.Correction), Label: &yes})
		}
	}
}
