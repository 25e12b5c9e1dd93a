package portable

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory"
)

// Feed is what export needs of a vault: its change feed, opened.
type Feed interface {
	OpenChanges(ctx context.Context, after int64, limit int) ([]memory.PlainChange, error)
}

// Filter picks what to export; the zero Filter is the whole vault.
type Filter struct {
	// Kinds are record kinds (memory, conversation, message, feedback, …);
	// empty means every kind.
	Kinds []memory.Kind `json:"kinds,omitempty"`
	// Tags keep memories with at least one of them; records without tags
	// (conversations, messages, feedback) are left out when Tags is set.
	Tags []string `json:"tags,omitempty"`
	// Since and Until bound the created_at of memories and conversations
	// (Until exclusive); messages and feedback follow their conversation.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

func (f *Filter) byContent() bool { return len(f.Tags) > 0 || !f.Since.IsZero() || !f.Until.IsZero() }

func (f *Filter) inRange(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || t.Before(f.Until))
}

// RecordWriter takes exported records one at a time.
type RecordWriter interface {
	Write(r *memory.PlainRecord) error
}

// ExportSummary counts what export wrote.
type ExportSummary struct {
	Records int            `json:"records"`
	ByKind  map[string]int `json:"by_kind"`
	// Forgotten counts, per kind, the tombstones among the records (also
	// in ByKind): forgets that travel so the other side forgets too, not
	// things the person has.
	Forgotten map[string]int `json:"forgotten,omitempty"`
	// Unreadable are records this vault could not open (damaged, or sealed
	// under another key epoch); they are left out and named here.
	Unreadable []string `json:"unreadable,omitempty"`
}

const exportPage = 500

// payloadHead is what filters read of a payload.
type payloadHead struct {
	Tags           []string  `json:"tags"`
	ConversationID string    `json:"conversation_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// Export writes the vault's current records, those the filter keeps, in
// change order (oldest change first), reading the feed a page at a time.
// Tombstones go too (so a forget reaches the other device), unless the
// filter is by tag or date: a tombstone has neither.
func Export(ctx context.Context, v Feed, f Filter, w RecordWriter) (ExportSummary, error) {
	for i, t := range f.Tags {
		f.Tags[i] = strings.ToLower(strings.TrimSpace(t))
	}
	sum := ExportSummary{ByKind: map[string]int{}}
	var convs map[string]bool
	if !f.Since.IsZero() || !f.Until.IsZero() {
		var err error
		if convs, err = conversationsInRange(ctx, v, &f); err != nil {
			return sum, err
		}
	}
	err := eachChange(ctx, v, func(c *memory.PlainChange) error {
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, c.Kind) {
			return nil
		}
		if c.Err != nil {
			sum.Unreadable = append(sum.Unreadable, c.ID)
			return nil
		}
		if f.byContent() && !keep(&f, convs, c) {
			return nil
		}
		if err := w.Write(&c.PlainRecord); err != nil {
			return err
		}
		sum.Records++
		sum.ByKind[string(c.Kind)]++
		if c.Deleted {
			if sum.Forgotten == nil {
				sum.Forgotten = map[string]int{}
			}
			sum.Forgotten[string(c.Kind)]++
		}
		return nil
	})
	return sum, err
}

func keep(f *Filter, convs map[string]bool, c *memory.PlainChange) bool {
	if c.Deleted {
		return false
	}
	var h payloadHead
	if json.Unmarshal(c.Payload, &h) != nil {
		return false
	}
	if len(f.Tags) > 0 {
		if c.Kind != memory.KindMemory || !slices.ContainsFunc(h.Tags, func(t string) bool { return slices.Contains(f.Tags, t) }) {
			return false
		}
	}
	if convs == nil {
		return true
	}
	switch c.Kind {
	case memory.KindConversation:
		return convs[c.ID]
	case memory.KindMessage, memory.KindFeedback:
		return convs[h.ConversationID]
	}
	return f.inRange(h.CreatedAt)
}

// conversationsInRange is the set of conversation ids the date range
// keeps: ids only, so it stays small however long the conversations.
func conversationsInRange(ctx context.Context, v Feed, f *Filter) (map[string]bool, error) {
	out := map[string]bool{}
	err := eachChange(ctx, v, func(c *memory.PlainChange) error {
		if c.Kind != memory.KindConversation || c.Deleted || c.Err != nil {
			return nil
		}
		var h payloadHead
		if json.Unmarshal(c.Payload, &h) == nil && f.inRange(h.CreatedAt) {
			out[c.ID] = true
		}
		return nil
	})
	return out, err
}

func eachChange(ctx context.Context, v Feed, fn func(*memory.PlainChange) error) error {
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := v.OpenChanges(ctx, after, exportPage)
		if err != nil {
			return fmt.Errorf("read the vault: %w", err)
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// JSONLWriter writes Cairn JSONL: a header line, then one record a line.
type JSONLWriter struct {
	w   *bufio.Writer
	buf bytes.Buffer
}

// NewJSONLWriter writes the header line and returns the writer; call
// Flush at the end.
func NewJSONLWriter(w io.Writer) (*JSONLWriter, error) {
	j := &JSONLWriter{w: bufio.NewWriterSize(w, 256<<10)}
	hdr, _ := json.Marshal(jsonlHeader())
	if _, err := j.w.Write(append(hdr, '\n')); err != nil {
		return nil, err
	}
	return j, nil
}

// Write writes one record line.
func (j *JSONLWriter) Write(r *memory.PlainRecord) error {
	j.buf.Reset()
	if err := encodeLine(&j.buf, r); err != nil {
		return err
	}
	_, err := j.w.Write(j.buf.Bytes())
	return err
}

// Flush writes what is buffered.
func (j *JSONLWriter) Flush() error { return j.w.Flush() }

// Export formats.
const (
	FormatBundle   = "bundle"
	FormatJSONL    = "jsonl"
	FormatMarkdown = "markdown"
)

// ExportStream writes the vault to w as a bundle encrypted to the
// recipients, or as JSONL (recipients nil).
func ExportStream(ctx context.Context, v Feed, w io.Writer, format string, f Filter, recipients ...age.Recipient) (ExportSummary, error) {
	switch format {
	case FormatBundle:
		if len(recipients) == 0 {
			return ExportSummary{}, errors.New("a bundle needs a passphrase or a recipient's public key to encrypt to")
		}
		hdr := BundleHeader{CreatedAt: time.Now().UTC().Truncate(time.Second)}
		if f.byContent() || len(f.Kinds) > 0 {
			hdr.Filter = &f
		}
		bw, err := NewBundleWriter(w, hdr, recipients...)
		if err != nil {
			return ExportSummary{}, err
		}
		sum, err := Export(ctx, v, f, bw)
		if err != nil {
			return sum, err
		}
		return sum, bw.Close()
	case FormatJSONL:
		jw, err := NewJSONLWriter(w)
		if err != nil {
			return ExportSummary{}, err
		}
		sum, err := Export(ctx, v, f, jw)
		if err != nil {
			return sum, err
		}
		return sum, jw.Flush()
	}
	return ExportSummary{}, fmt.Errorf("unknown export format %q: use bundle, jsonl or markdown", format)
}
