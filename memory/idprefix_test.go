package memory

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestResolveIDTakesUniquePrefixes(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	a, err := v.CreateConversation(ctx, NewConversation{Title: "one"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.CreateConversation(ctx, NewConversation{Title: "two"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.ResolveID(ctx, KindConversation, ShortID(a.ID)); err != nil || got != a.ID {
		t.Fatalf("short id %s: %q, %v", ShortID(a.ID), got, err)
	}
	if got, err := v.ResolveID(ctx, KindConversation, a.ID); err != nil || got != a.ID {
		t.Fatalf("whole id: %q, %v", got, err)
	}
	// The shared start of two ids picks neither, and says so.
	common := 0
	for common < len(a.ID) && a.ID[common] == b.ID[common] {
		common++
	}
	if common >= MinIDPrefix {
		if _, err := v.ResolveID(ctx, KindConversation, a.ID[:common]); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "several conversations") {
			t.Fatalf("ambiguous prefix: %v", err)
		}
	}
	if _, err := v.ResolveID(ctx, KindMemory, ShortID(a.ID)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a conversation's prefix as a memory: %v", err)
	}
	if _, err := v.ResolveID(ctx, KindConversation, "01"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too short: %v", err)
	}
	if err := v.DeleteConversation(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ResolveID(ctx, KindConversation, ShortID(a.ID)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted conversation's prefix: %v", err)
	}
}
