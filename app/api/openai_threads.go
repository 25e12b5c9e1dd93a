package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// OpenAI clients resend the whole history with every request. To store a
// chat once, a request's earlier messages are matched against the stored
// conversations: the turn is appended where they end. Candidates come from
// a cache of the histories this server answered, then from the messages'
// keyword index (conversations whose first message is the request's
// first), then from the most recently updated conversations.

// thread returns the conversation a request's turn belongs to and the
// message it follows ("" for the newest), storing the earlier messages
// as a new conversation when none holds them.
func (o *openAI) thread(ctx context.Context, header string, in chatInput) (conv, leaf string, err error) {
	v := o.s.cfg.Vault
	if header = strings.TrimSpace(header); header != "" {
		if _, err := v.Conversation(ctx, header); err != nil {
			return "", "", err
		}
		if len(in.Earlier) > 0 {
			msgs, err := v.Messages(ctx, header)
			if err != nil {
				return "", "", err
			}
			leaf, _ = matchThread(msgs, in.Earlier)
		}
		return header, leaf, nil
	}
	if len(in.Earlier) > 0 {
		conv, leaf, err := o.find(ctx, in.Earlier)
		if err != nil || conv != "" {
			return conv, leaf, err
		}
	}
	return o.store(ctx, in)
}

// find looks for a stored thread that is exactly history.
func (o *openAI) find(ctx context.Context, history []chatMsg) (conv, leaf string, err error) {
	v := o.s.cfg.Vault
	tried := map[string]bool{}
	try := func(id string) (string, error) {
		if tried[id] {
			return "", nil
		}
		tried[id] = true
		msgs, err := v.Messages(ctx, id)
		if errors.Is(err, memory.ErrNotFound) {
			return "", nil // deleted since
		}
		if err != nil {
			return "", err
		}
		leaf, _ := matchThread(msgs, history)
		return leaf, nil
	}
	if id, ok := o.threads.get(history); ok {
		if leaf, err := try(id); err != nil || leaf != "" {
			return id, leaf, err
		}
	}
	var ids []string
	first := firstUser(history)
	if first != "" {
		res, err := v.SearchMessages(ctx, memory.MessageQuery{Text: truncate(first, 1024), Limit: 50})
		if err != nil && !errors.Is(err, memory.ErrInvalid) {
			return "", "", err
		}
		for _, r := range res {
			if m := r.Message; m.Role == memory.RoleUser && m.ParentID == "" && strings.TrimSpace(m.Content) == first {
				ids = append(ids, m.ConversationID)
			}
		}
	}
	for _, id := range ids {
		if leaf, err := try(id); err != nil || leaf != "" {
			return id, leaf, err
		}
	}
	// The first message may have no indexed words (stopwords only), or
	// start more conversations than the search returns: the chat going on
	// is most likely among the newest.
	recent, err := v.Conversations(ctx, 10)
	if err != nil {
		return "", "", err
	}
	for _, c := range recent {
		if leaf, err := try(c.ID); err != nil || leaf != "" {
			return c.ID, leaf, err
		}
	}
	return "", "", nil
}

// store starts a conversation with the request's earlier messages.
func (o *openAI) store(ctx context.Context, in chatInput) (conv, leaf string, err error) {
	v := o.s.cfg.Vault
	title := cmpStr(firstUser(in.Earlier), in.Text)
	c, err := v.CreateConversation(ctx, memory.NewConversation{Title: truncate(strings.Join(strings.Fields(title), " "), 80), Model: in.Model})
	if err != nil {
		return "", "", err
	}
	for _, m := range in.Earlier {
		n := memory.NewMessage{ConversationID: c.ID, ParentID: leaf, Role: m.Role, Content: m.Content, ToolName: m.ToolName}
		for _, tc := range m.ToolCalls {
			n.ToolCalls = append(n.ToolCalls, memory.ToolCall{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
		}
		switch {
		case m.Role == memory.RoleAssistant && m.Content == "" && len(m.ToolCalls) == 0:
			n.Incomplete = true // the only empty reply a vault takes
		case m.Role == memory.RoleTool && m.Content == "":
			n.Content = "(no output)"
		}
		stored, err := v.AddMessage(ctx, n)
		if err != nil {
			return "", "", err
		}
		leaf = stored.ID
	}
	return c.ID, leaf, nil
}

// matchThread finds the newest message whose thread is history, with
// Cairn's own tool rounds (which the client never saw) skipped.
func matchThread(msgs []memory.Message, history []chatMsg) (string, bool) {
	if len(history) == 0 {
		return "", false
	}
	children := make(map[string][]memory.Message, len(msgs))
	for _, m := range msgs {
		children[m.ParentID] = append(children[m.ParentID], m)
	}
	var best memory.Message
	var walk func(parent string, i int)
	walk = func(parent string, i int) {
		for _, m := range children[parent] {
			switch {
			case same(m, history[i]):
				if i+1 < len(history) {
					walk(m.ID, i+1)
				} else if best.ID == "" || !m.CreatedAt.Before(best.CreatedAt) {
					best = m
				}
			case m.Role == memory.RoleTool || (m.Role == memory.RoleAssistant && len(m.ToolCalls) > 0):
				walk(m.ID, i)
			}
		}
	}
	walk("", 0)
	return best.ID, best.ID != ""
}

func same(m memory.Message, c chatMsg) bool {
	if m.Role != c.Role || strings.TrimSpace(m.Content) != c.Content || len(m.ToolCalls) != len(c.ToolCalls) {
		return false
	}
	for i, tc := range m.ToolCalls {
		if tc.Name != c.ToolCalls[i].Name || !bytes.Equal(compactJSON(tc.Arguments), compactJSON(c.ToolCalls[i].Arguments)) {
			return false
		}
	}
	return true
}

func firstUser(history []chatMsg) string {
	for _, m := range history {
		if m.Role == memory.RoleUser {
			return m.Content
		}
	}
	return ""
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func cmpStr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// threadCache remembers which conversation holds each history this server
// answered (history and reply), by hash; it is a hint, checked against
// the vault before use.
type threadCache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]string
}

func newThreadCache(max int) *threadCache {
	return &threadCache{max: max, m: map[[32]byte]string{}}
}

func (c *threadCache) put(history []chatMsg, conv string) {
	k := historyKey(history)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // the search finds what the cache forgets
	}
	c.m[k] = conv
}

func (c *threadCache) get(history []chatMsg) (string, bool) {
	k := historyKey(history)
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.m[k]
	return id, ok
}

func historyKey(history []chatMsg) [32]byte {
	h := sha256.New()
	for _, m := range history {
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.Content))
		h.Write([]byte{0})
		for _, tc := range m.ToolCalls {
			writeCall(h, tc)
		}
		h.Write([]byte{1})
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func writeCall(h interface{ Write([]byte) (int, error) }, tc agent.ToolCall) {
	h.Write([]byte(tc.Name))
	h.Write([]byte{0})
	h.Write(compactJSON(tc.Arguments))
	h.Write([]byte{0})
}
