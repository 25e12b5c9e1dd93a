package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Mode picks how Search ranks.
type Mode string

// Search modes.
const (
	Hybrid  Mode = "hybrid"  // keyword and vector fused, with recency and pins
	Keyword Mode = "keyword" // BM25 over the blind index
	Vector  Mode = "vector"  // cosine similarity of embeddings
)

// Query is a search.
type Query struct {
	Text  string
	Limit int      // 0 means 10
	Mode  Mode     // empty means Hybrid
	Kind  ItemKind // empty: any kind
	Tag   string   // empty: any tag
}

// Result is one memory found, with its score (higher is better; its scale
// depends on the mode) and a snippet of the text around the match.
type Result struct {
	Item
	Score   float64 `json:"score"`
	Snippet string  `json:"snippet"`
}

const (
	rrfK          = 60
	maxQueryBytes = 4 << 10
	// recencyHalfLife: a memory untouched this long gets half the recency
	// boost of one changed now.
	recencyHalfLife = 30 * 24 * time.Hour
	recencyWeight   = 0.3 / (rrfK + 1)
	pinWeight       = 0.5 / (rrfK + 1)
	snippetRunes    = 160
)

// ErrNoEmbedder means vector search was asked for without an embedding
// model configured.
var ErrNoEmbedder = fmt.Errorf("vector search needs an embedding model: configure one, or search by keyword")

// ErrEmbeddingModelMissing is what an Embedder wraps when its model is not
// on the backend (not pulled yet): a state the search status reports, not
// a failure to warn about at every search.
var ErrEmbeddingModelMissing = errors.New("the embedding model is not pulled")

// Search finds memories. Hybrid search fuses the keyword and vector rankings
// by reciprocal rank fusion, then adds a small boost for recent and pinned
// memories. When embedding the query fails, hybrid search falls back to
// keywords alone (and logs why).
func (v *Vault) Search(ctx context.Context, q Query) ([]Result, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	if err := q.normalize(); err != nil {
		return nil, err
	}
	pool := q.Limit * 4
	if q.Kind != "" || q.Tag != "" {
		pool = max(pool, 400) // filters run after decryption
	}
	pool = max(pool, 50)

	var kw, vec []candidate
	var vecErr error
	var vecDone chan struct{}
	caughtUp := make(chan struct{})
	// Hybrid search leaves a failing embedder alone for a while and uses
	// keywords; vector search always asks, and says when it fails. The
	// query is embedded at once, the slowest step, while the index
	// catches up; the index is read after.
	if q.Mode == Vector || (q.Mode == Hybrid && v.currentEmbedder() != nil && !v.embedderResting()) {
		vecDone = make(chan struct{})
		go func() {
			defer close(vecDone)
			qv, model, err := v.queryVector(ctx, keys, q.Text)
			<-caughtUp
			if err != nil {
				vecErr = err
				return
			}
			// Hybrid fuses ranks, which the int8 estimates already give;
			// only vector search rescores exactly.
			exact := 0
			if q.Mode == Vector {
				exact = max(2*q.Limit, 20)
			}
			vec, vecErr = v.vectorCandidates(ctx, keys, qv, model, pool, exact)
		}()
	}
	v.catchUpRead(ctx)
	close(caughtUp)
	if q.Mode != Vector {
		kw, err = v.keywordCandidates(ctx, keys, memoryIndex, q.Text, pool)
	}
	if vecDone != nil {
		<-vecDone
	}
	if err != nil {
		return nil, err
	}
	if vecErr != nil {
		if q.Mode == Vector {
			return nil, vecErr
		}
		// Said once per cause (the search status keeps saying it), not at
		// every search; with embedding off there is nothing to say.
		if ctx.Err() == nil && !errors.Is(vecErr, ErrNoEmbedder) && v.embedderFailed(vecErr) && !errors.Is(vecErr, ErrEmbeddingModelMissing) {
			v.log.Warn("vector search unavailable, using keywords only for a while", "err", vecErr)
		} else {
			v.log.Debug("vector search unavailable, using keywords only", "err", vecErr)
		}
	}
	var ranked []candidate
	switch q.Mode {
	case Keyword:
		ranked = kw
	case Vector:
		ranked = vec
	default:
		ranked = fuse(kw, vec)
	}
	return v.materialize(ctx, keys, q, ranked)
}

