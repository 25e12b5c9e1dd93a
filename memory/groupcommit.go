package memory

import (
	"context"
	"database/sql"
	"slices"
	"sync"
)

// writeGroup commits this process's concurrent write transactions
// together. SQLite runs one writer at a time and a commit waits for an
// fsync; without the group, writers waiting for SQLite's lock each hold a
// pooled connection and sleep in its busy handler (searches then queue
// for a connection), and every write pays an fsync of its own. With it, a
// writer queues its work; whoever holds the slot next runs everything
// queued in one transaction, each writer's work in a savepoint of its own
// (a failing one is rolled back alone), and commits once. Each writer
// returns after the commit that holds its work, as before: what a write
// acknowledged is on disk.
type writeGroup struct {
	slot chan struct{} // one committer at a time

	mu      sync.Mutex
	pending []*groupWrite
}

type groupWrite struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	err  error
	done chan struct{}
}

func newWriteGroup() *writeGroup {
	return &writeGroup{slot: make(chan struct{}, 1)}
}

// run queues fn and waits until a commit holds it (or it failed).
func (g *writeGroup) run(ctx context.Context, v *Vault, fn func(*sql.Tx) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	g.mu.Unlock()
	select {
	case g.slot <- struct{}{}:
	case <-w.done:
		return w.err
	case <-ctx.Done():
		// Leave the queue unless a committer has taken the work already.
		g.mu.Lock()
		i := slices.Index(g.pending, w)
		if i >= 0 {
			g.pending = slices.Delete(g.pending, i, i+1)
		}
		g.mu.Unlock()
		if i >= 0 {
			return ctx.Err()
		}
		<-w.done
		return w.err
	}
	defer func() { <-g.slot }()
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()
	if len(batch) > 0 {
		v.commitGroup(batch)
	}
	// The work may have been committed by the holder before: either way
	// it is done now.
	<-w.done
	return w.err
}

// commitGroup runs a batch of writers' work in one transaction.
func (v *Vault) commitGroup(batch []*groupWrite) {
	defer func() {
		for _, w := range batch {
			close(w.done)
		}
	}()
	if len(batch) == 1 {
		batch[0].err = v.soloTx(batch[0].ctx, batch[0].fn)
		return
	}
	// No one writer's cancellation may end the others' transaction; each
	// writer's statements still run under its own context.
	tx, err := v.db.BeginTx(context.WithoutCancel(batch[0].ctx), nil)
	if err != nil {
		err = v.explain(err)
		for _, w := range batch {
			w.err = err
		}
		return
	}
	ran := 0
	for _, w := range batch {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if _, err = tx.Exec("SAVEPOINT w"); err != nil {
			break
		}
		if w.err = w.fn(tx); w.err != nil {
			if _, err = tx.Exec("ROLLBACK TO w"); err != nil {
				break
			}
		}
		if _, err = tx.Exec("RELEASE w"); err != nil {
			break
		}
		ran++
	}
	if err == nil && ran > 0 {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err != nil {
		for _, w := range batch {
			if w.err == nil {
				w.err = err
			}
		}
	}
}
