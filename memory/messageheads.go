package memory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"maps"
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

// messageHeads returns the head of every live message, by rid. The map is
// shared: callers must not change it. q may be a transaction that has not
// written yet.
func (v *Vault) messageHeads(ctx context.Context, q querier, keys *vaultKeys) (map[int64]cachedHead, error) {
	v.mu.RLock()
	heads, seen := v.heads, v.headsSeen
	v.mu.RUnlock()
	if heads == nil {
		seen = 0
	}
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
	v.mu.Lock()
	if v.keys == keys && seen >= v.headsSeen { // not locked, nor overtaken, meanwhile
		v.heads, v.headsSeen = heads, seen
	}
	v.mu.Unlock()
	return heads, nil
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