func (q *Query) normalize() error {
	if !utf8.ValidString(q.Text) {
		return invalidf("query is not valid UTF-8")
	}
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		return invalidf("query is empty: say what to search for")
	}
	if len(q.Text) > maxQueryBytes {
		return invalidf("query is %d bytes, over the %d-byte limit", len(q.Text), maxQueryBytes)
	}
	if q.Limit <= 0 {
		q.Limit = 10
	}
	q.Limit = min(q.Limit, 1000)
	switch q.Mode {
	case "":
		q.Mode = Hybrid
	case Hybrid, Keyword, Vector:
	default:
		return invalidf("unknown search mode %q: use hybrid, keyword or vector", q.Mode)
	}
	if q.Kind != "" {
		if err := validKind(q.Kind); err != nil {
			return err
		}
	}
	q.Tag = strings.ToLower(strings.TrimSpace(q.Tag))
	return nil
}

// keywordCandidates ranks the rows of one blind index by BM25.
func (v *Vault) keywordCandidates(ctx context.Context, keys *vaultKeys, table *blindTable, text string, n int) ([]candidate, error) {
	// Each blind index holds live records of its kind only (indexRecord
	// keeps it so), which lets FTS5 rank without a join.
	return v.plannedRows(ctx, keys, table, uniqueTokens(blindTokens(table.key(keys), words(text))), n)
}

