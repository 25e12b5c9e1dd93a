package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProvenanceRoundTrips(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	msgs := []string{"0190aaaa-0000-7000-8000-0000000000m1", "0190aaaa-0000-7000-8000-0000000000m2"}
	it, err := v.Add(ctx, NewItem{
		Kind: Preference, Text: "Prefers trains to planes",
		Source: SourceStated, Quote: "  I'd always rather take the train  ", MessageIDs: append(msgs, msgs[0]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if it.Source != SourceStated || it.Quote != "I'd always rather take the train" || !slices.Equal(it.MessageIDs, msgs) {
		t.Fatalf("added: %+v", it)
	}
	v.Close()
	v = openTestVault(t, cfg)
	got, err := v.Get(ctx, it.ID)
	if err != nil || got.Source != SourceStated || got.Quote != it.Quote || !slices.Equal(got.MessageIDs, msgs) || got.ForgottenAt != nil {
		t.Fatalf("after reopening: %+v %v", got, err)
	}

	src, quote, ids := SourceInferred, "trains are nicer", []string{"m3"}
	edited, err := v.Edit(ctx, it.ID, Patch{Source: &src, Quote: &quote, MessageIDs: &ids})
	if err != nil || edited.Source != SourceInferred || edited.Quote != quote || !slices.Equal(edited.MessageIDs, ids) || edited.Text != it.Text {
		t.Fatalf("edit provenance: %+v %v", edited, err)
	}
	revs, err := v.Revisions(ctx, it.ID)
	if err != nil || len(revs) != 1 || revs[0].Source != SourceStated {
		t.Fatalf("the version before keeps its provenance: %+v %v", revs, err)
	}
	manual, err := v.Add(ctx, NewItem{Text: "typed by hand"})
	if err != nil || manual.Source != SourceManual || manual.Quote != "" || manual.MessageIDs != nil {
		t.Fatalf("a manual memory: %+v %v", manual, err)
	}
}

func TestProvenanceRefusals(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	keep := mustAdd(t, v, "already stored")
	before := vaultState(t, v)
	many := make([]string, MaxMessageIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf("msg-%d", i)
	}
	for name, n := range map[string]NewItem{
		"unknown source":     {Text: "x", Source: "rumour"},
		"bad message id":     {Text: "x", MessageIDs: []string{"../etc"}},
		"empty message id":   {Text: "x", MessageIDs: []string{""}},
		"too many messages":  {Text: "x", MessageIDs: many},
		"quote too long":     {Text: "x", Quote: strings.Repeat("q", MaxTextBytes+1)},
		"quote not UTF-8":    {Text: "x", Quote: "\xff"},
		"message id too big": {Text: "x", MessageIDs: []string{strings.Repeat("a", 65)}},
	} {
		if _, err := v.Add(ctx, n); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	src := Source("rumour")
	if _, err := v.Edit(ctx, keep.ID, Patch{Source: &src}); !errors.Is(err, ErrInvalid) {
		t.Errorf("edit to an unknown source: %v", err)
	}
	if _, err := v.Edit(ctx, keep.ID, Patch{MessageIDs: &many}); !errors.Is(err, ErrInvalid) {
		t.Errorf("edit to too many message ids: %v", err)
	}
	if after := vaultState(t, v); !slices.Equal(before, after) {
		t.Fatal("refused input changed the vault")
	}
}

// A memory written by an older build (schema 1, without the provenance
// fields) still opens, searches and edits; the edit writes schema 2 and
// keeps the old version as a revision.
func TestSchema1MemoryStillOpens(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	const id = "0190aaaa-0000-7000-8000-0000000000s1"
	old := []byte(`{"kind":"preference","text":"Likes green tea in the morning","tags":["drinks"],"pinned":true,` +
		`"created_at":"2025-01-02T03:04:05.006Z","updated_at":"2025-01-02T03:04:05.006Z"}`)
	rec := Record{ID: id, Kind: KindMemory, Clock: clockAt(time.Now()), Origin: "old-device", Sealed: v.keys.records.seal(id, KindMemory, 1, old)}
	if _, err := v.Apply(ctx, rec); err != nil {
		t.Fatal(err)
	}
	it, err := v.Get(ctx, id)
	if err != nil || it.Kind != Preference || it.Text != "Likes green tea in the morning" || !it.Pinned ||
		!slices.Equal(it.Tags, []string{"drinks"}) || it.Source != SourceManual || it.ForgottenAt != nil ||
		it.CreatedAt.Format(time.RFC3339Nano) != "2025-01-02T03:04:05.006Z" {
		t.Fatalf("schema 1 memory: %+v %v", it, err)
	}
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		if !findsMemory(t, v, mode, "green tea", id) {
			t.Fatalf("%s search does not find a schema 1 memory", mode)
		}
	}
	quote := "I always start with green tea"
	if _, err := v.Edit(ctx, id, Patch{Quote: &quote}); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := currentRecord(ctx, v.db, id)
	if cur.Schema() != 2 {
		t.Fatalf("an edit wrote schema %d, want 2", cur.Schema())
	}
	revs, err := v.Revisions(ctx, id)
	if err != nil || len(revs) != 1 || revs[0].Quote != "" || revs[0].Text != it.Text {
		t.Fatalf("the schema 1 version as a revision: %+v %v", revs, err)
	}
}
