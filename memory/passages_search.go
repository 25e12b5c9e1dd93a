package memory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MessageQuery is a search over past messages.
type MessageQuery struct {
	Text  string
	Limit int // 0 means 10
	// Mode is Keyword, Vector or Hybrid; empty means Hybrid, which is
	// keyword alone while messages have no embeddings.
	Mode Mode
	// ConversationID, when set, searches that conversation only.
	ConversationID string
	// Since and Until, when set, keep messages written in [Since, Until)
	// (an imported message by its original time).
	Since, Until time.Time
	// Neighbours adds the turns before and after each message found.
	Neighbours bool
}

// MessageResult is one message found, with its score (higher is better;
// its scale depends on the mode), a snippet of the content around the
// match, its conversation's title and, when asked, its neighbouring turns.
type MessageResult struct {
	Message           Message  `json:"message"`
	ConversationTitle string   `json:"conversation_title"`
	Score             float32  `json:"score"`
	Snippet           string   `json:"snippet"`
	Before            *Message `json:"before,omitempty"`
	After             *Message `json:"after,omitempty"`
}

// passageIndex is the blind index of message passages (passages.go), under
// the messages' HMAC key.
var passageIndex = &blindTable{index: "passage_index", vocab: "passage_vocab", key: func(k *vaultKeys) []byte { return k.messageIndex }}

