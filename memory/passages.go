package memory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// Past messages are a memory source: every user and assistant message is
// kept in a blind keyword index of passages (passage_index, same design as
// the memories' blind index: keyed HMAC tokens in a contentless FTS5 table).
// A passage row has two columns: the message's own words, and the words of
// the turns around it as down-weighted context (bm25 weights 1 and 0.35),
// so that a short answer ("Yes, in May") is found by the question that
// gave it meaning. A long message is cut into several passages.
//
// Each message adds:
//   - one row per passage of its own text (part 0, 1, ...), with the two
//     turns before it (parent, grandparent) as context;
//   - one row for its parent (part -1) with no body and the message's own
//     words as context: the turn after the parent.
//
// Everything is written in the same transaction as the message, from the
// message and its ancestors only, so no earlier row is ever rewritten. The
// cleartext table passages maps each row to its message's record (rid,
// already cleartext) and says which part it is; it reveals how many
// passages a message has and how many replies it got (docs/SECURITY.md).

const (
	// passageTerms is how many search terms one passage holds; a longer
	// message is cut, each passage overlapping the previous by
	// passageOverlap terms so that a phrase across a cut is still found.
	passageTerms   = 160
	passageOverlap = 24
	// parentTerms and grandparentTerms bound the context taken from the
	// turns before; childTerms that from the turn after.
	parentTerms      = 96
	grandparentTerms = 48
	childTerms       = 96
)

// indexMessage writes the passage rows of a message version (none for a
// tombstone, a system or tool message, or a newer schema).
func indexMessage(ctx context.Context, tx *sql.Tx, keys *vaultKeys, rid int64, r *Record, payload []byte) error {
	if err := unindexMessage(ctx, tx, rid); err != nil {
		return err
	}
	return writePassages(ctx, tx, keys, rid, r, payload)
}

// writePassages adds the passage rows of a message version.
func writePassages(ctx context.Context, tx *sql.Tx, keys *vaultKeys, rid int64, r *Record, payload []byte) error {
	// What indexText(r, payload) gives, decoding the payload once.
	if r.Deleted || r.Schema() > schemas[r.Kind] {
		return nil
	}
	var m messagePayload
	if json.Unmarshal(payload, &m) != nil {
		return nil
	}
	text := indexable(&m)
	if text == "" {
		return nil
	}
	own := keys.messageTokens.list(text)
	rememberTurn(ctx, tx, keys, rid, r, m.ParentID, own)
	var context []string
	parentRID := int64(0)
	if m.ParentID != "" {
		// A tool result or system turn is not searched, and gets no row.
		if prid, p, ok := openTurn(ctx, tx, keys, m.ParentID); ok && len(p.tokens) > 0 {
			parentRID = prid
			context = append(context, tail(p.tokens, parentTerms)...)
			if p.parentID != "" {
				if _, g, ok := openTurn(ctx, tx, keys, p.parentID); ok {
					context = append(context, tail(g.tokens, grandparentTerms)...)
				}
			}
		}
	}
	ctxTokens := strings.Join(context, " ")
	for part, chunk := range passagesOf(own) {
		if err := insertPassage(ctx, tx, rid, part, strings.Join(chunk, " "), ctxTokens); err != nil {
			return err
		}
	}
	if parentRID != 0 {
		after := own[:min(len(own), childTerms)]
		if err := insertPassage(ctx, tx, parentRID, -1, "", strings.Join(after, " ")); err != nil {
			return err
		}
	}
	return nil
}

// indexable is the text of a message that is searched, or "" for system
// and tool messages.
func indexable(m *messagePayload) string {
	if m.Role != RoleUser && m.Role != RoleAssistant {
		return ""
	}
	return m.Content
}

// openMessageIn reads a live message by id inside a transaction.
func openMessageIn(ctx context.Context, q querier, keys *vaultKeys, id string) (int64, messagePayload, bool) {
	r, rid, err := currentRecord(ctx, q, id)
	if err != nil || r == nil || r.Deleted || r.Kind != KindMessage || r.Schema() > schemas[KindMessage] {
		return 0, messagePayload{}, false
	}
	p, err := keys.openMessage(r)
	if err != nil {
		return 0, messagePayload{}, false
	}
	return rid, p, true
}

