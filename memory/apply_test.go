package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// remoteVersion seals a memory version as another device would have.
func remoteVersion(t *testing.T, v *Vault, id, text string, clock Clock, origin string) Record {
	t.Helper()
	raw, _ := json.Marshal(itemPayload{Kind: Fact, Text: text, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()})
	return Record{ID: id, Kind: KindMemory, Clock: clock, Origin: origin, Sealed: v.keys.records.seal(id, KindMemory, 1, raw)}
}

// vaultState is every record and revision, as comparable text.
func vaultState(t *testing.T, v *Vault) []string {
	t.Helper()
	rows, err := v.db.Query(`SELECT 'rec', id, kind, clock, origin, deleted, hex(coalesce(sealed, '')) FROM records
		UNION ALL SELECT 'rev', r.id, '', r.clock, r.origin, r.deleted, hex(coalesce(r.sealed, '')) FROM revisions r`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, e, g string
		var d int64
		var f bool
		if err := rows.Scan(&a, &b, &c, &d, &e, &f, &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(a, b, c, d, e, f, g))
	}
	slices.Sort(out)
	return out
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	const id = "0190aaaa-0000-7000-8000-000000000001"
	base := clockAt(time.Now().Add(-time.Hour))

	type step struct {
		clock   Clock
		origin  string
		text    string // "" for a tombstone
		outcome Outcome
	}
	cases := []struct {
		name      string
		steps     []step
		wantText  string // "" means forgotten
		revisions int
	}{
		{"newer wins, older kept as revision",
			[]step{{base, "dev-a", "v1", Inserted}, {base + 10, "dev-b", "v2", Replaced}}, "v2", 1},
		{"older loses and becomes a revision",
			[]step{{base + 10, "dev-a", "v2", Inserted}, {base, "dev-b", "v1", KeptAsRevision}}, "v2", 1},
		{"equal clocks: greater origin wins",
			[]step{{base, "dev-b", "from b", Inserted}, {base, "dev-a", "from a", KeptAsRevision}}, "from b", 1},
		{"tombstone beats an earlier edit arriving later",
			[]step{{base, "dev-a", "v1", Inserted}, {base + 20, "dev-b", "", Forgotten}, {base + 10, "dev-a", "v2", Unchanged}}, "", 0},
		{"tombstone beats a concurrent edit with a later clock",
			[]step{{base, "dev-a", "v1", Inserted}, {base + 5, "dev-a", "v2", Replaced}, {base + 20, "dev-b", "", Forgotten}, {base + 30, "dev-c", "v3", Unchanged}}, "", 0},
		{"tombstone first, for a record never seen",
			[]step{{base + 20, "dev-b", "", Inserted}, {base, "dev-a", "v1", Unchanged}}, "", 0},
		{"three versions: newest wins, two revisions",
			[]step{{base + 1, "dev-a", "v1", Inserted}, {base + 3, "dev-c", "v3", Replaced}, {base + 2, "dev-b", "v2", KeptAsRevision}}, "v3", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := newTestVault(t)
			for i, s := range tc.steps {
				rec := Record{ID: id, Kind: KindMemory, Clock: s.clock, Origin: s.origin, Deleted: true}
				if s.text != "" {
					rec = remoteVersion(t, v, id, s.text, s.clock, s.origin)
				}
				got, err := v.Apply(ctx, rec)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got != s.outcome {
					t.Fatalf("step %d: outcome %v, want %v", i, got, s.outcome)
				}
				// Idempotent: the same record again changes nothing.
				before := vaultState(t, v)
				if again, err := v.Apply(ctx, rec); err != nil || again != Unchanged {
					t.Fatalf("step %d applied twice: %v, %v", i, again, err)
				}
				if after := vaultState(t, v); !slices.Equal(before, after) {
					t.Fatalf("step %d: applying twice changed the vault", i)
				}
			}
			it, err := v.Get(ctx, id)
			if tc.wantText == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("want forgotten, got %+v %v", it, err)
				}
				var revs int
				v.db.QueryRow("SELECT count(*) FROM revisions WHERE id = ?", id).Scan(&revs)
				if revs != 0 {
					t.Fatalf("a forgotten record kept %d revisions", revs)
				}
				if res, _ := v.Search(ctx, Query{Text: "v1 v2 v3", Mode: Keyword}); len(res) != 0 {
					t.Fatalf("a forgotten record is still found: %+v", res)
				}
				return
			}
			if err != nil || it.Text != tc.wantText {
				t.Fatalf("current = %q (%v), want %q", it.Text, err, tc.wantText)
			}
			revs, err := v.Revisions(ctx, id)
			if err != nil || len(revs) != tc.revisions {
				t.Fatalf("revisions = %d (%v), want %d", len(revs), err, tc.revisions)
			}
			if res, _ := v.Search(ctx, Query{Text: tc.wantText, Mode: Keyword}); len(res) != 1 || res[0].ID != id {
				t.Fatalf("search for the winner: %+v", res)
			}
		})
	}
}

