package memory

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// Listing conversations needs, of every message, the conversation it
// belongs to and when it was written, and both are sealed inside it. So
// that a listing does not decrypt every message each time, the vault keeps
// these heads in memory while unlocked (Lock drops them, as it drops the
// vector index) and folds in the records changed since it last looked, by
// local change number, as the vector index does: every write takes a new
// one, a tombstone too, so the heads follow writes by other processes and
// devices.

// cachedHead is what listings need of one message record.
type cachedHead struct {
	id string
	ok bool // false: the record could not be read, and is left out
	messageHead
}

// headIndex is the heads of every live message by rid, and the readable
// ones of each conversation by time: a search's neighbours and a
// conversation's messages are then found without a walk over every head
// (8 ms at 100,000 messages). Both are shared: callers must not change them.
type headIndex struct {
	byRID  map[int64]cachedHead
	byConv map[string][]later
}

// later is a message of a conversation, by time, from the heads.
type later struct {
	rid int64
	id  string
	at  time.Time
}

func byTime(a, b later) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.rid, b.rid)) }

// messageHeads returns the head of every live message. q may be a
// transaction that has not written yet.
func (v *Vault) messageHeads(ctx context.Context, q querier, keys *vaultKeys) (*headIndex, error) {
	v.mu.RLock()
	old, seen := v.heads, v.headsSeen
	v.mu.RUnlock()
	if old == nil {
		old, seen = &headIndex{}, 0
	}
	heads := old.byRID
	changed := map[int64]string{} // rid -> its conversation before this call, "" if none
	var buf []byte
	for copied := false; ; {
		// By seq alone (kind in WHERE could make SQLite walk the kind
		// index), and the sealed bytes of live messages only.
		rows, err := q.QueryContext(ctx, `SELECT rid, seq, id, kind, deleted, CASE WHEN kind = ? AND deleted = 0 THEN sealed END
			FROM records WHERE seq > ? ORDER BY seq LIMIT ?`, KindMessage, seen, catchUpBatch)
		if err != nil {
			return nil, err
		}
		n := 0
		for rows.Next() {
			var r Record
			var rid int64
			var sealed sql.RawBytes
			if err := rows.Scan(&rid, &seen, &r.ID, &r.Kind, &r.Deleted, &sealed); err != nil {
				rows.Close()
				return nil, err
			}
			n++
			if r.Kind != KindMessage {
				continue
			}
			if !copied { // copy on write: earlier callers may hold the map
				heads, copied = maps.Clone(heads), true
				if heads == nil {
					heads = map[int64]cachedHead{}
				}
			}
			if _, ok := changed[rid]; !ok {
				before := ""
				if h, ok := heads[rid]; ok && h.ok {
					before = h.ConversationID
				}
				changed[rid] = before
			}
			if r.Deleted {
				delete(heads, rid)
				continue
			}
			r.Sealed = sealed
			raw, err := keys.openRecordTo(buf[:0], &r, KindMessage)
			h := cachedHead{id: r.ID}
			if err == nil {
				buf = raw
				h.messageHead, err = readMessageHead(raw)
			}
			if err != nil {
				v.log.Warn("skipping unreadable message", "id", r.ID, "err", err)
			}
			h.ok = err == nil
			heads[rid] = h
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
		if n < catchUpBatch {
			break
		}
	}
	if heads == nil {
		heads = map[int64]cachedHead{}
	}
	idx := old
	if len(changed) > 0 || old.byRID == nil {
		idx = &headIndex{byRID: heads, byConv: regroup(old, heads, changed)}
	}
	v.mu.Lock()
	if v.keys == keys && seen >= v.headsSeen { // not locked, nor overtaken, meanwhile
		v.heads, v.headsSeen = idx, seen
	}
	v.mu.Unlock()
	return idx, nil
}

// regroup is the heads by conversation after the changed rids (with the
// conversation each was in before): only the conversations they left or
// joined are rebuilt, unless most heads changed (the first call after
// unlock), when all are.
func regroup(old *headIndex, heads map[int64]cachedHead, changed map[int64]string) map[string][]later {
	if old.byConv == nil || len(changed) > len(heads)/4 {
		out := map[string][]later{}
		for rid, h := range heads {
			if h.ok {
				out[h.ConversationID] = append(out[h.ConversationID], later{rid, h.id, h.CreatedAt})
			}
		}
		for _, l := range out {
			slices.SortFunc(l, byTime)
		}
		return out
	}
	dirty := map[string]bool{}
	for rid, before := range changed {
		if before != "" {
			dirty[before] = true
		}
		if h, ok := heads[rid]; ok && h.ok {
			dirty[h.ConversationID] = true
		}
	}
	out := maps.Clone(old.byConv)
	for conv := range dirty {
		var l []later
		for _, m := range old.byConv[conv] {
			if _, ok := changed[m.rid]; !ok {
				l = append(l, m)
			}
		}
		for rid := range changed {
			if h, ok := heads[rid]; ok && h.ok && h.ConversationID == conv {
				l = append(l, later{rid, h.id, h.CreatedAt})
			}
		}
		if len(l) == 0 {
			delete(out, conv)
			continue
		}
		slices.SortFunc(l, byTime)
		out[conv] = l
	}
	return out
}

// openByRID calls fn for each live record of a kind among rids, with its
// payload decrypted (raw is only valid during the call) or the error that
// prevented it.
func (v *Vault) openByRID(ctx context.Context, q querier, keys *vaultKeys, kind Kind, rids []int64, fn func(rid int64, r *Record, raw []byte, err error)) error {
	var buf []byte
	for start := 0; start < len(rids); start += 500 {
		chunk := rids[start:min(start+500, len(rids))]
		args := make([]any, len(chunk))
		for i, rid := range chunk {
			args[i] = rid
		}
		// Only the primary key in WHERE, as in recordsByRID.
		rows, err := q.QueryContext(ctx, "SELECT rid, id, kind, clock, deleted, sealed FROM records WHERE rid IN (?"+strings.Repeat(",?", len(chunk)-1)+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r Record
			var rid int64
			var sealed sql.RawBytes
			if err := rows.Scan(&rid, &r.ID, &r.Kind, &r.Clock, &r.Deleted, &sealed); err != nil {
				rows.Close()
				return err
			}
			if r.Deleted || r.Kind != kind {
				continue
			}
			r.Sealed = sealed
			raw, err := keys.openRecordTo(buf[:0], &r, kind)
			r.Sealed = nil
			if err == nil {
				buf = raw
			}
			fn(rid, &r, raw, err)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// messageHead is what listings need of a message.
type messageHead struct {
	ConversationID string    `json:"conversation_id"`
	CreatedAt      time.Time `json:"created_at"`
}

var (
	headConversation = []byte(`{"conversation_id":"`)
	headCreated      = []byte(`,"created_at":"`)
)

// readMessageHead reads a message payload's conversation id and creation
// time. The payloads this build writes start with them and are read
// without scanning the content, which is most of the bytes; any other
// layout (another writer's field order, escapes) is decoded in full.
func readMessageHead(raw []byte) (messageHead, error) {
	if h, ok := fastMessageHead(raw); ok {
		return h, nil
	}
	var h messageHead
	err := json.Unmarshal(raw, &h)
	return h, err
}

func fastMessageHead(raw []byte) (messageHead, bool) {
	var h messageHead
	rest, ok := bytes.CutPrefix(raw, headConversation)
	if !ok {
		return h, false
	}
	id, rest, ok := bytes.Cut(rest, []byte{'"'})
	if !ok || !plainID(id) {
		return h, false
	}
	if rest, ok = bytes.CutPrefix(rest, headCreated); !ok {
		return h, false
	}
	at, _, ok := bytes.Cut(rest, []byte{'"'})
	if !ok {
		return h, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(at))
	if err != nil {
		return h, false
	}
	h.ConversationID, h.CreatedAt = string(id), t
	return h, true
}

// plainID is idPattern without the regexp, which would cost more than the
// rest of reading a message's head.
func plainID(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
