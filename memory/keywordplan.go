package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Keyword search costs FTS5 about a microsecond for every row it ranks, and
// a query term in most rows (a person's everyday words, in years of notes
// and chat) would have it rank most of the index. The planner keeps the
// ranked set small without changing what ranks first:
//   - with a rarer term in the query, only rows holding a rare term are
//     ranked, the common terms adding to their scores (the "cutoff
//     frequency" of classic search engines: a term in thousands of rows
//     says little about which of them is wanted);
//   - with common terms only, rows holding all of them first (the best by
//     BM25 anyway), then rows holding any; and when more than
//     maxRankedRows match, only the newest maxRankedRows of them are
//     ranked. That is the one trade: a query of nothing but very common
//     words ranks among recent rows, not every row ever written.

// commonDocs is the document count above which a query term is common: it
// only adds to the score of rows that match the query's rarer terms.
var commonDocs = 2000

// maxRankedRows bounds the rows a query of common terms only has FTS5 rank,
// and maxRankedHits the occurrences of its terms in them: BM25 visits each
// occurrence, and a common word occurs dozens of times in a long passage.
var (
	maxRankedRows = 500
	maxRankedHits = 1500.0
)

// stopDocs is the document count above which a query term is left out of
// the query when a less common term is in it: a term in that many rows
// (its idf is near zero) hardly changes which of them rank first, and
// FTS5 would read its whole posting list to add it.
var stopDocs = 16000

// plannedRows is the best n rows of a blind index for the query's tokens.
func (v *Vault) plannedRows(ctx context.Context, keys *vaultKeys, table *blindTable, toks []string, n int) ([]candidate, error) {
	if len(toks) == 0 {
		return nil, nil
	}
	stats, err := v.cachedTermStats(ctx, keys, table, toks)
	if err != nil {
		return nil, err
	}
	df := make(map[string]int, len(stats))
	for t, s := range stats {
		df[t] = s.docs
	}
	rare, common := splitCommon(dropStopTerms(toks, df), df)
	switch {
	case len(common) == 0:
		if len(rare) == 0 {
			return nil, nil // no term of the query is in the index
		}
		return v.rankRows(ctx, table, anyOf(rare), n, 0)
	case len(rare) > 0:
		return v.rankRows(ctx, table, anyOf(rare)+" OR (("+anyOf(common)+") AND ("+anyOf(rare)+"))", n, 0)
	}
	// The rows to rank: fewer where the terms occur often in each.
	hits := 0.0
	for _, t := range common {
		hits += float64(stats[t].count) / float64(stats[t].docs)
	}
	ranked := min(maxRankedRows, max(n, int(maxRankedHits/hits)))
	var all []candidate
	if len(common) > 1 {
		if all, err = v.rankRecent(ctx, table, `"`+strings.Join(common, `" AND "`)+`"`, n, ranked); err != nil || len(all) >= n {
			return all, err
		}
	}
	some, err := v.rankRecent(ctx, table, anyOf(common), n, ranked)
	if err != nil {
		return nil, err
	}
	return mergeRows(all, some, n), nil
}

// rankRecent ranks the rows a query matches, or the newest ranked of them
// when more match: finding where those start walks the matches by rowid
// without ranking them, which costs a fraction of ranking.
func (v *Vault) rankRecent(ctx context.Context, table *blindTable, match string, n, ranked int) ([]candidate, error) {
	var after int64
	err := v.db.QueryRowContext(ctx, "SELECT rowid FROM "+table.index+" WHERE "+table.index+" MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?", match, ranked).Scan(&after)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("keyword search: %w", err)
	}
	return v.rankRows(ctx, table, match, n, after)
}

// rankRows runs an FTS5 query on one blind index, best n rows first, over
// the rows after rowid after (0: all).
func (v *Vault) rankRows(ctx context.Context, table *blindTable, match string, n int, after int64) ([]candidate, error) {
	q, args := "SELECT rowid, rank FROM "+table.index+" WHERE "+table.index+" MATCH ? ORDER BY rank LIMIT ?", []any{match, n}
	if after > 0 {
		q, args = "SELECT rowid, rank FROM "+table.index+" WHERE "+table.index+" MATCH ? AND rowid > ? ORDER BY rank LIMIT ?", []any{match, after, n}
	}
	rows, err := v.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("keyword search: %w", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		var rank float64
		if err := rows.Scan(&c.rid, &rank); err != nil {
			return nil, err
		}
		c.score = float32(-rank) // FTS5's bm25 is lower-is-better
		out = append(out, c)
	}
	return out, rows.Err()
}

