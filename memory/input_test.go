package memory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBadInputStoresNothing(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	keep := mustAdd(t, v, "already stored")
	before := vaultState(t, v)

	long := strings.Repeat("x", 10<<20)
	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = strings.Repeat("t", i+1)
	}
	adds := map[string]NewItem{
		"empty text":      {Text: ""},
		"blank text":      {Text: " \n\t "},
		"10 MB text":      {Text: long},
		"invalid UTF-8":   {Text: "ok \xc3\x28 broken"},
		"unknown kind":    {Text: "fine", Kind: "gossip"},
		"empty tag":       {Text: "fine", Tags: []string{" "}},
		"long tag":        {Text: "fine", Tags: []string{strings.Repeat("t", MaxTagBytes+1)}},
		"too many tags":   {Text: "fine", Tags: many},
		"control in tag":  {Text: "fine", Tags: []string{"a\x00b"}},
		"invalid UTF tag": {Text: "fine", Tags: []string{"\xff"}},
	}
	for name, n := range adds {
		_, err := v.Add(ctx, n)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
			continue
		}
		if msg := err.Error(); len(msg) < 20 {
			t.Errorf("%s: message %q does not say what was wrong", name, msg)
		}
	}
	empty, bad := "", "\xff"
	kind := ItemKind("gossip")
	for name, p := range map[string]Patch{"empty": {Text: &empty}, "invalid": {Text: &bad}, "kind": {Kind: &kind}} {
		if _, err := v.Edit(ctx, keep.ID, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("edit %s: %v, want ErrInvalid", name, err)
		}
	}
	for _, id := range []string{"0190aaaa-0000-7000-8000-00000000dead", "not an id", ""} {
		if _, err := v.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("get %q: %v, want ErrNotFound", id, err)
		}
		text := "x"
		if _, err := v.Edit(ctx, id, Patch{Text: &text}); !errors.Is(err, ErrNotFound) {
			t.Errorf("edit %q: %v, want ErrNotFound", id, err)
		}
		if err := v.Forget(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("forget %q: %v, want ErrNotFound", id, err)
		}
	}
	if after := vaultState(t, v); !slices.Equal(before, after) {
		t.Fatal("refused input changed the vault")
	}
	if got, err := v.Get(ctx, keep.ID); err != nil || got.Text != "already stored" {
		t.Fatalf("what was stored before: %+v %v", got, err)
	}
}

func TestAddNormalisesTags(t *testing.T) {
	v, _ := newTestVault(t)
	it, err := v.Add(context.Background(), NewItem{Text: "  padded  ", Tags: []string{" Work ", "work", "Home"}})
	if err != nil {
		t.Fatal(err)
	}
	if it.Text != "padded" || !slices.Equal(it.Tags, []string{"work", "home"}) || it.Kind != Fact {
		t.Fatalf("got %+v", it)
	}
}
