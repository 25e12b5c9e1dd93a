package memory

import (
	"context"
	"testing"
	"time"
)

// A query of common terms only asks first for the messages holding all of
// them; when those are too few, messages holding only some are still found.
func TestCommonTermsQueryStillFindsPartialMatches(t *testing.T) {
	saved := commonDocs
	commonDocs = 1 // every term held by more than one row is common
	t.Cleanup(func() { commonDocs = saved })
	v, _ := newTestVault(t)
	ctx := context.Background()
	at := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	_, both := chatAt(t, v, "Weekend", at, "the garden shed needs a new boat cover", "ok")
	_, gardens := chatAt(t, v, "Garden", at, "the garden soil is dry", "water the garden", "garden again")
	_, boats := chatAt(t, v, "Sailing", at, "the boat trip was long", "the boat was small", "boat again")

	res, err := v.SearchMessages(ctx, MessageQuery{Text: "garden boat", Mode: Keyword})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res)
	if !containsID(got, both[0].ID) {
		t.Fatalf("the message holding both terms is not found: got %v", got)
	}
	if !containsID(got, gardens[0].ID) || !containsID(got, boats[0].ID) {
		t.Fatalf("messages holding one of the terms are lost: got %v, want %s and %s among them", got, gardens[0].ID, boats[0].ID)
	}
}