// SearchMessages finds user and assistant messages of live conversations,
// best first: BM25 over their passages, each with its neighbouring turns
// as down-weighted context, fused with vector search over message
// embeddings in hybrid mode when there are any.
func (v *Vault) SearchMessages(ctx context.Context, q MessageQuery) ([]MessageResult, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	mq := Query{Text: q.Text, Limit: q.Limit, Mode: q.Mode}
	if err := mq.normalize(); err != nil {
		return nil, err
	}
	q.Limit, q.Mode = mq.Limit, mq.Mode
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, invalidf("since %s is not before until %s: give a period that is not empty", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if err := v.ensurePassages(ctx, keys); err != nil {
		return nil, err
	}
	filtered := q.ConversationID != "" || !q.Since.IsZero() || !q.Until.IsZero()
	pool := max(4*q.Limit, 50)
	if filtered {
		pool = max(pool, 1000) // filters run on the candidates
	}
	var kw, vec []candidate
	if q.Mode != Vector {
		if kw, err = v.messageKeywordCandidates(ctx, keys, mq.Text, pool); err != nil {
			return nil, fmt.Errorf("search messages: %w", err)
		}
	}
	if q.Mode != Keyword {
		// Vector search over passage embeddings (passages_vectors.go).
		vec, err = v.messageVectorCandidates(ctx, keys, mq.Text, pool, q.Mode)
		if err != nil {
			if q.Mode == Vector {
				return nil, fmt.Errorf("search messages: %w", err)
			}
			vec = nil // hybrid: keywords alone
		}
	}
	heads, err := v.messageHeads(ctx, v.db, keys)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	wanted := func(c candidate) bool {
		h, ok := heads.byRID[c.rid]
		return ok && h.ok &&
			(q.ConversationID == "" || h.ConversationID == q.ConversationID) &&
			(q.Since.IsZero() || !h.CreatedAt.Before(q.Since)) &&
			(q.Until.IsZero() || h.CreatedAt.Before(q.Until))
	}
	ranked := kw
	switch {
	case q.Mode == Vector:
		ranked = vec
	case len(vec) > 0:
		ranked = fuse(kw, hybridVectors(vec, wanted, q.Limit)) // passages_vectors.go
	}
	var keep []candidate
	for _, c := range ranked {
		if wanted(c) {
			keep = append(keep, c)
		}
	}
	return v.messageResults(ctx, keys, q, mq.Text, keep, heads)
}

// messageKeywordCandidates ranks messages by their passages: the best of a
// message's own passages plus the best row its replies gave it.
func (v *Vault) messageKeywordCandidates(ctx context.Context, keys *vaultKeys, text string, n int) ([]candidate, error) {
	rows, err := v.keywordCandidates(ctx, keys, passageIndex, text, 2*n)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	args := make([]any, len(rows))
	score := make(map[int64]float32, len(rows))
	for i, c := range rows {
		args[i] = c.rid
		score[c.rid] = c.score
	}
	res, err := v.db.QueryContext(ctx, "SELECT prow, rid, part FROM passages WHERE prow IN (?"+strings.Repeat(",?", len(rows)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	type best struct{ own, after float32 }
	byMessage := map[int64]*best{}
	var order []int64
	for res.Next() {
		var prow, rid int64
		var part int
		if err := res.Scan(&prow, &rid, &part); err != nil {
			return nil, err
		}
		b := byMessage[rid]
		if b == nil {
			b = &best{}
			byMessage[rid] = b
			order = append(order, rid)
		}
		if s := score[prow]; part < 0 {
			b.after = max(b.after, s)
		} else {
			b.own = max(b.own, s)
		}
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	out := make([]candidate, 0, len(order))
	for _, rid := range order {
		b := byMessage[rid]
		out = append(out, candidate{rid: rid, score: b.own + b.after})
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmpScore(b.score, a.score) })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// messageResults opens the ranked messages up to the limit, with their
// conversations' titles and, when asked, their neighbours.
func (v *Vault) messageResults(ctx context.Context, keys *vaultKeys, q MessageQuery, text string, ranked []candidate, heads *headIndex) ([]MessageResult, error) {
	out := []MessageResult{}
	titles := map[string]string{}
	terms := words(text)
	for start := 0; start < len(ranked) && len(out) < q.Limit; start += 2 * q.Limit {
		part := ranked[start:min(start+2*q.Limit, len(ranked))]
		recs, err := v.recordsByRID(ctx, KindMessage, part)
		if err != nil {
			return nil, fmt.Errorf("search messages: %w", err)
		}
		for _, c := range part {
			r, ok := recs[c.rid]
			if !ok || len(out) == q.Limit {
				continue
			}
			p, err := keys.openMessage(r)
			if err != nil {
				v.log.Warn("skipping unreadable message in search", "id", r.ID, "err", err)
				continue
			}
			title, ok := titles[p.ConversationID]
			if !ok {
				// A message that arrived after its conversation was deleted
				// elsewhere is not shown.
				conv, _, _, err := liveConversation(ctx, v.db, keys, p.ConversationID)
				if err != nil {
					titles[p.ConversationID] = "\x00"
					continue
				}
				title = conv.Title
				titles[p.ConversationID] = title
			}
			if title == "\x00" {
				continue
			}
			out = append(out, MessageResult{Message: p.message(r.ID), ConversationTitle: title, Score: c.score, Snippet: snippet(p.Content, terms)})
		}
	}
	if q.Neighbours {
		for i := range out {
			out[i].Before, out[i].After = v.neighbours(ctx, keys, &out[i].Message, heads.byConv[out[i].Message.ConversationID])
		}
	}
	return out, nil
}

// neighbours are the turn a message answers (its parent) and the first
// reply to it, when they are user or assistant messages; conv is the
// message's conversation from the heads, by time.
func (v *Vault) neighbours(ctx context.Context, keys *vaultKeys, m *Message, conv []later) (before, after *Message) {
	if m.ParentID != "" {
		if _, p, ok := openMessageIn(ctx, v.db, keys, m.ParentID); ok && indexable(&p) != "" {
			msg := p.message(m.ParentID)
			before = &msg
		}
	}
	// The reply is written after the message, in the same conversation;
	// the heads (conv, by time) say which messages those are without
	// opening any.
	var next []later
	for _, l := range conv {
		if !l.at.Before(m.CreatedAt) && l.id != m.ID {
			next = append(next, l)
		}
	}
	for start := 0; start < len(next) && after == nil; start += 8 {
		var rids []int64
		for _, l := range next[start:min(start+8, len(next))] {
			rids = append(rids, l.rid)
		}
		var found []Message
		_ = v.openByRID(ctx, v.db, keys, KindMessage, rids, func(_ int64, r *Record, raw []byte, err error) {
			var p messagePayload
			if err != nil || json.Unmarshal(raw, &p) != nil || p.ParentID != m.ID || indexable(&p) == "" {
				return
			}
			found = append(found, p.message(r.ID))
		})
		if len(found) > 0 {
			slices.SortFunc(found, func(a, b Message) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
			after = &found[0]
		}
	}
	return before, after
}
