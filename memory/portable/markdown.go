package portable

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/cairnlabs/cairn/memory"
)

// Reader is what the Markdown export reads of a vault.
type Reader interface {
	List(ctx context.Context, o memory.ListOptions) ([]memory.Item, error)
	Conversations(ctx context.Context, limit int) ([]memory.Conversation, error)
	Messages(ctx context.Context, conversationID string) ([]memory.Message, error)
}

// MarkdownSummary counts what the Markdown export wrote.
type MarkdownSummary struct {
	Memories      int `json:"memories"`
	Conversations int `json:"conversations"`
	Messages      int `json:"messages"`
}

// ExportMarkdown writes a folder for people to read: memories.md (the
// memories by kind) and conversations/, one file per conversation with
// every message of every branch. It holds one conversation in memory at a
// time. The folder must not exist yet or be empty. Markdown is for
// reading: import does not read it back (use JSONL for that).
func ExportMarkdown(ctx context.Context, v Reader, f Filter, dir string) (MarkdownSummary, error) {
	var sum MarkdownSummary
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return sum, fmt.Errorf("%s is not empty: export Markdown into a new folder", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "conversations"), 0o700); err != nil {
		return sum, err
	}
	wantKind := func(k memory.Kind) bool { return len(f.Kinds) == 0 || slices.Contains(f.Kinds, k) }
	if wantKind(memory.KindMemory) {
		items, err := v.List(ctx, memory.ListOptions{})
		if err != nil {
			return sum, err
		}
		items = slices.DeleteFunc(items, func(it memory.Item) bool {
			return !f.inRange(it.CreatedAt) || (len(f.Tags) > 0 && !slices.ContainsFunc(it.Tags, func(t string) bool { return slices.Contains(f.Tags, t) }))
		})
		if err := writeFile(filepath.Join(dir, "memories.md"), func(w io.Writer) error { return writeMemories(w, items) }); err != nil {
			return sum, err
		}
		sum.Memories = len(items)
	}
	if !wantKind(memory.KindConversation) || len(f.Tags) > 0 {
		return sum, nil
	}
	convs, err := v.Conversations(ctx, 0)
	if err != nil {
		return sum, err
	}
	for _, c := range convs {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if !f.inRange(c.CreatedAt) {
			continue
		}
		msgs, err := v.Messages(ctx, c.ID)
		if err != nil {
			return sum, err
		}
		name := fmt.Sprintf("%s-%s-%s.md", c.CreatedAt.Format("2006-01-02"), slug(c.Title), shortID(c.ID))
		if err := writeFile(filepath.Join(dir, "conversations", name), func(w io.Writer) error { return writeConversation(w, c, msgs) }); err != nil {
			return sum, err
		}
		sum.Conversations++
		sum.Messages += len(msgs)
	}
	return sum, nil
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeMemories(w io.Writer, items []memory.Item) error {
	fmt.Fprintf(w, "# Memories\n\n%d memories, exported from Cairn.\n", len(items))
	for _, k := range memory.ItemKinds {
		first := true
		for _, it := range items {
			if it.Kind != k {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n## %s\n\n", titleCase(string(k)))
				first = false
			}
			line := "- " + oneLine(it.Text)
			if it.Pinned {
				line += " 📌"
			}
			if len(it.Tags) > 0 {
				line += " _(#" + strings.Join(it.Tags, ", #") + ")_"
			}
			line += fmt.Sprintf(" <sub>%s</sub>\n", it.CreatedAt.Format("2006-01-02"))
			if _, err := io.WriteString(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeConversation(w io.Writer, c memory.Conversation, msgs []memory.Message) error {
	title := c.Title
	if title == "" {
		title = "Untitled conversation"
	}
	fmt.Fprintf(w, "# %s\n\n", oneLine(title))
	fmt.Fprintf(w, "Started %s", c.CreatedAt.Format("2006-01-02 15:04 MST"))
	if c.Model != "" {
		fmt.Fprintf(w, " with %s", c.Model)
	}
	fmt.Fprintf(w, "; %d messages.\n", len(msgs))
	// Messages come oldest first; a message whose parent already has an
	// earlier child starts a branch, and says so.
	children := map[string]int{}
	for _, m := range msgs {
		heading := titleCase(string(m.Role))
		if m.Role == memory.RoleTool && m.ToolName != "" {
			heading += " (" + m.ToolName + ")"
		}
		if m.Model != "" && m.Role == memory.RoleAssistant {
			heading += " · " + m.Model
		}
		children[m.ParentID]++
		if children[m.ParentID] > 1 {
			heading += fmt.Sprintf(" · branch %d", children[m.ParentID])
		}
		if _, err := fmt.Fprintf(w, "\n## %s\n<sub>%s · id %s</sub>\n\n%s\n", heading, m.CreatedAt.Format("2006-01-02 15:04"), m.ID, m.Content); err != nil {
			return err
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// slug makes a file-name-safe part of a title: letters and digits of any
// script, dashes between words, at most 48 bytes.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			if b.Len()+len(string(r)) > 48 {
				break
			}
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "untitled"
	}
	return b.String()
}

func shortID(id string) string {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return id
}
