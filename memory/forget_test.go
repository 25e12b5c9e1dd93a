package memory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// findsMemory reports whether a search in mode returns the memory.
func findsMemory(t *testing.T, v *Vault, mode Mode, text, id string) bool {
	t.Helper()
	res, err := v.Search(context.Background(), Query{Text: text, Mode: mode, Limit: 50})
	if err != nil {
		t.Fatalf("%s search %q: %v", mode, text, err)
	}
	return slices.ContainsFunc(res, func(r Result) bool { return r.ID == id })
}

func listed(t *testing.T, v *Vault, id string) bool {
	t.Helper()
	items, err := v.List(context.Background(), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(items, func(it Item) bool { return it.ID == id })
}

func TestSoftForgetHidesAndRestoreBringsBack(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	mustAdd(t, v, "I keep bees at the allotment")
	it := mustAdd(t, v, "My sister Ana lives in Porto", "family")
	const query = "sister Ana Porto"
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		if !findsMemory(t, v, mode, query, it.ID) {
			t.Fatalf("%s: not found before the forget", mode)
		}
	}

	got, err := v.SoftForget(ctx, it.ID, "  the user said to forget it ")
	if err != nil {
		t.Fatal(err)
	}
	if got.ForgottenAt == nil || got.ForgottenWhy != "the user said to forget it" || got.Text != it.Text {
		t.Fatalf("soft-forgotten item: %+v", got)
	}
	assertHidden := func(v *Vault) {
		t.Helper()
		if _, err := v.Get(ctx, it.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a soft-forgotten memory: %v, want ErrNotFound", err)
		}
		if listed(t, v, it.ID) {
			t.Fatal("List shows a soft-forgotten memory")
		}
		for _, mode := range []Mode{Keyword, Vector, Hybrid} {
			if findsMemory(t, v, mode, query, it.ID) {
				t.Fatalf("%s search finds a soft-forgotten memory", mode)
			}
		}
		text := "edited"
		if _, err := v.Edit(ctx, it.ID, Patch{Text: &text}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Edit of a soft-forgotten memory: %v, want ErrNotFound", err)
		}
		gone, err := v.Forgotten(ctx)
		if err != nil || len(gone) != 1 || gone[0].ID != it.ID || gone[0].Text != it.Text || gone[0].ForgottenAt == nil {
			t.Fatalf("Forgotten: %+v %v", gone, err)
		}
		if err := v.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		var embedded, indexed int
		v.db.QueryRow("SELECT count(*) FROM embeddings e JOIN records r ON r.rid = e.rid WHERE r.id = ?", it.ID).Scan(&embedded)
		v.db.QueryRow("SELECT count(*) FROM blind_index WHERE rowid = (SELECT rid FROM records WHERE id = ?)", it.ID).Scan(&indexed)
		if embedded != 0 || indexed != 0 {
			t.Fatalf("a soft-forgotten memory is still indexed: %d embeddings, %d keyword rows", embedded, indexed)
		}
	}
	assertHidden(v)
	if _, err := v.SoftForget(ctx, it.ID, "again"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second soft forget: %v, want ErrNotFound", err)
	}
	// Kept sealed: the record is live, and the version before is a revision.
	var live, revs int
	v.db.QueryRow("SELECT count(*) FROM records WHERE id = ? AND deleted = 0", it.ID).Scan(&live)
	v.db.QueryRow("SELECT count(*) FROM revisions WHERE id = ?", it.ID).Scan(&revs)
	if live != 1 || revs != 1 {
		t.Fatalf("live records %d, revisions %d; want 1 and 1", live, revs)
	}

	// It survives closing and unlocking again.
	v.Close()
	v = openTestVault(t, cfg)
	assertHidden(v)

	back, err := v.Restore(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.ForgottenAt != nil || back.ForgottenWhy != "" || back.Text != it.Text || !slices.Equal(back.Tags, it.Tags) {
		t.Fatalf("restored: %+v", back)
	}
	if got, err := v.Get(ctx, it.ID); err != nil || got.Text != it.Text {
		t.Fatalf("Get after restore: %+v %v", got, err)
	}
	if !listed(t, v, it.ID) {
		t.Fatal("List does not show the restored memory")
	}
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		if !findsMemory(t, v, mode, query, it.ID) {
			t.Fatalf("%s: the restored memory is not found", mode)
		}
	}
	if gone, _ := v.Forgotten(ctx); len(gone) != 0 {
		t.Fatalf("Forgotten after restore: %+v", gone)
	}
	if _, err := v.Restore(ctx, it.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore of a memory that is not forgotten: %v, want ErrNotFound", err)
	}
}

