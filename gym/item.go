package gym

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is a dataset format, as Hugging Face TRL's trainers read it.
type Format string

// The formats (conversational forms).
const (
	// SFT rows are {"messages": [...]}: a conversation to imitate.
	SFT Format = "sft"
	// DPO rows are {"prompt": [...], "chosen": [...], "rejected": [...]}.
	DPO Format = "dpo"
	// KTO rows are {"prompt": [...], "completion": [...], "label": bool}.
	KTO Format = "kto"
	// Rating rows are {"prompt": [...], "completion": [...], "ratings":
	// {"rubric item": score}}: a rate task's result (FORMATS.md).
	Rating Format = "rating"
	// Label rows are {"prompt": [...], "completion": [...], "labels":
	// ["tag", ...]}: a label task's result (FORMATS.md).
	Label Format = "label"
)

// TaskFormats are the formats only task results have.
var TaskFormats = []Format{Rating, Label}

// Formats lists the formats, for help texts and validation.
var Formats = []Format{SFT, DPO, KTO}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Formats, f) {
		return "", fmt.Errorf("format %q: use sft, dpo or kto", s)
	}
	return f, nil
}

// Turn is one message of a conversation, as TRL's conversational rows hold
// it.
type Turn struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Item is one training example: a row of one format, plus its format. It
// is what a contribution carries, one JSON object each, and its hash is
// the SHA-256 of those exact bytes.
type Item struct {
	Format     Format `json:"format"`
	Messages   []Turn `json:"messages,omitempty"`
	Prompt     []Turn `json:"prompt,omitempty"`
	Chosen     []Turn `json:"chosen,omitempty"`
	Rejected   []Turn `json:"rejected,omitempty"`
	Completion []Turn `json:"completion,omitempty"`
	Label      *bool  `json:"label,omitempty"`
	// Ratings and Labels are a rate or label task's result.
	Ratings map[string]int `json:"ratings,omitempty"`
	Labels  []string       `json:"labels,omitempty"`
	// Task is the id of the gym task this item answers (none for
	// feedback), and Reason the contributor's reason for a choice.
	Task   string `json:"task,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Row is the item as a TRL JSONL row: its format's fields only.
func (it *Item) Row() any {
	switch it.Format {
	case SFT:
		return struct {
			Messages []Turn `json:"messages"`
		}{it.Messages}
	case DPO:
		return struct {
			Prompt   []Turn `json:"prompt"`
			Chosen   []Turn `json:"chosen"`
			Rejected []Turn `json:"rejected"`
		}{it.Prompt, it.Chosen, it.Rejected}
	case Rating:
		return struct {
			Prompt     []Turn         `json:"prompt"`
			Completion []Turn         `json:"completion"`
			Ratings    map[string]int `json:"ratings"`
		}{it.Prompt, it.Completion, it.Ratings}
	case Label:
		return struct {
			Prompt     []Turn   `json:"prompt"`
			Completion []Turn   `json:"completion,omitempty"`
			Labels     []string `json:"labels"`
		}{it.Prompt, it.Completion, it.Labels}
	default:
		label := it.Label != nil && *it.Label
		return struct {
			Prompt     []Turn `json:"prompt"`
			Completion []Turn `json:"completion"`
			Label      bool   `json:"label"`
		}{it.Prompt, it.Completion, label}
	}
}

// Encode is the item's canonical bytes: what is reviewed, signed, sent,
// stored by the gym and hashed.
func (it *Item) Encode() []byte {
	b, err := json.Marshal(it)
	if err != nil {
		panic(err) // strings and bools only: cannot fail
	}
	return b
}

// Hash is the hex SHA-256 of an item's bytes.
func Hash(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

var roles = []string{"system", "user", "assistant"}

// DecodeItem parses and checks an item received from elsewhere: known
// fields only, the fields its format needs, and canonical bytes (so that
// one example has one hash).
func DecodeItem(raw []byte) (Item, error) {
	var it Item
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&it); err != nil {
		return it, fmt.Errorf("item is not an item object: %v", err)
	}
	if err := it.validate(); err != nil {
		return it, err
	}
	if !bytes.Equal(it.Encode(), raw) {
		return it, fmt.Errorf("item is not in canonical form (re-encoding it gives other bytes)")
	}
	return it, nil
}

func (it *Item) validate() error {
	conv := func(name string, ts []Turn, last string) error {
		if len(ts) == 0 {
			return fmt.Errorf("%s item has no %s", it.Format, name)
		}
		for _, t := range ts {
			if !slices.Contains(roles, t.Role) {
				return fmt.Errorf("%s: role %q is not system, user or assistant", name, t.Role)
			}
			if strings.TrimSpace(t.Content) == "" || !utf8.ValidString(t.Content) {
				return fmt.Errorf("%s: a %s turn is empty or not UTF-8", name, t.Role)
			}
		}
		if last != "" && ts[len(ts)-1].Role != last {
			return fmt.Errorf("%s must end with a %s turn", name, last)
		}
		return nil
	}
	none := func(fields ...bool) error {
		if slices.Contains(fields, true) {
			return fmt.Errorf("%s item carries fields of another format", it.Format)
		}
		return nil
	}
	if len(it.Task) > 64 || len(it.Reason) > 4096 {
		return fmt.Errorf("%s item: task id over 64 or reason over 4096 bytes", it.Format)
	}
	if it.Format != Rating && it.Format != Label && (it.Ratings != nil || it.Labels != nil) {
		return fmt.Errorf("%s item carries fields of another format", it.Format)
	}
	switch it.Format {
	case Rating, Label:
		if it.Task == "" {
			return fmt.Errorf("a %s item answers a task: it needs its task id", it.Format)
		}
		if err := none(it.Messages != nil, it.Chosen != nil, it.Rejected != nil, it.Label != nil); err != nil {
			return err
		}
		if err := conv("prompt", it.Prompt, "user"); err != nil {
			return err
		}
		if it.Format == Rating {
			if len(it.Ratings) == 0 || it.Labels != nil {
				return fmt.Errorf("a rating item has ratings (rubric item to score) and no labels")
			}
			return conv("completion", it.Completion, "assistant")
		}
		if len(it.Labels) == 0 || it.Ratings != nil {
			return fmt.Errorf("a label item has labels and no ratings")
		}
		if it.Completion == nil {
			return nil
		}
		return conv("completion", it.Completion, "assistant")
	case SFT:
		if err := none(it.Prompt != nil, it.Chosen != nil, it.Rejected != nil, it.Completion != nil, it.Label != nil); err != nil {
			return err
		}
		return conv("messages", it.Messages, "assistant")
	case DPO:
		if err := none(it.Messages != nil, it.Completion != nil, it.Label != nil); err != nil {
			return err
		}
		if err := conv("prompt", it.Prompt, "user"); err != nil {
			return err
		}
		if err := conv("chosen", it.Chosen, "assistant"); err != nil {
			return err
		}
		return conv("rejected", it.Rejected, "assistant")
	case KTO:
		if err := none(it.Messages != nil, it.Chosen != nil, it.Rejected != nil); err != nil {
			return err
		}
		if it.Label == nil {
			return fmt.Errorf("kto item has no label")
		}
		if err := conv("prompt", it.Prompt, "user"); err != nil {
			return err
		}
		return conv("completion", it.Completion, "assistant")
	}
	return fmt.Errorf("format %q: use sft, dpo or kto", it.Format)
}