// passagesOf cuts a message's terms into overlapping passages; a message
// with no terms (only stopwords) has none.
func passagesOf(terms []string) [][]string {
	if len(terms) == 0 {
		return nil
	}
	var out [][]string
	for start := 0; ; start += passageTerms - passageOverlap {
		end := min(start+passageTerms, len(terms))
		out = append(out, terms[start:end])
		if end == len(terms) {
			return out
		}
	}
}

func tail(terms []string, n int) []string {
	return terms[max(0, len(terms)-n):]
}

func insertPassage(ctx context.Context, tx *sql.Tx, rid int64, part int, body, context string) error {
	res, err := tx.ExecContext(ctx, "INSERT INTO passages(rid, part) VALUES(?, ?)", rid, part)
	if err != nil {
		return fmt.Errorf("index message passage: %w", err)
	}
	prow, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO passage_index(rowid, body, context) VALUES(?, ?, ?)", prow, body, context); err != nil {
		return fmt.Errorf("index message passage: %w", err)
	}
	return nil
}

// unindexMessage removes every passage row of a message (its own passages
// and the context rows its replies added to it) and its passage
// embeddings. (The context rows it added
// to its parent go with the parent; a conversation is deleted whole.)
func unindexMessage(ctx context.Context, tx *sql.Tx, rid int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM passage_index WHERE rowid IN (SELECT prow FROM passages WHERE rid = ?)", rid); err != nil {
		return fmt.Errorf("unindex message: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM passages WHERE rid = ?", rid); err != nil {
		return fmt.Errorf("unindex message: %w", err)
	}
	// Its passage embeddings, of every model (passages_vectors.go).
	if _, err := tx.ExecContext(ctx, "DELETE FROM passage_embeddings WHERE rid = ?", rid); err != nil {
		return fmt.Errorf("unindex message: %w", err)
	}
	// Rows of the older one-row-per-message index, from before passages.
	if _, err := tx.ExecContext(ctx, "DELETE FROM message_index WHERE rowid = ?", rid); err != nil {
		return fmt.Errorf("unindex message: %w", err)
	}
	return nil
}

// passagesMeta marks a vault whose passage index holds every message; a
// vault from before passages is indexed once, on its first message search.
const passagesMeta = "passages_v1"

// ensurePassages builds the passage index of a vault that has messages
// from before it, in one transaction, and drops the older index of whole
// messages.
func (v *Vault) ensurePassages(ctx context.Context, keys *vaultKeys) error {
	if v.passagesReady.Load() {
		return nil
	}
	v.passagesMu.Lock()
	defer v.passagesMu.Unlock()
	var done bool
	if err := v.readMeta(ctx, passagesMeta, &done); err == nil && done {
		v.passagesReady.Store(true)
		return nil
	}
	err := v.withTx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range []string{
			"INSERT INTO passage_index(passage_index) VALUES('delete-all')",
			"DELETE FROM passages",
			"INSERT INTO message_index(message_index) VALUES('delete-all')",
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT rid, id, kind, clock, origin, deleted, sealed FROM records WHERE kind = ? AND deleted = 0", KindMessage)
		if err != nil {
			return err
		}
		type msg struct {
			rid int64
			r   Record
		}
		var all []msg
		for rows.Next() {
			var m msg
			if err := rows.Scan(&m.rid, &m.r.ID, &m.r.Kind, &m.r.Clock, &m.r.Origin, &m.r.Deleted, &m.r.Sealed); err != nil {
				rows.Close()
				return err
			}
			all = append(all, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range all {
			raw, err := keys.openRecord(&m.r, KindMessage)
			if err != nil {
				v.log.Warn("skipping unreadable message in the passage index", "id", m.r.ID, "err", err)
				continue
			}
			if err := writePassages(ctx, tx, keys, m.rid, &m.r, raw); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(true)
		_, err = tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", passagesMeta, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("index past messages: %w", err)
	}
	v.passagesReady.Store(true)
	return nil
}
