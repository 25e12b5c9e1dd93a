package memory

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Role says who speaks in a message.
type Role string

// Message roles, as chat models name them.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Roles lists the valid roles.
var Roles = []Role{RoleSystem, RoleUser, RoleAssistant, RoleTool}

// ToolCall is a call the model asked for in an assistant message.
type ToolCall struct {
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// MessageStats are the model's figures for a reply.
type MessageStats struct {
	PromptTokens int   `json:"prompt_tokens,omitempty"`
	OutputTokens int   `json:"output_tokens,omitempty"`
	FirstTokenMS int64 `json:"first_token_ms,omitempty"`
	TotalMS      int64 `json:"total_ms,omitempty"`
	// Limit is the reply's token cap when the reply stopped there (the
	// model was not done); 0 when it ended by itself.
	Limit int `json:"limit,omitempty"`
}

// Message is one turn of a conversation. Messages form a tree: each names
// its parent, and a regenerated reply or an edited question is a sibling
// branch under the same parent. A message never changes once added.
type Message struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	// ParentID is "" for the first message; branches share a parent.
	ParentID string `json:"parent_id,omitempty"`
	Role     Role   `json:"role"`
	Content  string `json:"content"`
	Model    string `json:"model,omitempty"`
	// Incomplete means the reply was stopped or failed part way.
	Incomplete bool       `json:"incomplete,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	// ToolName names the tool whose result a RoleTool message holds.
	ToolName string `json:"tool_name,omitempty"`
	// MemoryIDs are the memories that were in the prompt for this reply.
	MemoryIDs []string `json:"memory_ids,omitempty"`
	// RecalledIDs are the past messages that were in the prompt for this
	// reply (recall from other conversations).
	RecalledIDs []string      `json:"recalled_ids,omitempty"`
	Stats       *MessageStats `json:"stats,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
}

// NewMessage is a message to add to a conversation.
type NewMessage struct {
	ConversationID string
	ParentID       string
	Role           Role
	Content        string
	Model          string
	Incomplete     bool
	ToolCalls      []ToolCall
	ToolName       string
	MemoryIDs      []string
	RecalledIDs    []string
	Stats          *MessageStats
}

// Limits on a message, checked before anything is stored.
const (
	MaxMessageBytes  = 1 << 20
	MaxToolCalls     = 64
	MaxMemoryIDs     = 256
	maxToolNameBytes = 256
)

// messagePayload is what is sealed inside a message record (schema 1). The
// conversation id and creation time come first, so that listings read them
// without decoding the content (readMessageHead).
type messagePayload struct {
	ConversationID string        `json:"conversation_id"`
	CreatedAt      time.Time     `json:"created_at"`
	ParentID       string        `json:"parent_id,omitempty"`
	Role           Role          `json:"role"`
	Content        string        `json:"content"`
	Model          string        `json:"model,omitempty"`
	Incomplete     bool          `json:"incomplete,omitempty"`
	ToolCalls      []ToolCall    `json:"tool_calls,omitempty"`
	ToolName       string        `json:"tool_name,omitempty"`
	MemoryIDs      []string      `json:"memory_ids,omitempty"`
	RecalledIDs    []string      `json:"recalled_ids,omitempty"`
	Stats          *MessageStats `json:"stats,omitempty"`
}

func (p *messagePayload) message(id string) Message {
	return Message{
		ID: id, ConversationID: p.ConversationID, ParentID: p.ParentID, Role: p.Role,
		Content: p.Content, Model: p.Model, Incomplete: p.Incomplete, ToolCalls: p.ToolCalls,
		ToolName: p.ToolName, MemoryIDs: p.MemoryIDs, RecalledIDs: p.RecalledIDs, Stats: p.Stats, CreatedAt: p.CreatedAt,
	}
}

