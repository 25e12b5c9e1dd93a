package memory

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Past messages are embedded like memories, through the same int8 index
// machinery (vectors.go): each user and assistant message is cut into
// passages of its own words, and each passage gets a
// unit vector sealed twice under the device-local vectors subkey (float32
// for exact rescoring, int8 for the in-memory index), in passage_embeddings.
// They are never part of a record: each device embeds its own messages,
// in the background (EmbedPassages) after the memories, which always go
// first, so a big import never starves memory embedding.
//
// The in-memory index follows the vault's changes by local change number,
// as the memory index does: a message that changed or went (a conversation
// deleted, here or on another device) loses its passage vectors at the
// next catch-up, and its stored embeddings went with it in the write's
// transaction (unindexMessage).

// passageVectors is the in-memory state of message passage embeddings;
// Vault.mu guards it.
type passageVectors struct {
	index   *vectorIndex     // keyed by passageKey; nil until one is loaded
	parts   map[int64]int    // message rid -> passages in index
	missing map[int64]string // live messages without embeddings: rid -> id
	seen    int64            // greatest seq folded in
}

const (
	// A passage embedded holds up to embedPassageWords words of the
	// message, overlapping the previous by embedPassageOverlap.
	embedPassageWords   = 160
	embedPassageOverlap = 24
	// passageKeyBits is how many low bits of an index key hold the
	// passage number: a message has at most maxEmbeddedParts passages
	// embedded (about 8,700 words); keyword search covers the rest.
	passageKeyBits   = 6
	maxEmbeddedParts = 1 << passageKeyBits
)

func passageKey(rid int64, part int) int64 { return rid<<passageKeyBits | int64(part) }

func passageEmbeddingAD(id string, part int, model string) (string, Kind) {
	return id + "/" + strconv.Itoa(part) + "/" + model, "passage-embedding"
}

func passageQuantAD(id string, part int, model string) (string, Kind) {
	return id + "/" + strconv.Itoa(part) + "/" + model, "passage-embedding-int8"
}

// embedTexts cuts a message's content into the texts embedded for it.
// They hold the message's own words only: the turns around it are the
// keyword side's down-weighted context, and in a vector they drowned what
// the message itself says (on the recall benchmark, vector R@10 fell from
// 0.68 to 0.52 with the parent's tail in the first passage).
func embedTexts(content string) []string {
	words := strings.Fields(content)
	if len(words) == 0 {
		return nil
	}
	var out []string
	for start := 0; len(out) < maxEmbeddedParts; start += embedPassageWords - embedPassageOverlap {
		end := min(start+embedPassageWords, len(words))
		out = append(out, strings.Join(words[start:end], " "))
		if end == len(words) {
			break
		}
	}
	return out
}

// sealPassageVector seals a unit vector of one passage as float32 and as
// its int8 copy, which it also returns for the in-memory index.
func sealPassageVector(keys *vaultKeys, id string, part int, model string, vec []float32) (sealed, quant []byte, row quantRow) {
	raw := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	adID, kind := passageEmbeddingAD(id, part, model)
	sealed = keys.vectors.seal(adID, kind, 1, raw)
	quant = make([]byte, 4+len(vec))
	row = quantRow{data: unsafeInt8(quant[4:])}
	row.scale = quantize(vec, row.data)
	binary.LittleEndian.PutUint32(quant, math.Float32bits(row.scale))
	adID, kind = passageQuantAD(id, part, model)
	return sealed, keys.vectors.seal(adID, kind, 1, quant), row
}

func (keys *vaultKeys) openPassageQuant(id string, part int, model string, sealed []byte) quantRow {
	adID, kind := passageQuantAD(id, part, model)
	raw, err := keys.vectors.open(adID, kind, sealed)
	if err != nil {
		return quantRow{err: err}
	}
	if len(raw) < 5 {
		return quantRow{err: fmt.Errorf("%w: int8 passage embedding is %d bytes", ErrCorrupt, len(raw))}
	}
	return quantRow{data: unsafeInt8(raw[4:]), scale: math.Float32frombits(binary.LittleEndian.Uint32(raw))}
}

