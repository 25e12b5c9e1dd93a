package memory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// messageToEmbed is a message noted as missing passage embeddings, read
// and cut into the texts to embed.
type messageToEmbed struct {
	rid, seq int64
	id       string
	texts    []string
}

// EmbedPassages embeds the passages of every past message that has no
// vector for the current model, a batch at a time, and calls progress
// (when not nil) after each batch with how many messages of how many have
// them. Memories missing an embedding go first in every batch, and all
// are embedded by the end, so a large import never starves them. It asks the embedder even if it failed a
// moment ago; it returns ErrNoEmbedder without a model, the embedder's
// error (naming the model) if it fails, and ctx's error if cancelled; what
// was embedded until then is kept, and searches go on meanwhile.
func (v *Vault) EmbedPassages(ctx context.Context, progress func(done, total int)) error {
	for {
		keys, err := v.unlockedKeys()
		if err != nil {
			return err
		}
		emb := v.currentEmbedder()
		if emb == nil {
			return fmt.Errorf("embed messages: %w", ErrNoEmbedder)
		}
		mems, n, err := v.embedPassageBatch(ctx, keys, emb)
		if err != nil {
			return err
		}
		done, total := v.passageCounts(emb.Model())
		if progress != nil {
			progress(done, total)
		}
		memDone, memTotal := v.embedCounts(emb.Model())
		if (done >= total && memDone >= memTotal) || (n == 0 && mems == 0) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// passageBatch is how many messages EmbedPassages reads, embeds (in
// requests of embedBatch texts) and stores in one transaction: a commit
// is an fsync, which at 32 messages a commit was most of the time with a
// fast embedder.
const passageBatch = 256

// embedPassageBatch catches up (embedding up to passageBatch memories
// first, under v.refresh as every catch-up) and then embeds the passages of
// up to passageBatch messages without holding it: writes and searches catch up
// meanwhile, and storing checks that each message is still the version
// embedded.
func (v *Vault) embedPassageBatch(ctx context.Context, keys *vaultKeys, emb Embedder) (mems, msgs int, err error) {
	v.refresh.Lock()
	mems, err = v.syncEmbedLocked(ctx, passageBatch, true)
	v.refresh.Unlock()
	if err != nil {
		return mems, 0, err
	}
	model := emb.Model()
	batch, err := v.messagesToEmbed(ctx, keys, passageBatch)
	if err != nil || len(batch) == 0 {
		return mems, 0, err
	}
	var texts []string
	for _, m := range batch {
		texts = append(texts, m.texts...)
	}
	vecs := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += embedBatch {
		part := texts[start:min(start+embedBatch, len(texts))]
		got, err := emb.Embed(ctx, part)
		if err == nil && len(got) != len(part) {
			err = fmt.Errorf("asked for %d vectors, got %d", len(part), len(got))
		}
		if err != nil {
			if ctx.Err() == nil {
				v.embedderFailed(err)
			}
			return mems, 0, fmt.Errorf("embed messages with %s: %w", model, err)
		}
		vecs = append(vecs, got...)
	}
	v.embedderWorks()
	if err := v.storePassageEmbeddings(ctx, keys, model, batch, vecs); err != nil {
		return mems, 0, err
	}
	return mems, len(batch), nil
}

// messagesToEmbed reads up to n messages noted as missing passage
// embeddings; ones gone or unreadable are dropped from the note.
func (v *Vault) messagesToEmbed(ctx context.Context, keys *vaultKeys, n int) ([]messageToEmbed, error) {
	for {
		v.mu.RLock()
		rids := make([]int64, 0, n)
		for rid := range v.passages.missing {
			if len(rids) == n {
				break
			}
			rids = append(rids, rid)
		}
		v.mu.RUnlock()
		if len(rids) == 0 {
			return nil, nil
		}
		type found struct {
			rid int64
			id  string
			p   messagePayload
		}
		var got []found
		err := v.openByRID(ctx, v.db, keys, KindMessage, rids, func(rid int64, r *Record, raw []byte, err error) {
			var p messagePayload
			if err == nil && json.Unmarshal(raw, &p) == nil && indexable(&p) != "" {
				got = append(got, found{rid, r.ID, p})
			}
		})
		if err != nil {
			return nil, fmt.Errorf("find messages to embed: %w", err)
		}
		var out []messageToEmbed
		opened := map[int64]bool{}
		for _, f := range got {
			if texts := embedTexts(f.p.Content); len(texts) > 0 {
				opened[f.rid] = true
				out = append(out, messageToEmbed{rid: f.rid, id: f.id, texts: texts})
			}
		}
		if err := v.messageSeqs(ctx, out); err != nil {
			return nil, err
		}
		v.mu.Lock()
		for _, rid := range rids {
			if !opened[rid] {
				delete(v.passages.missing, rid) // gone, damaged or nothing to embed
			}
		}
		v.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
	}
}

// messageSeqs reads the version (seq) of each message to embed, so that an
// embedding of a version since replaced is never stored.
func (v *Vault) messageSeqs(ctx context.Context, ms []messageToEmbed) error {
	if len(ms) == 0 {
		return nil
	}
	args := make([]any, len(ms))
	at := make(map[int64]int, len(ms))
	for i, m := range ms {
		args[i] = m.rid
		at[m.rid] = i
	}
	rows, err := v.db.QueryContext(ctx, "SELECT rid, seq FROM records WHERE rid IN (?"+strings.Repeat(",?", len(ms)-1)+")", args...)
	if err != nil {
		return fmt.Errorf("find messages to embed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid, seq int64
		if err := rows.Scan(&rid, &seq); err != nil {
			return err
		}
		ms[at[rid]].seq = seq
	}
	return rows.Err()
}

// storePassageEmbeddings stores the vectors of a batch (in the order of
// their texts) and puts them into the index.
func (v *Vault) storePassageEmbeddings(ctx context.Context, keys *vaultKeys, model string, batch []messageToEmbed, vecs [][]float32) error {
	stored := make([][]quantRow, len(batch))
	err := v.withTx(ctx, func(tx *sql.Tx) error {
		next := 0
		for i, m := range batch {
			mine := vecs[next : next+len(m.texts)]
			next += len(m.texts)
			// The message may have changed or gone since it was read: an
			// embedding of an older version would bring back what it said.
			var live bool
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM records WHERE rid = ? AND id = ? AND seq = ? AND deleted = 0", m.rid, m.id, m.seq).Scan(&live); err != nil {
				return err
			}
			if !live {
				continue
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM passage_embeddings WHERE rid = ? AND model = ?", m.rid, model); err != nil {
				return err
			}
			rows := make([]quantRow, len(mine))
			for part, vec := range mine {
				if len(vec) == 0 || !normalize(vec) {
					return fmt.Errorf("embedding model %s returned an empty or zero vector", model)
				}
				sealed, quant, row := sealPassageVector(keys, m.id, part, model, vec)
				if _, err := tx.ExecContext(ctx, "INSERT INTO passage_embeddings(rid, part, model, seq, sealed, quant) VALUES(?, ?, ?, ?, ?, ?)", m.rid, part, model, m.seq, sealed, quant); err != nil {
					return err
				}
				rows[part] = row
			}
			stored[i] = rows
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store message embeddings: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != keys {
		return nil
	}
	for i, m := range batch {
		delete(v.passages.missing, m.rid)
		rows := stored[i]
		if rows == nil {
			continue
		}
		if v.passages.index == nil {
			v.passages.index = newVectorIndex(model, len(rows[0].data))
		}
		if len(rows[0].data) != v.passages.index.dim {
			continue
		}
		v.dropPassages(m.rid)
		for part, row := range rows {
			x := v.passages.index
			x.fill(x.slot(passageKey(m.rid, part)), row.data, row.scale)
		}
		v.passages.parts[m.rid] = len(rows)
	}
	return nil
}