// payload checks a new message on its own (AddMessage checks what it
// refers to) and returns what to seal.
func (n *NewMessage) payload() (messagePayload, error) {
	p := messagePayload{ConversationID: n.ConversationID, ParentID: n.ParentID, Role: n.Role, Content: n.Content, Incomplete: n.Incomplete, ToolName: n.ToolName}
	switch {
	case !idPattern.MatchString(n.ConversationID):
		return p, errNoConversation(n.ConversationID)
	case n.ParentID != "" && !idPattern.MatchString(n.ParentID):
		return p, invalidf("parent %.70q is not a message id", n.ParentID)
	case !slices.Contains(Roles, n.Role):
		return p, invalidf("unknown role %q: use system, user, assistant or tool", n.Role)
	case !utf8.ValidString(n.Content):
		return p, invalidf("message content is not valid UTF-8")
	case len(n.Content) > MaxMessageBytes:
		return p, invalidf("message is %d bytes, over the %d-byte limit: attach it as a document instead", len(n.Content), MaxMessageBytes)
	case strings.TrimSpace(n.Content) == "" && !(n.Role == RoleAssistant && (len(n.ToolCalls) > 0 || n.Incomplete)):
		return p, invalidf("a %s message needs content (only an assistant message with tool calls, or one cut short, may be empty)", n.Role)
	case len(n.ToolCalls) > 0 && n.Role != RoleAssistant:
		return p, invalidf("a %s message cannot carry tool calls: only the assistant makes them", n.Role)
	case len(n.ToolCalls) > MaxToolCalls:
		return p, invalidf("%d tool calls, more than the %d one message may carry", len(n.ToolCalls), MaxToolCalls)
	case n.ToolName != "" && n.Role != RoleTool:
		return p, invalidf("tool_name is for tool messages, not %s ones", n.Role)
	case !validName(n.ToolName):
		return p, invalidf("tool name %.40q must be up to %d bytes of UTF-8 without control characters", n.ToolName, maxToolNameBytes)
	}
	var err error
	if p.Model, err = cleanModel(n.Model); err != nil {
		return p, err
	}
	if p.MemoryIDs, err = cleanIDs("memory id", n.MemoryIDs, MaxMemoryIDs); err != nil {
		return p, err
	}
	if p.RecalledIDs, err = cleanIDs("recalled message id", n.RecalledIDs, MaxMemoryIDs); err != nil {
		return p, err
	}
	if p.ToolCalls, err = cleanToolCalls(n.ToolCalls); err != nil {
		return p, err
	}
	if s := n.Stats; s != nil {
		if s.PromptTokens < 0 || s.OutputTokens < 0 || s.FirstTokenMS < 0 || s.TotalMS < 0 {
			return p, invalidf("message stats cannot be negative: %+v", *s)
		}
		stats := *s
		p.Stats = &stats
	}
	return p, nil
}

func validName(s string) bool {
	return utf8.ValidString(s) && len(s) <= maxToolNameBytes && strings.IndexFunc(s, unicode.IsControl) < 0
}

func cleanToolCalls(calls []ToolCall) ([]ToolCall, error) {
	out := make([]ToolCall, 0, len(calls))
	for _, c := range calls {
		switch {
		case c.Name == "" || !validName(c.Name):
			return nil, invalidf("tool call name %.40q must be 1-%d bytes of UTF-8 without control characters", c.Name, maxToolNameBytes)
		case !validName(c.ID):
			return nil, invalidf("tool call id %.40q must be up to %d bytes of UTF-8 without control characters", c.ID, maxToolNameBytes)
		case len(c.Arguments) > MaxMessageBytes:
			return nil, invalidf("arguments of tool call %s are %d bytes, over the %d-byte limit", c.Name, len(c.Arguments), MaxMessageBytes)
		case len(c.Arguments) > 0 && !json.Valid(c.Arguments):
			return nil, invalidf("arguments of tool call %s are not valid JSON", c.Name)
		}
		if len(c.Arguments) == 0 {
			c.Arguments = json.RawMessage("{}")
		}
		c.Arguments = slices.Clone(c.Arguments)
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// AddMessage adds a message to a conversation and returns it. The
// conversation must exist, and the parent (if any) must be a message of
// the same conversation; otherwise nothing is stored. The text of user and
// assistant messages goes into the messages' own blind keyword index
// (SearchMessages); messages are not embedded.
func (v *Vault) AddMessage(ctx context.Context, n NewMessage) (Message, error) {
	p, err := n.payload()
	if err != nil {
		return Message{}, fmt.Errorf("add message: %w", err)
	}
	keys, err := v.unlockedKeys()
	if err != nil {
		return Message{}, err
	}
	p.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	id := uuid.Must(uuid.NewV7()).String()
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		conv, _, err := currentRecord(ctx, tx, p.ConversationID)
		if err != nil {
			return err
		}
		if conv == nil || conv.Deleted || conv.Kind != KindConversation {
			return errNoConversation(p.ConversationID)
		}
		if p.ParentID != "" {
			if err := checkMessageOf(ctx, tx, keys, p.ParentID, p.ConversationID, "parent"); err != nil {
				return err
			}
		}
		return v.insertNew(ctx, tx, keys, id, KindMessage, &p)
	})
	if err != nil {
		return Message{}, fmt.Errorf("add message to conversation %s: %w", p.ConversationID, err)
	}
	// No catch-up here: messages are not in the vector index, and a reply
	// should not wait for memories to be embedded.
	return p.message(id), nil
}

