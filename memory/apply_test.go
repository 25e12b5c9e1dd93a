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
	newer := schemas[KindMemory] + 1
	rec := Record{ID: id, Kind: KindMemory, Clock: clockAt(time.Now()), Origin: "newer-device", Sealed: v.keys.records.seal(id, KindMemory, newer, future)}
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
	if rec2 := (Record{Sealed: passed[id]}); rec2.Schema() != newer {
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

// Conversations and messages travel like memories: another copy of the
// vault (same key) applies them and reads, lists and searches them; a
// rename replaces, a delete arrives as tombstones; everything is
// idempotent.
func TestApplyConversationsFromAnotherCopy(t *testing.T) {
	ctx := context.Background()
	a, cfg := newTestVault(t)
	c := cfg
	c.Path += ".b"
	b, _, err := Create(ctx, c, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.keys = a.keys // the same vault key, as on a paired device
	var after int64
	ship := func(from int64) map[Outcome]int {
		t.Helper()
		changes, err := a.Changes(ctx, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		got := map[Outcome]int{}
		for _, ch := range changes {
			out, err := b.Apply(ctx, ch.Record)
			if err != nil {
				t.Fatalf("apply %s %s: %v", ch.Kind, ch.ID, err)
			}
			got[out]++
			after = max(after, ch.Seq)
		}
		return got
	}

	conv := mustConversation(t, a, "Synced chat")
	q := mustMessage(t, a, conv.ID, "", RoleUser, "what is the wifi password")
	r := mustMessage(t, a, conv.ID, q.ID, RoleAssistant, "it is on the router sticker")
	if got := ship(after); got[Inserted] != 3 {
		t.Fatalf("first shipment: %v, want 3 inserted", got)
	}
	list, err := b.Conversations(ctx, 0)
	if err != nil || len(list) != 1 || list[0].ID != conv.ID || list[0].Title != "Synced chat" || list[0].Messages != 2 {
		t.Fatalf("conversations on the other copy: %+v %v", list, err)
	}
	msgs, err := b.Messages(ctx, conv.ID)
	if err != nil || len(msgs) != 2 || msgs[0].ID != q.ID || msgs[1].ID != r.ID || msgs[1].ParentID != q.ID || msgs[1].Content != r.Content {
		t.Fatalf("messages on the other copy: %+v %v", msgs, err)
	}
	if res, err := b.SearchMessages(ctx, MessageQuery{Text: "router sticker"}); err != nil || len(res) == 0 || res[0].Message.ID != r.ID {
		t.Fatalf("message search on the other copy: %+v %v", res, err)
	}
	before := vaultState(t, b)
	if got := ship(0); got[Unchanged] != 3 || len(got) != 1 {
		t.Fatalf("shipping again: %v, want 3 unchanged", got)
	}
	if !slices.Equal(before, vaultState(t, b)) {
		t.Fatal("applying the same records again changed the vault")
	}

	title := "Wifi"
	if _, err := a.EditConversation(ctx, conv.ID, ConversationPatch{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if got := ship(after); got[Replaced] != 1 {
		t.Fatalf("rename: %v, want 1 replaced", got)
	}
	if got, _ := b.Conversation(ctx, conv.ID); got.Title != "Wifi" {
		t.Fatalf("renamed title on the other copy: %q", got.Title)
	}

	if err := a.DeleteConversation(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	if got := ship(after); got[Forgotten] != 3 {
		t.Fatalf("delete: %v, want 3 forgotten", got)
	}
	if _, err := b.Conversation(ctx, conv.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted conversation on the other copy: %v", err)
	}
	if res, _ := b.SearchMessages(ctx, MessageQuery{Text: "router sticker"}); len(res) != 0 {
		t.Fatalf("a deleted message is still found on the other copy: %+v", res)
	}
}
