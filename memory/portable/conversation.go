package portable

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/memory"
)

// Conversation is a conversation from another assistant's export, as an
// importer reads it; Records turns it into Cairn records.
type Conversation struct {
	// Source names the assistant ("chatgpt", "claude", "openwebui"); with
	// SourceID it makes the stable ids and the origin of the records.
	Source    string
	SourceID  string
	Title     string
	Model     string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Messages in an order where every parent comes before its children.
	Messages []Message
}

// Message is one message of an imported conversation.
type Message struct {
	SourceID string
	// ParentID is the SourceID of the message it follows; "" for a root.
	// Siblings under one parent are branches.
	ParentID  string
	Role      memory.Role
	Content   string
	Model     string
	ToolName  string
	CreatedAt time.Time
}

type conversationPayload struct {
	Title     string    `json:"title"`
	Model     string    `json:"model,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type messagePayload struct {
	ConversationID string      `json:"conversation_id"`
	CreatedAt      time.Time   `json:"created_at"`
	ParentID       string      `json:"parent_id,omitempty"`
	Role           memory.Role `json:"role"`
	Content        string      `json:"content"`
	Model          string      `json:"model,omitempty"`
	ToolName       string      `json:"tool_name,omitempty"`
}

// Emit yields the conversation's records: the conversation, then each
// message that has content, re-parented past the ones skipped. Ids are
// derived from the source's ids and clocks from its times, so the same
// export imported twice gives the same records.
func (c *Conversation) Emit(emit func(Entry) error) error {
	what := fmt.Sprintf("%s conversation %q", c.Source, clip(c.Title, 60))
	convID := DerivedID(c.Source, "conversation", c.SourceID)
	origin := ImportOrigin + "-" + c.Source
	created := ms(c.CreatedAt)
	if created.IsZero() {
		for _, m := range c.Messages {
			if !m.CreatedAt.IsZero() {
				created = ms(m.CreatedAt)
				break
			}
		}
	}
	if created.IsZero() {
		return emit(Entry{What: what, Skip: "no time anywhere in the conversation"})
	}
	updated := ms(c.UpdatedAt)
	if updated.Before(created) {
		updated = created
	}
	// Keep the messages with something to say; skipped ones hand their
	// children to their own parent. Parents go first, whatever order the
	// source listed them in.
	c.Messages = parentsFirst(c.Messages)
	ids := map[string]string{} // source id -> cairn id, "" for skipped (then parent's)
	parentOf := map[string]string{}
	var recs []memory.PlainRecord
	var skips []Entry
	for _, m := range c.Messages {
		parent, known := ids[m.ParentID]
		if m.ParentID != "" && !known {
			parent = "" // broken link: it starts a tree of its own
		}
		content := strings.ToValidUTF8(m.Content, "\uFFFD")
		why := ""
		switch {
		case m.Role == "":
			// A structural node (a tree's root): not a message at all.
			ids[m.SourceID] = parent
			continue
		case strings.TrimSpace(content) == "":
			why = "empty message (no text: e.g. a hidden system message or an image only)"
		case len(content) > memory.MaxMessageBytes:
			why = "message over 1 MiB"
		}
		if why != "" {
			ids[m.SourceID] = parent
			parentOf[m.SourceID] = parent
			skips = append(skips, Entry{What: what + " message " + m.SourceID, Skip: why})
			continue
		}
		id := DerivedID(c.Source, "message", c.SourceID, m.SourceID)
		ids[m.SourceID] = id
		at := ms(m.CreatedAt)
		if at.IsZero() {
			at = created
		}
		p := messagePayload{ConversationID: convID, CreatedAt: at, ParentID: parent, Role: m.Role, Content: content, Model: clip(cleanTitle(m.Model), memory.MaxModelBytes), ToolName: clip(cleanTitle(m.ToolName), 200)}
		if p.Role != memory.RoleTool {
			p.ToolName = ""
		}
		raw, err := json.Marshal(&p)
		if err != nil {
			return err
		}
		recs = append(recs, memory.PlainRecord{ID: id, Kind: memory.KindMessage, Schema: 1, Clock: ClockAt(at), Origin: origin, Payload: raw})
		if at.After(updated) {
			updated = at
		}
	}
	if len(recs) == 0 {
		return emit(Entry{What: what, Skip: "no message with text"})
	}
	cp := conversationPayload{Title: cleanTitle(c.Title), Model: clip(cleanTitle(c.Model), memory.MaxModelBytes), CreatedAt: created, UpdatedAt: updated}
	raw, err := json.Marshal(&cp)
	if err != nil {
		return err
	}
	if err := emit(Entry{Record: &memory.PlainRecord{ID: convID, Kind: memory.KindConversation, Schema: 1, Clock: ClockAt(updated), Origin: origin, Payload: raw}}); err != nil {
		return err
	}
	for i := range recs {
		if err := emit(Entry{Record: &recs[i]}); err != nil {
			return err
		}
	}
	for _, s := range skips {
		if err := emit(s); err != nil {
			return err
		}
	}
	return nil
}

// ms is t to the millisecond, or zero (unknown) for a time in the future
// or before 1970: an export's bogus date must neither move the vault's
// clock nor break the payload's RFC 3339 form.
func ms(t time.Time) time.Time {
	if t.IsZero() || t.Before(time.Unix(0, 0)) || t.After(time.Now().Add(time.Hour)) {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

func cleanTitle(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return clip(strings.Join(strings.Fields(s), " "), memory.MaxTitleBytes)
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n])
}

// parentsFirst orders messages so that each comes after its parent:
// by depth in the tree, then by time, then by id. A parent that is not in
// the list (a broken link) or a cycle makes a message a root.
func parentsFirst(msgs []Message) []Message {
	byID := make(map[string]int, len(msgs))
	for i, m := range msgs {
		byID[m.SourceID] = i
	}
	depth := make([]int, len(msgs))
	for i := range depth {
		depth[i] = -1
	}
	var walk func(i, guard int) int
	walk = func(i, guard int) int {
		if depth[i] >= 0 {
			return depth[i]
		}
		p, ok := byID[msgs[i].ParentID]
		if !ok || guard > len(msgs) || p == i {
			depth[i] = 0
			return 0
		}
		depth[i] = 0 // a cycle back here stops at 0
		depth[i] = walk(p, guard+1) + 1
		return depth[i]
	}
	order := make([]int, len(msgs))
	for i := range msgs {
		walk(i, 0)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if depth[x] != depth[y] {
			return depth[x] < depth[y]
		}
		if !msgs[x].CreatedAt.Equal(msgs[y].CreatedAt) {
			return msgs[x].CreatedAt.Before(msgs[y].CreatedAt)
		}
		return msgs[x].SourceID < msgs[y].SourceID
	})
	out := make([]Message, len(msgs))
	for i, o := range order {
		out[i] = msgs[o]
	}
	return out
}