// checkMessageOf checks that id is a live message of the conversation; what
// names the reference in the error.
func checkMessageOf(ctx context.Context, q querier, keys *vaultKeys, id, conversationID, what string) error {
	r, _, err := currentRecord(ctx, q, id)
	if err != nil {
		return err
	}
	if r == nil || r.Deleted || r.Kind != KindMessage {
		return invalidf("%s %s is not a message of this vault", what, id)
	}
	raw, err := keys.openRecord(r, KindMessage)
	if err != nil {
		return err
	}
	h, err := readMessageHead(raw)
	if err != nil {
		return &RecordError{ID: id, Err: fmt.Errorf("%w: payload does not decode: %v", ErrCorrupt, err)}
	}
	if h.ConversationID != conversationID {
		return invalidf("%s %s belongs to another conversation, not %s", what, id, conversationID)
	}
	return nil
}

// openMessage decrypts and decodes a message record.
func (keys *vaultKeys) openMessage(r *Record) (messagePayload, error) {
	var p messagePayload
	raw, err := keys.openRecord(r, KindMessage)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, &RecordError{ID: r.ID, Err: fmt.Errorf("%w: payload does not decode: %v", ErrCorrupt, err)}
	}
	return p, nil
}

// Message returns one message; ErrNotFound when there is none with that id
// or its conversation was deleted.
func (v *Vault) Message(ctx context.Context, id string) (Message, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return Message{}, err
	}
	r, _, err := currentRecord(ctx, v.db, id)
	if err != nil {
		return Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	if r == nil || r.Deleted || r.Kind != KindMessage {
		return Message{}, notFoundf("no message %s: it does not exist or was deleted", id)
	}
	p, err := keys.openMessage(r)
	if err != nil {
		return Message{}, err
	}
	live, err := conversationsLive(ctx, v.db, []string{p.ConversationID})
	if err != nil {
		return Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	if !live[p.ConversationID] {
		return Message{}, notFoundf("no message %s: its conversation was deleted", id)
	}
	return p.message(id), nil
}

// Messages returns every message of a conversation, every branch, oldest
// first (ties by id). ErrNotFound when the conversation does not exist or
// was deleted.
func (v *Vault) Messages(ctx context.Context, conversationID string) ([]Message, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	r, _, err := currentRecord(ctx, v.db, conversationID)
	if err != nil {
		return nil, fmt.Errorf("read messages of %s: %w", conversationID, err)
	}
	if r == nil || r.Deleted || r.Kind != KindConversation {
		return nil, errNoConversation(conversationID)
	}
	heads, err := v.messageHeads(ctx, v.db, keys)
	if err != nil {
		return nil, fmt.Errorf("read messages of %s: %w", conversationID, err)
	}
	var rids []int64
	for _, m := range heads.byConv[conversationID] {
		rids = append(rids, m.rid)
	}
	out := make([]Message, 0, len(rids))
	err = v.openByRID(ctx, v.db, keys, KindMessage, rids, func(_ int64, r *Record, raw []byte, err error) {
		var p messagePayload
		if err == nil {
			err = json.Unmarshal(raw, &p)
		}
		if err != nil {
			v.log.Warn("skipping unreadable message", "id", r.ID, "err", err)
			return
		}
		out = append(out, p.message(r.ID))
	})
	if err != nil {
		return nil, fmt.Errorf("read messages of %s: %w", conversationID, err)
	}
	slices.SortFunc(out, func(a, b Message) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// conversationsLive reports which of the ids are live conversations; the
// ids are cleartext, so this opens nothing.
func conversationsLive(ctx context.Context, q querier, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{KindConversation}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := q.QueryContext(ctx, "SELECT id FROM records WHERE kind = ? AND deleted = 0 AND id IN (?"+strings.Repeat(",?", len(ids)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
