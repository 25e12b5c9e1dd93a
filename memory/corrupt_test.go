package memory

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"testing"
)

// Flip one byte inside one sealed record on disk: that record fails with an
// error naming it; every other record reads; search still works.
func TestFlippedByteIsContained(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	victim := mustAdd(t, v, "the victim memory about gardening")
	var others []Item
	for _, s := range []string{"gardening tools in the shed", "gardening on Sundays", "cooking pasta"} {
		others = append(others, mustAdd(t, v, s))
	}
	v.Close()

	// Damage it from outside, as a disk error or a tamperer would.
	raw, err := sql.Open("sqlite3", (&url.URL{Scheme: "file", Path: cfg.Path}).String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("UPDATE records SET sealed = substr(sealed, 1, 40) || char(unicode(substr(sealed, 41, 1)) # 1) || substr(sealed, 42) WHERE id = ?", victim.ID); err != nil {
		// char/unicode work on text; do it in Go instead.
		var b []byte
		raw.QueryRow("SELECT sealed FROM records WHERE id = ?", victim.ID).Scan(&b)
		b[40] ^= 0x01
		if _, err := raw.Exec("UPDATE records SET sealed = ? WHERE id = ?", b, victim.ID); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	v2 := openTestVault(t, cfg)
	_, err = v2.Get(ctx, victim.ID)
	var re *RecordError
	if !errors.As(err, &re) || re.ID != victim.ID || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading the damaged record: %v, want a RecordError naming %s wrapping ErrCorrupt", err, victim.ID)
	}
	for _, o := range others {
		if got, err := v2.Get(ctx, o.ID); err != nil || got.Text != o.Text {
			t.Fatalf("an undamaged record failed: %+v %v", got, err)
		}
	}
	list, err := v2.List(ctx, ListOptions{})
	if err != nil || len(list) != len(others) {
		t.Fatalf("list: %d items, %v; want the %d undamaged", len(list), err, len(others))
	}
	for _, mode := range []Mode{Keyword, Hybrid} {
		res, err := v2.Search(ctx, Query{Text: "gardening", Mode: mode})
		if err != nil || len(res) < 2 || res[0].ID == victim.ID || res[1].ID == victim.ID {
			t.Fatalf("%s search: %+v %v; want the two undamaged gardening memories first", mode, res, err)
		}
		for _, r := range res {
			if r.ID == victim.ID {
				t.Fatalf("%s search returned the damaged record", mode)
			}
		}
	}
	bad, err := v2.Verify(ctx)
	if err != nil || len(bad) != 1 || !errors.As(bad[0], &re) || re.ID != victim.ID {
		t.Fatalf("verify: %v %v", bad, err)
	}
}
