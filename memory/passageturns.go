package memory

import (
	"context"
	"sync"
)

// A message's passage rows take their context from the two turns before
// it, so writing a conversation in order read, opened and tokenised each
// message three times: as itself, as a parent and as a grandparent. The
// turn cache remembers the blind tokens of the turns just written, by
// record row, change number, id and version (clock, origin device): every
// write to a record gives it a new change number, and a row number and
// change number that a rolled-back transaction gave out and a later one
// gives again go with another record or version, so an entry is never
// served for a message it was not made from. It lives in vaultKeys (Lock drops it) and holds only blind
// tokens and ids, no text.

// turn is what the passage index needs of a message: the message it
// replies to and its own blind tokens (none for a turn that is not
// searched).
type turn struct {
	version  turnVersion
	parentID string
	tokens   []string
}

type turnVersion struct {
	seq    int64
	id     string
	clock  Clock
	origin string
}

// maxCachedTurns bounds the cache: a few MB at its fullest. Like the word
// cache it starts again empty when full.
const maxCachedTurns = 4096

type turnCache struct {
	mu sync.Mutex
	m  map[int64]turn
}

func newTurnCache() *turnCache { return &turnCache{m: make(map[int64]turn)} }

func (c *turnCache) get(rid int64, v turnVersion) (turn, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[rid]
	return t, ok && t.version == v
}

func (c *turnCache) put(rid int64, t turn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTurns {
		clear(c.m)
	}
	c.m[rid] = t
}

// openTurn reads a live message by id inside a transaction, as the
// passage index sees it, from the cache when its version is there.
func openTurn(ctx context.Context, q querier, keys *vaultKeys, id string) (int64, turn, bool) {
	var rid int64
	var kind Kind
	var deleted bool
	v := turnVersion{id: id}
	if err := q.QueryRowContext(ctx, "SELECT rid, seq, kind, deleted, clock, origin FROM records WHERE id = ?", id).Scan(&rid, &v.seq, &kind, &deleted, &v.clock, &v.origin); err != nil || deleted || kind != KindMessage {
		return 0, turn{}, false
	}
	if t, ok := keys.turns.get(rid, v); ok {
		return rid, t, true
	}
	rid, p, ok := openMessageIn(ctx, q, keys, id)
	if !ok {
		return 0, turn{}, false
	}
	t := turn{version: v, parentID: p.ParentID, tokens: keys.messageTokens.list(indexable(&p))}
	keys.turns.put(rid, t)
	return rid, t, true
}

// rememberTurn puts a message just written in the cache, for its replies.
func rememberTurn(ctx context.Context, q querier, keys *vaultKeys, rid int64, r *Record, parentID string, tokens []string) {
	v := turnVersion{id: r.ID, clock: r.Clock, origin: r.Origin}
	if err := q.QueryRowContext(ctx, "SELECT seq FROM records WHERE rid = ?", rid).Scan(&v.seq); err == nil {
		keys.turns.put(rid, turn{version: v, parentID: parentID, tokens: tokens})
	}
}
