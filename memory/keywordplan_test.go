package memory

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// plannerLimits sets the planner's thresholds for one test.
func plannerLimits(t *testing.T, common, ranked, stop int) {
	c, r, s := commonDocs, maxRankedRows, stopDocs
	commonDocs, maxRankedRows, stopDocs = common, ranked, stop
	t.Cleanup(func() { commonDocs, maxRankedRows, stopDocs = c, r, s })
}

// A rare word finds its memory however many newer memories hold the
// query's common words: the cap on ranked rows applies only to queries of
// common words alone.
func TestRareTermIsFoundPastCommonOnes(t *testing.T) {
	plannerLimits(t, 2, 2, 1000)
	v, _ := newTestVault(t)
	ctx := context.Background()
	old, err := v.Add(ctx, NewItem{Text: "the quokka lives in the garden"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if _, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("garden note %d about the garden", i)}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := v.Search(ctx, Query{Text: "garden quokka", Mode: Keyword})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].ID != old.ID {
		t.Fatalf("the memory with the rare word is not first: %v", res)
	}
}

// A query of one word that more rows hold than the planner ranks still
// finds memories holding it: the newest of them (the trade keywordplan.go
// states), each holding the word.
func TestVeryCommonWordRanksTheNewestRows(t *testing.T) {
	plannerLimits(t, 2, 3, 1000)
	v, _ := newTestVault(t)
	ctx := context.Background()
	var added []Item
	for i := range 8 {
		it, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("garden note number %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, it)
	}
	res, err := v.Search(ctx, Query{Text: "garden", Mode: Keyword})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want the 3 newest memories holding the word", len(res))
	}
	newest := map[string]bool{}
	for _, it := range added[len(added)-3:] {
		newest[it.ID] = true
	}
	for _, r := range res {
		if !newest[r.ID] {
			t.Fatalf("%q is not among the newest memories holding the word", r.Text)
		}
	}
}

// A word in nearly every row is left out of a query that has a rarer one
// (it would only add its near-zero weight) and the rarer word decides.
func TestStopTermsGiveWayToRarerOnes(t *testing.T) {
	plannerLimits(t, 2, 1000, 4)
	v, _ := newTestVault(t)
	ctx := context.Background()
	for i := range 8 {
		if _, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("garden garden garden note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	boat, err := v.Add(ctx, NewItem{Text: "a garden with a boat"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Search(ctx, Query{Text: "garden boat", Mode: Keyword})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].ID != boat.ID {
		t.Fatalf("got %v, want only the memory with the rarer word", res)
	}
}

// The heads by conversation follow writes: a message added and a
// conversation deleted after the heads were read change those
// conversations and no other, as a rebuild from scratch would have them.
func TestHeadsByConversationFollowWrites(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	at := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	var convs []Conversation
	var msgs [][]Message
	for i := range 5 {
		c, ms := chatAt(t, v, fmt.Sprintf("chat %d", i), at, "one", "two", "three", "four", "five", "six")
		convs, msgs = append(convs, c), append(msgs, ms)
	}
	if _, err := v.Messages(ctx, convs[0].ID); err != nil { // heads read
		t.Fatal(err)
	}
	added := pastMessage(t, v, convs[0].ID, msgs[0][5].ID, RoleUser, "seven", at.Add(time.Hour))
	if err := v.DeleteConversation(ctx, convs[1].ID); err != nil {
		t.Fatal(err)
	}
	got, err := v.Messages(ctx, convs[0].ID)
	if err != nil || len(got) != 7 || got[6].ID != added.ID {
		t.Fatalf("conversation 0 after a message was added: %d messages, %v", len(got), err)
	}
	if _, err := v.Messages(ctx, convs[1].ID); err == nil {
		t.Fatal("a deleted conversation still lists messages")
	}
	incremental, err := v.messageHeads(ctx, v.db, v.keys)
	if err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	v.heads, v.headsSeen = nil, 0
	v.mu.Unlock()
	fresh, err := v.messageHeads(ctx, v.db, v.keys)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(incremental.byConv) != fmt.Sprint(fresh.byConv) {
		t.Fatalf("heads by conversation kept up with writes differ from a rebuild:\n%v\n%v", incremental.byConv, fresh.byConv)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "seven", Mode: Keyword, Neighbours: true})
	if err != nil || len(res) == 0 || res[0].Message.ID != added.ID || res[0].Before == nil || res[0].Before.ID != msgs[0][5].ID {
		t.Fatalf("the added message's turn before is not found: %v, %v", res, err)
	}
}

// The snippet's fast path for ASCII text finds the same first match as
// reading every word would.
func TestFirstMatchIsTheFirstMatchingWord(t *testing.T) {
	text := "The Runner was running, then ran; RUNS at 5am. Gardens: gardening! café"
	for _, q := range []string{"run", "garden", "5am", "ran", "nothing here", "the garden", "cafe"} {
		terms := words(q)
		want := 0
		for _, w := range wordSpans(text) {
			if slices.Contains(terms, w.term) {
				want = w.start
				break
			}
		}
		ascii := text[:len(text)-len(" café")]
		wantASCII := 0
		for _, w := range wordSpans(ascii) {
			if slices.Contains(terms, w.term) {
				wantASCII = w.start
				break
			}
		}
		if got := firstMatch(text, terms); got != want {
			t.Errorf("%q in non-ASCII text: at %d, want %d", q, got, want)
		}
		if got := firstMatch(ascii, terms); got != wantASCII {
			t.Errorf("%q: at %d, want %d", q, got, wantASCII)
		}
	}
}
