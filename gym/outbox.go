package gym

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Outbox states.
const (
	OutboxPending   = "pending"   // not delivered yet: Send tries it
	OutboxDelivered = "delivered" // the gym's receipt is kept
	OutboxRefused   = "refused"   // the gym refused it for good (the reason is kept)
)

// OutboxEntry is an approved contribution or a revocation on its way.
type OutboxEntry struct {
	ID        string    `json:"id"`
	Gym       string    `json:"gym"`
	Kind      string    `json:"kind"` // contribute or revoke
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	NextTry   time.Time `json:"next_try"`
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
	// LogProblem is set when the entry's gym was caught rewriting its
	// transparency log: nothing more is sent to it.
	LogProblem string `json:"log_problem,omitempty"`
	signed     []byte
}

// Outbox lists the outbox, oldest first.
func (c *Contributor) Outbox(ctx context.Context) ([]OutboxEntry, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT o.id, o.gym, o.kind, o.state, o.attempts, o.next_try, o.last_error, o.created, o.signed, COALESCE(l.problem, '')
		FROM outbox o LEFT JOIN gym_logs l ON l.gym = o.gym ORDER BY o.created, o.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OutboxEntry{}
	for rows.Next() {
		var e OutboxEntry
		var next, created int64
		if err := rows.Scan(&e.ID, &e.Gym, &e.Kind, &e.State, &e.Attempts, &next, &e.LastError, &created, &e.signed, &e.LogProblem); err != nil {
			return nil, err
		}
		e.NextTry, e.Created = time.UnixMilli(next).UTC(), time.UnixMilli(created).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// SendReport says what one Send did.
type SendReport struct {
	Delivered int      `json:"delivered"`
	Refused   int      `json:"refused"`
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"`
}

// Send delivers what the outbox holds for the gyms that are due (all
// pending ones with force). Only approved contributions and revocations
// are ever in the outbox. A gym that cannot be reached is tried again
// later, with the same envelope, so a gym never stores one twice; a
// refusal for rate is retried in an hour; other refusals are final.
func (c *Contributor) Send(ctx context.Context, force bool) (SendReport, error) {
	var rep SendReport
	entries, err := c.Outbox(ctx)
	if err != nil {
		return rep, err
	}
	gyms := map[string]GymInfo{}
	all, err := c.Gyms(ctx)
	if err != nil {
		return rep, err
	}
	for _, g := range all {
		gyms[g.ID] = g
	}
	now := c.now()
	for _, e := range entries {
		if e.State != OutboxPending || (!force && e.NextTry.After(now)) {
			continue
		}
		g, ok := gyms[e.Gym]
		if !ok {
			continue
		}
		if e.LogProblem != "" {
			rep.Failed++
			rep.Errors = append(rep.Errors, e.LogProblem)
			continue
		}
		state, msg := c.deliver(ctx, g, e)
		switch state {
		case OutboxDelivered:
			rep.Delivered++
			if msg != "" {
				rep.Errors = append(rep.Errors, msg)
			}
		case OutboxRefused:
			rep.Refused++
			rep.Errors = append(rep.Errors, msg)
		default:
			rep.Failed++
			rep.Errors = append(rep.Errors, msg)
		}
	}
	return rep, nil
}

// deliver tries one entry and records the outcome.
func (c *Contributor) deliver(ctx context.Context, g GymInfo, e OutboxEntry) (state, msg string) {
	var s Signed
	if err := json.Unmarshal(e.signed, &s); err != nil {
		return c.settle(ctx, e, OutboxRefused, "the outbox entry is damaged: "+err.Error(), 0, nil)
	}
	t, err := transportFor(g.Address)
	if err != nil {
		return c.settle(ctx, e, OutboxPending, err.Error(), backoff(e.Attempts+1), nil)
	}
	resp, err := t.do(ctx, request{Op: e.Kind, Signed: &s})
	if err != nil {
		return c.settle(ctx, e, OutboxPending, err.Error(), backoff(e.Attempts+1), nil)
	}
	if resp.Receipt != nil {
		rec, err := OpenReceipt(*resp.Receipt, g.Manifest.PublicKey)
		if err == nil && rec.For == e.ID && rec.Gym == g.ID && rec.Contributor == g.Contributor {
			state, msg := c.settle(ctx, e, OutboxDelivered, "", 0, resp.Receipt)
			// The receipt is kept either way: it is the evidence when the
			// gym's log does not hold what it signed for.
			if _, err := c.checkReceiptLog(ctx, g, newRemoteTiles(ctx, t), rec, nil); errors.Is(err, ErrLogRewritten) {
				return state, err.Error()
			} else if err != nil {
				c.log.Warn("checking a gym's log failed; `cairn gym verify` tries again", "gym", g.ID, "err", err)
			}
			return state, msg
		}
		if err == nil {
			err = errors.New("it is for another envelope")
		}
		return c.settle(ctx, e, OutboxPending, "the gym's receipt does not check: "+err.Error(), backoff(e.Attempts+1), nil)
	}
	reason := fmt.Sprintf("gym %s refused %s %s (%s): %s", g.Manifest.Name, e.Kind, e.ID, resp.Refused, resp.Reason)
	if resp.Refused == RefusedRate || resp.Refused == "internal" {
		return c.settle(ctx, e, OutboxPending, reason, time.Hour, nil)
	}
	return c.settle(ctx, e, OutboxRefused, reason, 0, nil)
}

func backoff(attempt int) time.Duration {
	return min(30*time.Second<<min(attempt-1, 10), time.Hour)
}

func (c *Contributor) settle(ctx context.Context, e OutboxEntry, state, msg string, retry time.Duration, receipt *Signed) (string, string) {
	now := c.now()
	_, err := c.db.ExecContext(ctx, "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, next_try = ? WHERE id = ?", state, msg, now.Add(retry).UnixMilli(), e.ID)
	if err == nil && receipt != nil {
		b, _ := json.Marshal(receipt)
		_, err = c.db.ExecContext(ctx, "INSERT OR IGNORE INTO receipts (id, gym, receipt, received) VALUES (?, ?, ?, ?)", e.ID, e.Gym, b, now.UnixMilli())
	}
	if err != nil {
		c.log.Warn("recording a delivery failed", "id", e.ID, "err", err)
	}
	return state, msg
}

// KeptReceipt is a gym's receipt with the signed bytes that prove it.
type KeptReceipt struct {
	Receipt
	Signed Signed `json:"signed"`
}

// Receipts lists a gym's receipts, oldest first.
func (c *Contributor) Receipts(ctx context.Context, g GymInfo) ([]KeptReceipt, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT receipt FROM receipts WHERE gym = ? ORDER BY received, id", g.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []KeptReceipt{}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var k KeptReceipt
		if err := json.Unmarshal(b, &k.Signed); err != nil {
			return nil, err
		}
		if k.Receipt, err = OpenReceipt(k.Signed, g.Manifest.PublicKey); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RetryLoop sends what is due in the outbox every interval until ctx ends:
// only what the person approved is ever there, and nothing is sent while
// it is empty (no gym is contacted, not even for its manifest).
func (c *Contributor) RetryLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.hasDue(ctx) {
			continue
		}
		rep, err := c.Send(ctx, false)
		if err != nil {
			c.log.Warn("gym outbox: sending failed", "err", err)
			continue
		}
		if rep.Delivered+rep.Refused+rep.Failed > 0 {
			c.log.Info("gym outbox", "delivered", rep.Delivered, "refused", rep.Refused, "to_retry", rep.Failed)
		}
	}
}

func (c *Contributor) hasDue(ctx context.Context) bool {
	var n int
	err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE state = ? AND next_try <= ?", OutboxPending, c.now().UnixMilli()).Scan(&n)
	return err == nil && n > 0
}