func uniqueTokens(toks []string) []string {
	seen := make(map[string]bool, len(toks))
	out := toks[:0]
	for _, t := range toks {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// anyOf is an FTS5 expression matching any of the tokens.
func anyOf(toks []string) string {
	return `"` + strings.Join(toks, `" OR "`) + `"`
}

// vectorCandidates finds n candidates on the int8 copy and rescores the best
// exact of them against the sealed float32 vectors; the rest keep their
// int8 estimates, which only order them among themselves.
func (v *Vault) vectorCandidates(ctx context.Context, keys *vaultKeys, qv []float32, model string, n, exact int) ([]candidate, error) {
	v.mu.RLock()
	var approx []candidate
	if v.vectors != nil && v.vectors.model == model {
		approx = v.vectors.nearest(qv, n)
	}
	v.mu.RUnlock()
	exact = min(exact, len(approx))
	rids := make([]int64, exact)
	for i, c := range approx[:exact] {
		rids[i] = c.rid
	}
	float32s, err := v.exactVectors(ctx, keys, model, rids)
	if err != nil {
		return nil, err
	}
	out := make([]candidate, 0, len(approx))
	for _, c := range approx[:exact] {
		if ev, ok := float32s[c.rid]; ok && len(ev) == len(qv) {
			out = append(out, candidate{rid: c.rid, score: dot(qv, ev)})
		}
	}
	out = append(out, approx[exact:]...)
	slices.SortStableFunc(out, func(a, b candidate) int { return cmpScore(b.score, a.score) })
	return out, nil
}

func cmpScore(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fuse combines rankings by reciprocal rank fusion: each list adds
// 1/(k + rank) for the items it holds.
func fuse(lists ...[]candidate) []candidate {
	score := map[int64]float32{}
	var order []int64
	for _, l := range lists {
		for rank, c := range l {
			if _, ok := score[c.rid]; !ok {
				order = append(order, c.rid)
			}
			score[c.rid] += 1 / float32(rrfK+rank+1)
		}
	}
	out := make([]candidate, len(order))
	for i, rid := range order {
		out[i] = candidate{rid: rid, score: score[rid]}
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmpScore(b.score, a.score) })
	return out
}

// materialize decrypts ranked candidates in rank order, applies filters,
// boosts and snippets, and cuts to the limit. It stops early once no later
// candidate could overtake the results it has, even with every boost.
func (v *Vault) materialize(ctx context.Context, keys *vaultKeys, q Query, ranked []candidate) ([]Result, error) {
	maxBoost := 0.0
	if q.Mode == Hybrid {
		maxBoost = recencyWeight + pinWeight
	}
	now := time.Now()
	out := []Result{}
	chunk := max(2*q.Limit, 20)
	for start := 0; start < len(ranked); start += chunk {
		if len(out) >= q.Limit && float64(ranked[start].score)+maxBoost < out[q.Limit-1].Score {
			break
		}
		part := ranked[start:min(start+chunk, len(ranked))]
		recs, err := v.recordsByRID(ctx, KindMemory, part)
		if err != nil {
			return nil, err
		}
		for _, c := range part {
			r, ok := recs[c.rid]
			if !ok {
				continue // forgotten since the index was read
			}
			p, err := keys.openItem(r)
			if err != nil {
				v.log.Warn("skipping unreadable memory in search", "id", r.ID, "err", err)
				continue
			}
			if p.ForgottenAt != nil || (q.Kind != "" && p.Kind != q.Kind) || (q.Tag != "" && !slices.Contains(p.Tags, q.Tag)) {
				continue
			}
			score := float64(c.score)
			if q.Mode == Hybrid {
				age := now.Sub(r.Clock.Time())
				score += recencyWeight * math.Exp2(-max(age, 0).Hours()/recencyHalfLife.Hours())
				if p.Pinned {
					score += pinWeight
				}
			}
			out = append(out, Result{Item: p.item(r.ID), Score: score})
		}
		slices.SortStableFunc(out, func(a, b Result) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
	}
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	terms := words(q.Text)
	for i := range out {
		out[i].Snippet = snippet(out[i].Text, terms)
	}
	return out, nil
}

// recordsByRID reads the live records of a kind among the candidates in one
// query.
func (v *Vault) recordsByRID(ctx context.Context, kind Kind, cands []candidate) (map[int64]*Record, error) {
	out := make(map[int64]*Record, len(cands))
	for start := 0; start < len(cands); start += 500 {
		chunk := cands[start:min(start+500, len(cands))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c.rid
		}
		// Only the primary key in WHERE: with kind or deleted there too,
		// SQLite may scan the kind index instead.
		rows, err := v.db.QueryContext(ctx, `SELECT rid, id, kind, clock, origin, deleted, sealed FROM records
			WHERE rid IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read search results: %w", err)
		}
		for rows.Next() {
			var r Record
			var rid int64
			if err := rows.Scan(&rid, &r.ID, &r.Kind, &r.Clock, &r.Origin, &r.Deleted, &r.Sealed); err != nil {
				rows.Close()
				return nil, err
			}
			if !r.Deleted && r.Kind == kind {
				out[rid] = &r
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// snippet is up to snippetRunes of text around the first word that matches
// a query term, with ellipses where it was cut.
func snippet(text string, terms []string) string {
	runes := []rune(text)
	if len(runes) <= snippetRunes {
		return text
	}
	at := firstMatch(text, terms)
	start := max(0, at-snippetRunes/3)
	end := min(len(runes), start+snippetRunes)
	start = max(0, end-snippetRunes)
	s := strings.TrimSpace(string(runes[start:end]))
	if start > 0 {
		s = "…" + s
	}
	if end < len(runes) {
		s += "…"
	}
	return s
}

// firstMatch is the rune offset of the first word of text that matches a
// query term, or 0. ASCII text (most) is read a word at a time, each word
// stemmed once and only until the match: a long message's snippet would
// otherwise stem every word of it.
func firstMatch(text string, terms []string) int {
	if !isASCII(text) {
		for _, w := range wordSpans(text) {
			if slices.Contains(terms, w.term) {
				return w.start
			}
		}
		return 0
	}
	seen := map[string]bool{}
	for i := 0; i < len(text); {
		if !isASCIIWordByte(text[i]) {
			i++
			continue
		}
		start := i
		for i < len(text) && isASCIIWordByte(text[i]) {
			i++
		}
		w := strings.ToLower(text[start:i])
		if seen[w] || stopwords[w] {
			continue
		}
		seen[w] = true
		if slices.Contains(terms, stem(w)) {
			return start
		}
	}
	return 0
}

type wordSpan struct {
	term  string
	start int // rune offset
}

// wordSpans finds the words of text with their rune offsets, normalised as
// words() does.
func wordSpans(text string) []wordSpan {
	var out []wordSpan
	runes := []rune(text)
	start := -1
	for i := 0; i <= len(runes); i++ {
		inWord := i < len(runes) && isWordRune(runes[i])
		if inWord && start < 0 {
			start = i
		}
		if !inWord && start >= 0 {
			for _, t := range words(string(runes[start:i])) {
				out = append(out, wordSpan{term: t, start: start})
			}
			start = -1
		}
	}
	return out
}
