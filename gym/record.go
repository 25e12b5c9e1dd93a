package gym

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A contributor key's record: what it had accepted, how its results on
// gold tasks compare with the known ones, how often it agrees with other
// contributors on shared tasks, and what the operator rejected. The
// record sets the key's hourly quota and its score for export.

const recordSchema = `
CREATE TABLE IF NOT EXISTS rejections (
	hash TEXT PRIMARY KEY,
	reason TEXT NOT NULL,
	at INTEGER NOT NULL
);`

// Record is one key's standing.
type Record struct {
	Accepted  int `json:"accepted"`
	GoldRight int `json:"gold_right"`
	GoldWrong int `json:"gold_wrong"`
	PeerAgree int `json:"peer_agree"`
	PeerTotal int `json:"peer_total"`
	Rejected  int `json:"rejected"`
	// Score is in [0, 1]: agreement with gold and peers (a new key has
	// 0.5), lowered by rejections. FORMATS.md gives the formula.
	Score float64 `json:"score"`
	// Quota is the items an hour the key may have accepted now.
	Quota int `json:"quota"`
}

func (r *Record) finish(l Limits) {
	agree := float64(r.GoldRight+r.PeerAgree+1) / float64(r.GoldRight+r.GoldWrong+r.PeerTotal+2)
	r.Score = agree * float64(r.Accepted+1) / float64(r.Accepted+1+4*r.Rejected)
	r.Quota = l.ItemsPerHour
	if l.NewKeyItemsPerHour > 0 {
		standing := r.Accepted + 10*r.GoldRight - 10*r.GoldWrong - 5*r.Rejected
		r.Quota = min(max(l.NewKeyItemsPerHour+standing, max(l.NewKeyItemsPerHour/4, 1)), l.ItemsPerHour)
	}
}

// record reads a key's standing, without peer agreement (that needs every
// shared task: Scores computes it).
func record(ctx context.Context, q querier, who PublicKey, l Limits) (Record, error) {
	var r Record
	err := q.QueryRowContext(ctx, "SELECT accepted FROM contributors WHERE key = ?", who).Scan(&r.Accepted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	err = q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT CASE WHEN gold = 1 THEN task END), COUNT(DISTINCT CASE WHEN gold = 0 THEN task END)
		FROM results WHERE contributor = ?`, who).Scan(&r.GoldRight, &r.GoldWrong)
	if err != nil {
		return r, err
	}
	err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM rejections j JOIN items i ON i.hash = j.hash WHERE i.contributor = ?", who).Scan(&r.Rejected)
	if err != nil {
		return r, err
	}
	r.finish(l)
	return r, nil
}

// Record is a key's standing now, peer agreement included.
func (n *Node) Record(ctx context.Context, who PublicKey) (Record, error) {
	sc, err := n.scorer(ctx)
	if err != nil {
		return Record{}, err
	}
	return sc.record(ctx, who)
}

// Records is the standing of every key that has items, from one reading
// of peer agreement (a Record call for each would read it each time).
func (n *Node) Records(ctx context.Context) (map[PublicKey]Record, error) {
	sc, err := n.scorer(ctx)
	if err != nil {
		return nil, err
	}
	return sc.all(ctx)
}

// scorer gives keys' records from one reading of peer agreement, which
// takes every shared task's results: an export scores all its keys with
// one, not one a key.
type scorer struct {
	n     *Node
	peers map[PublicKey][2]int
	done  map[PublicKey]Record
}

func (n *Node) scorer(ctx context.Context) (*scorer, error) {
	peers, err := n.peerAgreement(ctx)
	if err != nil {
		return nil, err
	}
	return &scorer{n: n, peers: peers, done: map[PublicKey]Record{}}, nil
}

// all scores every key that has items.
func (s *scorer) all(ctx context.Context) (map[PublicKey]Record, error) {
	keys, err := queryStrings(ctx, s.n.db, "SELECT DISTINCT contributor FROM items")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if _, err := s.record(ctx, PublicKey(k)); err != nil {
			return nil, err
		}
	}
	return s.done, nil
}

func (s *scorer) record(ctx context.Context, who PublicKey) (Record, error) {
	if r, ok := s.done[who]; ok {
		return r, nil
	}
	r, err := record(ctx, s.n.db, who, s.n.cfg.Limits)
	if err != nil {
		return r, err
	}
	p := s.peers[who]
	r.PeerAgree, r.PeerTotal = p[0], p[1]
	r.finish(s.n.cfg.Limits)
	s.done[who] = r
	return r, nil
}

// peerAgreement counts, per key, the shared non-gold tasks on which its
// verdict is the one most other keys gave (ties count as agreement).
func (n *Node) peerAgreement(ctx context.Context) (map[PublicKey][2]int, error) {
	rows, err := n.db.QueryContext(ctx, `SELECT DISTINCT r.task, r.contributor, r.verdict FROM results r JOIN tasks t ON t.id = r.task
		WHERE t.gold IS NULL ORDER BY r.task`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type vote struct {
		who     PublicKey
		verdict string
	}
	out := map[PublicKey][2]int{}
	tally := func(votes []vote) {
		for i, v := range votes {
			count := map[string]int{}
			for j, o := range votes {
				if j != i && o.who != v.who {
					count[o.verdict]++
				}
			}
			if len(count) == 0 {
				continue
			}
			best := 0
			for _, c := range count {
				best = max(best, c)
			}
			a := out[v.who]
			a[1]++
			if count[v.verdict] == best {
				a[0]++
			}
			out[v.who] = a
		}
	}
	var task string
	var votes []vote
	for rows.Next() {
		var t string
		var v vote
		if err := rows.Scan(&t, &v.who, &v.verdict); err != nil {
			return nil, err
		}
		if t != task {
			tally(votes)
			task, votes = t, nil
		}
		votes = append(votes, v)
	}
	tally(votes)
	return out, rows.Err()
}

// Reject takes an accepted item out of the gym's data with the operator's
// reason; it counts against the key that sent it. The item's hash stays
// in the log (the log is append-only); exports leave it out.
func (n *Node) Reject(ctx context.Context, hash, reason string) error {
	if reason == "" {
		return errors.New("give the reason for rejecting it: it is kept, and counts against the key")
	}
	var who string
	err := n.db.QueryRowContext(ctx, "SELECT contributor FROM items WHERE hash = ?", hash).Scan(&who)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("the gym has no item %.16s…: `cairn gym export` lists what it has", hash)
	}
	if err != nil {
		return err
	}
	_, err = n.db.ExecContext(ctx, "INSERT INTO rejections (hash, reason, at) VALUES (?, ?, ?) ON CONFLICT (hash) DO UPDATE SET reason = excluded.reason", hash, reason, time.Now().UnixMilli())
	return err
}
