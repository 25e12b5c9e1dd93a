package memory

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// embedMissing embeds up to limit memories noted as missing an embedding
// (all when limit < 0), and reports how many it embedded. The embedder is
// asked embedBatch texts at a time; what it returns is stored in bigger
// transactions (up to embedStoreRows rows, or what embedStoreWait of
// embedding gave), since each commit is fsync'd: a commit for every 32
// vectors held the build rate at 1,700 a second.
func (v *Vault) embedMissing(ctx context.Context, keys *vaultKeys, emb Embedder, limit int) (int, error) {
	model := emb.Model()
	done := 0
	var pending []missing
	var vecs [][]float32
	pendingRIDs := map[int64]bool{}
	first := time.Time{}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := v.storeEmbeddings(ctx, keys, model, pending, vecs)
		if err == nil {
			done += len(pending)
		}
		pending, vecs = pending[:0], vecs[:0]
		clear(pendingRIDs)
		return err
	}
	for limit < 0 || done+len(pending) < limit {
		n := embedBatch
		if limit >= 0 {
			n = min(n, limit-done-len(pending))
		}
		batch, err := v.missingBatch(ctx, keys, model, n, pendingRIDs)
		if err != nil || len(batch) == 0 {
			return done, errors.Join(err, flush())
		}
		texts := make([]string, len(batch))
		for i, m := range batch {
			texts[i] = m.text
		}
		if len(pending) == 0 {
			first = time.Now()
		}
		got, err := emb.Embed(ctx, texts)
		if err == nil && len(got) != len(batch) {
			err = fmt.Errorf("asked for %d vectors, got %d", len(batch), len(got))
		}
		if err != nil {
			// What was embedded before the failure is kept.
			return done, errors.Join(fmt.Errorf("embed memories with %s: %w", model, err), flush())
		}
		for _, m := range batch {
			pendingRIDs[m.rid] = true
		}
		pending, vecs = append(pending, batch...), append(vecs, got...)
		if len(pending) >= embedStoreRows || time.Since(first) >= embedStoreWait {
			if err := flush(); err != nil {
				return done, err
			}
		}
	}
	return done, flush()
}

type missing struct {
	rid  int64
	seq  int64 // the version embedded: a newer one needs its own embedding
	id   string
	text string
}

// missingBatch reads up to n memories noted as missing an embedding. Ones
// that another process has embedded meanwhile go straight into the index;
// ones that are gone or unreadable are dropped from the note.
// Those in skip (embedded, not yet stored) are passed over.
func (v *Vault) missingBatch(ctx context.Context, keys *vaultKeys, model string, n int, skip map[int64]bool) ([]missing, error) {
	for {
		v.mu.RLock()
		rids := make([]any, 0, n)
		for rid := range v.missing {
			if len(rids) == n {
				break
			}
			if !skip[rid] {
				rids = append(rids, rid)
			}
		}
		v.mu.RUnlock()
		if len(rids) == 0 {
			return nil, nil
		}
		rows, err := v.db.QueryContext(ctx, `SELECT r.rid, r.seq, r.id, r.kind, r.deleted, r.sealed, e.quant FROM records r
			LEFT JOIN embeddings e ON e.rid = r.rid AND e.model = ?
			WHERE r.rid IN (?`+strings.Repeat(",?", len(rids)-1)+`)`, append([]any{model}, rids...)...)
		if err != nil {
			return nil, fmt.Errorf("find memories to embed: %w", err)
		}
		var out []missing
		handled := map[int64]bool{}
		v.mu.Lock()
		for rows.Next() {
			var r Record
			var rid, seq int64
			var emb []byte
			if err := rows.Scan(&rid, &seq, &r.ID, &r.Kind, &r.Deleted, &r.Sealed, &emb); err != nil {
				v.mu.Unlock()
				rows.Close()
				return nil, err
			}
			handled[rid] = true
			if emb != nil && v.addVector(keys, model, rid, r.ID, emb) {
				continue // embedded by another process meanwhile
			}
			p, err := keys.openItem(&r)
			if r.Deleted || err != nil || p.ForgottenAt != nil {
				delete(v.missing, rid) // gone, hidden, damaged or newer: nothing to embed
				continue
			}
			out = append(out, missing{rid: rid, seq: seq, id: r.ID, text: p.Text})
		}
		for _, rid := range rids {
			if !handled[rid.(int64)] {
				delete(v.missing, rid.(int64))
			}
		}
		v.mu.Unlock()
		err = rows.Err()
		rows.Close()
		if err != nil || len(out) > 0 {
			return out, err
		}
	}
}

func (v *Vault) storeEmbeddings(ctx context.Context, keys *vaultKeys, model string, batch []missing, vecs [][]float32) error {
	stored := make([]*quantRow, len(batch))
	err := v.withTx(ctx, func(tx *sql.Tx) error {
		for i, m := range batch {
			vec := vecs[i]
			if len(vec) == 0 || !normalize(vec) {
				return fmt.Errorf("embedding model %s returned an empty or zero vector", model)
			}
			// The record may have changed or gone since it was read: an
			// embedding of an older version (or of a memory soft-forgotten
			// since) would put it back in vector search.
			var live bool
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM records WHERE rid = ? AND id = ? AND seq = ? AND deleted = 0", m.rid, m.id, m.seq).Scan(&live); err != nil {
				return err
			}
			if !live {
				continue
			}
			row, err := insertEmbedding(ctx, tx, keys, m.rid, m.id, model, vec)
			if err != nil {
				return err
			}
			stored[i] = &row
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store embeddings: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != keys {
		return nil
	}
	for i, m := range batch {
		delete(v.missing, m.rid)
		row := stored[i]
		if row == nil {
			continue
		}
		if v.vectors == nil {
			v.vectors = newVectorIndex(model, len(row.data))
		}
		if len(row.data) == v.vectors.dim {
			v.vectors.fill(v.vectors.slot(m.rid), row.data, row.scale)
		}
	}
	return nil
}

// insertEmbedding stores a unit vector sealed twice: as float32 for exact
// rescoring, and as its int8 copy, which is what unlock loads. It returns
// the int8 copy for the in-memory index.
func insertEmbedding(ctx context.Context, tx *sql.Tx, keys *vaultKeys, rid int64, id, model string, vec []float32) (quantRow, error) {
	raw := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	adID, kind := embeddingAD(id, model)
	sealed := keys.vectors.seal(adID, kind, 1, raw)

	q := make([]byte, 4+len(vec))
	row := quantRow{data: unsafeInt8(q[4:])}
	row.scale = quantize(vec, row.data)
	binary.LittleEndian.PutUint32(q, math.Float32bits(row.scale))
	adID, kind = quantAD(id, model)
	quant := keys.vectors.seal(adID, kind, 1, q)

	_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO embeddings(rid, model, dim, sealed, quant) VALUES(?, ?, ?, ?, ?)", rid, model, len(vec), sealed, quant)
	return row, err
}
