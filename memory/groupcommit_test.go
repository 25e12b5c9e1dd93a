package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Writers that queue while another commits share one transaction: every
// add that returned is in the vault, also after reopening, and a writer
// whose work fails is rolled back alone, without undoing the others.
func TestGroupCommitKeepsEachWritersOutcome(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	g := v.writes
	g.slot <- struct{}{} // a commit in progress: everyone queues behind it
	const writers = 24
	ids := make([]string, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if i%3 == 2 {
				errs[i] = v.withTx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, "INSERT INTO meta(key, value) VALUES(?, '1')", fmt.Sprintf("failed-%d", i)); err != nil {
						return err
					}
					return errors.New("this writer fails")
				})
				return
			}
			it, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("group note %d", i)})
			ids[i], errs[i] = it.ID, err
		})
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		n := len(g.pending)
		g.mu.Unlock()
		if n == writers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d writers queued", n, writers)
		}
	}
	<-g.slot
	wg.Wait()
	v.Close()
	v = openTestVault(t, cfg)
	for i := range writers {
		if i%3 == 2 {
			var x int
			if errs[i] == nil || v.readMeta(ctx, fmt.Sprintf("failed-%d", i), &x) == nil {
				t.Fatalf("writer %d failed (%v) but its write stayed", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("add %d: %v", i, errs[i])
		}
		if _, err := v.Get(ctx, ids[i]); err != nil {
			t.Fatalf("acknowledged add %d is not in the reopened vault: %v", i, err)
		}
	}
}

// A writer that gives up while queued leaves nothing behind and does not
// hold up the others.
func TestQueuedWriterCancels(t *testing.T) {
	v, _ := newTestVault(t)
	g := v.writes
	g.slot <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := v.Add(ctx, NewItem{Text: "never mind"}); done <- err }()
	for {
		g.mu.Lock()
		n := len(g.pending)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled queued add: %v", err)
	}
	<-g.slot
	if _, err := v.Add(context.Background(), NewItem{Text: "after"}); err != nil {
		t.Fatal(err)
	}
	items, _ := v.List(context.Background(), ListOptions{})
	if len(items) != 1 || items[0].Text != "after" {
		t.Fatalf("items after a cancelled add: %+v", items)
	}
}