// mergeRows is the best n of two rankings of the same query's terms (so
// their BM25 scores compare), each row once.
func mergeRows(a, b []candidate, n int) []candidate {
	seen := make(map[int64]bool, len(a))
	out := slices.Clone(a)
	for _, c := range a {
		seen[c.rid] = true
	}
	for _, c := range b {
		if !seen[c.rid] {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(x, y candidate) int { return cmpScore(y.score, x.score) })
	return out[:min(len(out), n)]
}

// dropStopTerms leaves out the terms in more than stopDocs rows when the
// query has a less common one.
func dropStopTerms(toks []string, df map[string]int) []string {
	if !slices.ContainsFunc(toks, func(t string) bool { return df[t] > 0 && df[t] <= stopDocs }) {
		return toks
	}
	return slices.DeleteFunc(slices.Clone(toks), func(t string) bool { return df[t] > stopDocs })
}

// splitCommon sorts the tokens found in the index into rare and common
// ones (above commonDocs documents).
func splitCommon(toks []string, df map[string]int) (rare, common []string) {
	for _, t := range toks {
		if df[t] > commonDocs {
			common = append(common, t)
		} else if df[t] > 0 {
			rare = append(rare, t)
		}
	}
	return rare, common
}

// termStat is how many rows of a blind index hold a token, and how many
// times it occurs in them.
type termStat struct{ docs, count int }

// termDocs is how many rows of a blind index hold each token.
func (v *Vault) termDocs(ctx context.Context, table *blindTable, toks []string) (map[string]int, error) {
	stats, err := v.termStats(ctx, table, toks)
	df := make(map[string]int, len(stats))
	for t, s := range stats {
		df[t] = s.docs
	}
	return df, err
}

func (v *Vault) termStats(ctx context.Context, table *blindTable, toks []string) (map[string]termStat, error) {
	args := make([]any, len(toks))
	for i, t := range toks {
		args[i] = t
	}
	rows, err := v.db.QueryContext(ctx, "SELECT term, doc, cnt FROM "+table.vocab+" WHERE term IN (?"+strings.Repeat(",?", len(toks)-1)+")", args...)
	if err != nil {
		return nil, fmt.Errorf("keyword search: %w", err)
	}
	defer rows.Close()
	out := map[string]termStat{}
	for rows.Next() {
		var t string
		var s termStat
		if err := rows.Scan(&t, &s.docs, &s.count); err != nil {
			return nil, err
		}
		out[t] = s
	}
	return out, rows.Err()
}

// commonTerms remembers, for a while, the document counts of the common
// terms queries used: counting a term's documents reads its whole posting
// list from FTS5 (7 ms for a term in 80,000 rows), and a common term stays
// common. Rare and absent terms are counted at every query, so a word
// just written is found at once. It lives in vaultKeys, so Lock drops it.
type commonTerms struct {
	mu sync.Mutex
	m  map[string]commonCount // table's vocabulary + token -> counts
}

type commonCount struct {
	termStat
	at time.Time
}

const (
	commonTermsAge = time.Minute
	commonTermsMax = 4096
)

// cachedTermStats is termStats with the common terms' counts remembered.
func (v *Vault) cachedTermStats(ctx context.Context, keys *vaultKeys, table *blindTable, toks []string) (map[string]termStat, error) {
	c := keys.common
	df := make(map[string]termStat, len(toks))
	var ask []string
	now := time.Now()
	c.mu.Lock()
	for _, t := range toks {
		if e, ok := c.m[table.vocab+t]; ok && now.Sub(e.at) < commonTermsAge {
			df[t] = e.termStat
		} else {
			ask = append(ask, t)
		}
	}
	c.mu.Unlock()
	if len(ask) == 0 {
		return df, nil
	}
	counted, err := v.termStats(ctx, table, ask)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= commonTermsMax {
		c.m = map[string]commonCount{}
	}
	for t, s := range counted {
		df[t] = s
		if s.docs > commonDocs {
			c.m[table.vocab+t] = commonCount{s, now}
		}
	}
	return df, nil
}