func (keys *vaultKeys) openPassageVector(id string, part int, model string, sealed []byte) ([]float32, error) {
	adID, kind := passageEmbeddingAD(id, part, model)
	raw, err := keys.vectors.open(adID, kind, sealed)
	if err != nil {
		return nil, err
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("%w: passage embedding is %d bytes", ErrCorrupt, len(raw))
	}
	vec := make([]float32, len(raw)/4)
	for i := range vec {
		vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return vec, nil
}

// messageChange is one record change seen by the passage fold.
type messageChange struct {
	rid, seq int64
	id       string
	live     bool // a live message that has passages to embed
}

type storedPassage struct {
	rid, seq int64
	part     int
	quant    []byte
	row      quantRow
}

// foldPassages folds the changes after the passage watermark, up to
// latest, into the passage index; the caller holds v.refresh.
func (v *Vault) foldPassages(ctx context.Context, keys *vaultKeys, model string, latest int64) error {
	v.mu.RLock()
	seen := v.passages.seen
	v.mu.RUnlock()
	if seen >= latest {
		return nil
	}
	if seen == 0 {
		// Which messages have passages is what says which to embed.
		if err := v.ensurePassages(ctx, keys); err != nil {
			return err
		}
		return v.loadPassages(ctx, keys, model, latest)
	}
	for seen < latest {
		changes, last, err := v.readMessageChanges(ctx, seen)
		if err != nil {
			return err
		}
		if last == seen {
			return nil
		}
		stored, err := v.readStoredPassages(ctx, keys, model, changes)
		if err != nil {
			return err
		}
		if err := v.foldPassageBatch(keys, model, changes, stored, last); err != nil {
			return err
		}
		seen = last
	}
	return nil
}

// loadPassages builds the passage index from nothing (at unlock, or for a
// new model): only live messages matter then, which the kind index gives
// without reading the other records, so a vault of memories alone pays
// one query. The caller holds v.refresh.
func (v *Vault) loadPassages(ctx context.Context, keys *vaultKeys, model string, latest int64) error {
	rows, err := v.db.QueryContext(ctx, `SELECT r.rid, r.seq, r.id, EXISTS (SELECT 1 FROM passages p WHERE p.rid = r.rid AND p.part >= 0)
		FROM records r WHERE r.kind = ? AND r.deleted = 0`, KindMessage)
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	var all []messageChange
	for rows.Next() {
		var c messageChange
		if err := rows.Scan(&c.rid, &c.seq, &c.id, &c.live); err != nil {
			rows.Close()
			return fmt.Errorf("read messages: %w", err)
		}
		all = append(all, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	for start := 0; ; start += catchUpBatch {
		batch := all[min(start, len(all)):min(start+catchUpBatch, len(all))]
		stored, err := v.readStoredPassages(ctx, keys, model, batch)
		if err != nil {
			return err
		}
		last := int64(0) // not caught up until the last batch is in
		if start+catchUpBatch >= len(all) {
			last = latest
		}
		if err := v.foldPassageBatch(keys, model, batch, stored, last); err != nil {
			return err
		}
		if last != 0 {
			return nil
		}
	}
}

// readMessageChanges reads a batch of changes after seq after: by seq
// alone, as messageHeads does, keeping the messages.
func (v *Vault) readMessageChanges(ctx context.Context, after int64) ([]messageChange, int64, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT r.rid, r.seq, r.id, r.kind = ? AND r.deleted = 0
			AND EXISTS (SELECT 1 FROM passages p WHERE p.rid = r.rid AND p.part >= 0), r.kind = ?
		FROM records r WHERE r.seq > ? ORDER BY r.seq LIMIT ?`, KindMessage, KindMessage, after, catchUpBatch)
	if err != nil {
		return nil, after, fmt.Errorf("read message changes: %w", err)
	}
	defer rows.Close()
	last := after
	var out []messageChange
	for rows.Next() {
		var c messageChange
		var isMessage bool
		if err := rows.Scan(&c.rid, &c.seq, &c.id, &c.live, &isMessage); err != nil {
			return nil, after, fmt.Errorf("read message changes: %w", err)
		}
		last = c.seq
		if isMessage {
			out = append(out, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("read message changes: %w", err)
	}
	return out, last, nil
}

// readStoredPassages reads and opens the stored int8 passage embeddings of
// the live messages among changes, by rid.
func (v *Vault) readStoredPassages(ctx context.Context, keys *vaultKeys, model string, changes []messageChange) (map[int64][]storedPassage, error) {
	ids := map[int64]string{}
	var rids []any
	for _, c := range changes {
		if c.live {
			ids[c.rid] = c.id
			rids = append(rids, c.rid)
		}
	}
	var all []storedPassage
	for start := 0; start < len(rids); start += 500 {
		chunk := rids[start:min(start+500, len(rids))]
		rows, err := v.db.QueryContext(ctx, "SELECT rid, seq, part, quant FROM passage_embeddings WHERE model = ? AND rid IN (?"+strings.Repeat(",?", len(chunk)-1)+")", append([]any{model}, chunk...)...)
		if err != nil {
			return nil, fmt.Errorf("read passage embeddings: %w", err)
		}
		for rows.Next() {
			var s storedPassage
			if err := rows.Scan(&s.rid, &s.seq, &s.part, &s.quant); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read passage embeddings: %w", err)
			}
			all = append(all, s)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read passage embeddings: %w", err)
		}
	}
	// Opening is the slow part: on every core, before taking v.mu.
	parallel(len(all), func(i int) {
		s := &all[i]
		s.row = keys.openPassageQuant(ids[s.rid], s.part, model, s.quant)
		s.quant = nil
	})
	out := make(map[int64][]storedPassage, len(rids))
	for _, s := range all {
		out[s.rid] = append(out[s.rid], s)
	}
	return out, nil
}

// foldPassageBatch applies one batch of message changes to the passage
// index: a message with a readable embedding of its current version for
// every passage stored goes in; a live one without is noted as missing.
func (v *Vault) foldPassageBatch(keys *vaultKeys, model string, changes []messageChange, stored map[int64][]storedPassage, last int64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != keys {
		return ErrLocked
	}
	type fill struct {
		slot int
		row  quantRow
	}
	var fills []fill
	for _, c := range changes {
		v.dropPassages(c.rid)
		if !c.live {
			continue
		}
		rows := stored[c.rid]
		ok := len(rows) > 0
		for _, s := range rows {
			if s.row.err != nil || s.seq != c.seq || (v.passages.index != nil && len(s.row.data) != v.passages.index.dim) {
				ok = false
			}
		}
		if !ok {
			v.passages.missing[c.rid] = c.id
			continue
		}
		for _, s := range rows {
			if v.passages.index == nil {
				v.passages.index = newVectorIndex(model, len(s.row.data))
			}
			fills = append(fills, fill{v.passages.index.slot(passageKey(c.rid, s.part)), s.row})
		}
		v.passages.parts[c.rid] = len(rows)
	}
	parallel(len(fills), func(i int) { v.passages.index.fill(fills[i].slot, fills[i].row.data, fills[i].row.scale) })
	v.passages.seen = last
	return nil
}

// dropPassages forgets a message's passage vectors; the caller holds v.mu.
func (v *Vault) dropPassages(rid int64) {
	if n, ok := v.passages.parts[rid]; ok && v.passages.index != nil {
		for part := range n {
			v.passages.index.remove(passageKey(rid, part))
		}
	}
	delete(v.passages.parts, rid)
	delete(v.passages.missing, rid)
}

// passageCounts is how many messages have passage vectors for model, and
// how many with those still to embed.
func (v *Vault) passageCounts(model string) (done, total int) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.passages.index != nil && v.passages.index.model == model {
		done = len(v.passages.parts)
	}
	return done, done + len(v.passages.missing)
}

// messageVectorCandidates ranks messages by the cosine similarity of their
// best passage to the query, the best passages rescored exactly. Hybrid
// search leaves an embedder that failed a moment ago alone (nil, nil).
func (v *Vault) messageVectorCandidates(ctx context.Context, keys *vaultKeys, text string, n int, mode Mode) ([]candidate, error) {
	if v.currentEmbedder() == nil {
		return nil, ErrNoEmbedder
	}
	if mode == Hybrid && v.embedderResting() {
		return nil, nil
	}
	qv, model, err := v.queryVector(ctx, keys, text)
	if err != nil {
		if mode == Hybrid && ctx.Err() == nil && v.embedderFailed(err) {
			v.log.Info("vector search over messages paused: the embedder failed; searching by keyword meanwhile", "err", err)
		}
		return nil, err
	}
	v.catchUpRead(ctx)
	v.mu.RLock()
	var approx []candidate
	if x := v.passages.index; x != nil && x.model == model {
		approx = x.nearest(qv, 2*n)
	}
	v.mu.RUnlock()
	exact, err := v.exactPassageScores(ctx, keys, model, qv, approx[:min(len(approx), max(n, 20))])
	if err != nil {
		return nil, err
	}
	best := map[int64]float32{}
	var order []int64
	for _, c := range approx {
		s := c.score
		if e, ok := exact[c.rid]; ok {
			s = e
		}
		rid := c.rid >> passageKeyBits
		if old, seen := best[rid]; !seen {
			order = append(order, rid)
			best[rid] = s
		} else if s > old {
			best[rid] = s
		}
	}
	out := make([]candidate, len(order))
	for i, rid := range order {
		out[i] = candidate{rid: rid, score: best[rid]}
	}
	// Ties (texts of the same words) go by rid, so that a search ranks the
	// same whatever order the messages were embedded in.
	slices.SortFunc(out, func(a, b candidate) int { return cmp.Or(cmpScore(b.score, a.score), cmp.Compare(a.rid, b.rid)) })
	return out[:min(len(out), n)], nil
}

// exactPassageScores rescores passages (by index key) against their
// sealed float32 vectors.
func (v *Vault) exactPassageScores(ctx context.Context, keys *vaultKeys, model string, qv []float32, cands []candidate) (map[int64]float32, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	want := make(map[int64]bool, len(cands)) // by passage key
	messages := map[int64]bool{}
	args := []any{model}
	for _, c := range cands {
		want[c.rid] = true
		if rid := c.rid >> passageKeyBits; !messages[rid] {
			messages[rid] = true
			args = append(args, rid)
		}
	}
	rows, err := v.db.QueryContext(ctx, `SELECT pe.rid, pe.part, r.id, pe.sealed FROM passage_embeddings pe JOIN records r ON r.rid = pe.rid
		WHERE pe.model = ? AND pe.rid IN (?`+strings.Repeat(",?", len(args)-2)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("load passage embeddings: %w", err)
	}
	defer rows.Close()
	out := map[int64]float32{}
	for rows.Next() {
		var rid int64
		var part int
		var id string
		var sealed []byte
		if err := rows.Scan(&rid, &part, &id, &sealed); err != nil {
			return nil, err
		}
		key := passageKey(rid, part)
		if !want[key] {
			continue
		}
		if vec, err := keys.openPassageVector(id, part, model, sealed); err == nil && len(vec) == len(qv) {
			out[key] = dot(qv, vec)
		}
	}
	return out, rows.Err()
}

// hybridVectors is what of the vector ranking hybrid message search fuses:
// its best 2×limit messages that pass the query's filters. Further down,
// vector ranks say little (every message has some similarity), and fused
// they pushed keyword matches out of the results: on the recall benchmark
// with the test embedder, hybrid R@10 rose from 0.85-0.96 with the whole
// pool to 0.98-1.00 with 2×limit, on the tuning and the hold-out seeds.
func hybridVectors(vec []candidate, wanted func(candidate) bool, limit int) []candidate {
	out := make([]candidate, 0, 2*limit)
	for _, c := range vec {
		if len(out) == 2*limit {
			break
		}
		if wanted(c) {
			out = append(out, c)
		}
	}
	return out
}

// MessageVectors reports whether message search can use passage vectors
// now: an embedding model is set and answering, and messages have been
// embedded with it.
func (v *Vault) MessageVectors() bool {
	emb := v.currentEmbedder()
	if emb == nil || v.embedderResting() {
		return false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	x := v.passages.index
	return x != nil && x.model == emb.Model() && x.len() > 0
}