// The person's own Forget is final, soft-forgotten or not.
func TestForgetIsFinalAndErasesSoftForgotten(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	mine := mustAdd(t, v, "forgotten by the person")
	if err := v.Forget(ctx, mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Restore(ctx, mine.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore after Forget: %v, want ErrNotFound", err)
	}

	soft := mustAdd(t, v, "forgotten by the model, then by the person")
	if _, err := v.SoftForget(ctx, soft.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := v.Forget(ctx, soft.ID); err != nil {
		t.Fatalf("Forget of a soft-forgotten memory: %v", err)
	}
	if _, err := v.Restore(ctx, soft.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore after Forget: %v, want ErrNotFound", err)
	}
	if gone, _ := v.Forgotten(ctx); len(gone) != 0 {
		t.Fatalf("Forgotten still lists an erased memory: %+v", gone)
	}
	var revs int
	v.db.QueryRow("SELECT count(*) FROM revisions WHERE id IN (?, ?)", mine.ID, soft.ID).Scan(&revs)
	if revs != 0 {
		t.Fatalf("erased memories kept %d revisions", revs)
	}
	if _, err := v.SoftForget(ctx, "0190aaaa-0000-7000-8000-00000000dead", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("soft forget of nothing: %v", err)
	}
	if _, err := v.SoftForget(ctx, mustAdd(t, v, "x").ID, "\xff"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("soft forget with a reason that is not UTF-8: %v", err)
	}
}

func TestPurgeForgottenAfterTheWindow(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	kept := mustAdd(t, v, "never forgotten")
	older := mustAdd(t, v, "forgotten first")
	newer := mustAdd(t, v, "forgotten second")
	first, err := v.SoftForget(ctx, older.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	second, err := v.SoftForget(ctx, newer.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if gone, _ := v.Forgotten(ctx); len(gone) != 2 || gone[0].ID != newer.ID || gone[1].ID != older.ID {
		t.Fatalf("Forgotten should list the latest forgotten first: %+v", gone)
	}

	if n, err := v.PurgeForgotten(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("purge now: %d %v; nothing is past the window yet", n, err)
	}
	// Between the two: only the first is past the window.
	between := first.ForgottenAt.Add(SoftForgetWindow + 10*time.Millisecond)
	if !between.Before(second.ForgottenAt.Add(SoftForgetWindow)) {
		t.Fatal("the two forgets landed in the same 10 ms")
	}
	if n, err := v.PurgeForgotten(ctx, between); err != nil || n != 1 {
		t.Fatalf("purge between: %d %v, want 1", n, err)
	}
	if _, err := v.Restore(ctx, older.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore of a purged memory: %v, want ErrNotFound", err)
	}
	var deleted bool
	v.db.QueryRow("SELECT deleted FROM records WHERE id = ?", older.ID).Scan(&deleted)
	if !deleted {
		t.Fatal("a purged memory is not a tombstone")
	}
	if gone, _ := v.Forgotten(ctx); len(gone) != 1 || gone[0].ID != newer.ID {
		t.Fatalf("Forgotten after the first purge: %+v", gone)
	}
	if n, err := v.PurgeForgotten(ctx, time.Now().Add(SoftForgetWindow+time.Hour)); err != nil || n != 1 {
		t.Fatalf("purge later: %d %v, want 1", n, err)
	}
	if _, err := v.Get(ctx, kept.ID); err != nil {
		t.Fatalf("a memory never forgotten was purged: %v", err)
	}
	if gone, _ := v.Forgotten(ctx); len(gone) != 0 {
		t.Fatalf("Forgotten after purging all: %+v", gone)
	}
}

// A soft forget is a new version, so it travels like an edit: another copy
// of the vault that applies it hides the memory too, and a restore brings
// it back there.
func TestSoftForgetSyncs(t *testing.T) {
	ctx := context.Background()
	a, cfg := newTestVault(t)
	c := cfg
	c.Path += ".b"
	b, _, err := Create(ctx, c, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.keys = a.keys
	it := mustAdd(t, a, "the spare key is under the blue pot")
	ship := func() {
		t.Helper()
		changes, err := a.Changes(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			if _, err := b.Apply(ctx, ch.Record); err != nil {
				t.Fatal(err)
			}
		}
	}
	ship()
	if !findsMemory(t, b, Keyword, "spare key", it.ID) {
		t.Fatal("not found on the other copy")
	}
	if _, err := a.SoftForget(ctx, it.ID, ""); err != nil {
		t.Fatal(err)
	}
	ship()
	if _, err := b.Get(ctx, it.ID); !errors.Is(err, ErrNotFound) || findsMemory(t, b, Keyword, "spare key", it.ID) {
		t.Fatalf("the other copy still shows a soft-forgotten memory: %v", err)
	}
	if _, err := b.Restore(ctx, it.ID); err != nil {
		t.Fatalf("restore on the other copy: %v", err)
	}
	if !findsMemory(t, b, Keyword, "spare key", it.ID) {
		t.Fatal("restored memory not found")
	}
}