// Concurrent edits resolve the same way whatever the order they arrive in.
func TestApplyConvergesInAnyOrder(t *testing.T) {
	ctx := context.Background()
	const id = "0190aaaa-0000-7000-8000-000000000002"
	x, cfg := newTestVault(t)
	base := clockAt(time.Now())
	versions := []Record{
		remoteVersion(t, x, id, "laptop edit", base+7, "laptop"),
		remoteVersion(t, x, id, "phone edit", base+7, "phone"),
		remoteVersion(t, x, id, "desktop edit", base+5, "desktop"),
		{ID: "0190aaaa-0000-7000-8000-000000000003", Kind: KindMemory, Clock: base + 1, Origin: "phone", Deleted: true},
	}
	orders := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}}
	var want []string
	for i, order := range orders {
		// Each order on its own copy of the vault (same key).
		c := cfg
		c.Path = fmt.Sprintf("%s.%d", cfg.Path, i)
		v, _, err := Create(ctx, c, testPass)
		if err != nil {
			t.Fatal(err)
		}
		v.keys = x.keys // the same vault key, as on a paired device
		for _, j := range order {
			if _, err := v.Apply(ctx, versions[j]); err != nil {
				t.Fatal(err)
			}
		}
		state := vaultState(t, v)
		if it, _ := v.Get(ctx, id); it.Text != "phone edit" {
			t.Fatalf("order %v: winner %q, want the phone's (same clock, greater origin)", order, it.Text)
		}
		v.Close()
		if want == nil {
			want = state
		} else if !slices.Equal(want, state) {
			t.Fatalf("order %v ended in a different state:\n%v\nvs\n%v", order, state, want)
		}
	}
}

func TestApplyKeepsNewerSchemaUnchanged(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	const id = "0190aaaa-0000-7000-8000-000000000004"
	future := []byte(`{"kind":"fact","text":"from the future","embedding_hint":[1,2,3],"v2_field":true}`)
	rec := Record{ID: id, Kind: KindMemory, Clock: clockAt(time.Now()), Origin: "newer-device", Sealed: v.keys.records.seal(id, KindMemory, 2, future)}
	if out, err := v.Apply(ctx, rec); err != nil || out != Inserted {
		t.Fatalf("apply newer schema: %v %v", out, err)
	}
	if _, err := v.Get(ctx, id); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Get of a newer-schema memory: %v, want ErrNewerSchema", err)
	}
	text := "overwrite"
	if _, err := v.Edit(ctx, id, Patch{Text: &text}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Edit of a newer-schema memory: %v, want ErrNewerSchema", err)
	}
	// An unknown kind from a newer build travels too.
	other := Record{ID: "0190aaaa-0000-7000-8000-000000000005", Kind: "calendar.event", Clock: clockAt(time.Now()), Origin: "newer-device"}
	other.Sealed = v.keys.records.seal(other.ID, other.Kind, 1, []byte(`{"when":"tomorrow"}`))
	if _, err := v.Apply(ctx, other); err != nil {
		t.Fatalf("apply unknown kind: %v", err)
	}
	changes, err := v.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	passed := map[string][]byte{}
	for _, c := range changes {
		passed[c.ID] = c.Sealed
	}
	if !bytes.Equal(passed[id], rec.Sealed) || !bytes.Equal(passed[other.ID], other.Sealed) {
		t.Fatal("records of a newer schema or kind were not passed on byte for byte")
	}
	if rec2 := (Record{Sealed: passed[id]}); rec2.Schema() != 2 {
		t.Fatalf("schema read back as %d", rec2.Schema())
	}
}

func TestApplyRefusesBadRecords(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	good := remoteVersion(t, v, "0190aaaa-0000-7000-8000-000000000006", "hello", clockAt(time.Now()), "dev-b")
	flipped := good
	flipped.Sealed = bytes.Clone(good.Sealed)
	flipped.Sealed[len(flipped.Sealed)-20] ^= 1
	moved := good
	moved.ID = "0190aaaa-0000-7000-8000-000000000007" // sealed for another id
	cases := map[string]Record{
		"flipped bit":      flipped,
		"payload moved":    moved,
		"no payload":       {ID: good.ID, Kind: KindMemory, Clock: good.Clock, Origin: "dev-b"},
		"no clock":         {ID: good.ID, Kind: KindMemory, Origin: "dev-b", Sealed: good.Sealed},
		"bad id":           {ID: "../../etc", Kind: KindMemory, Clock: good.Clock, Origin: "dev-b", Sealed: good.Sealed},
		"tombstone + body": {ID: good.ID, Kind: KindMemory, Clock: good.Clock, Origin: "dev-b", Deleted: true, Sealed: good.Sealed},
		"huge":             {ID: good.ID, Kind: KindMemory, Clock: good.Clock, Origin: "dev-b", Sealed: make([]byte, MaxSealedSize+1)},
	}
	for name, rec := range cases {
		if _, err := v.Apply(ctx, rec); err == nil {
			t.Errorf("%s: applied, want an error", name)
		}
	}
	if n := len(vaultState(t, v)); n != 0 {
		t.Fatalf("refused records left %d rows", n)
	}
}
