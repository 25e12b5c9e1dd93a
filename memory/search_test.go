package memory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory/memtest"
)

func TestKeywordSearchCases(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	ids := map[string]string{}
	for key, text := range map[string]string{
		"run":    "I run every morning before work",
		"cafe":   "My favourite café is around the corner",
		"email":  "Reach me at Jane.Doe@example.org, not the old address!",
		"caps":   "PostgreSQL is the database we use at work",
		"tokyo":  "東京に住んでいます",
		"german": "Ich wohne in München",
	} {
		ids[key] = mustAdd(t, v, text).ID
	}
	cases := []struct {
		query string
		want  string // key of the expected first hit, "" for none
	}{
		{"running", "run"},      // stemming
		{"RUNS", "run"},         // case and stemming
		{"café", "cafe"},        // Unicode
		{"cafe", "cafe"},        // accents folded
		{"CAFÉ!", "cafe"},       // case and punctuation
		{"jane.doe", "email"},   // punctuation splits
		{"postgresql?", "caps"}, // punctuation stripped
		{"東京", "tokyo"},         // CJK, no spaces
		{"munchen", "german"},   // accents folded in other languages
		{"bicycle", ""},         // no such word
		{"favourite corner", "cafe"},
		{"what is the", ""},       // stopwords alone find nothing
		{"where do I run", "run"}, // stopwords do not dilute the rest
	}
	for _, c := range cases {
		res, err := v.Search(ctx, Query{Text: c.query, Mode: Keyword})
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		if c.want == "" {
			if len(res) != 0 {
				t.Errorf("%q: want nothing, got %q", c.query, res[0].Text)
			}
			continue
		}
		if len(res) == 0 || res[0].ID != ids[c.want] {
			t.Errorf("%q: want %q first, got %+v", c.query, c.want, res)
		}
	}
}

func TestSearchFollowsEditsAndForget(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	it := mustAdd(t, v, "My sister lives in Berlin", "family")
	mustAdd(t, v, "I prefer tea over coffee", "drinks")
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		if res, _ := v.Search(ctx, Query{Text: "Berlin sister", Mode: mode}); len(res) == 0 || res[0].ID != it.ID {
			t.Fatalf("%s: before edit, want the Berlin memory first: %+v", mode, res)
		}
	}
	text := "My sister moved to Vienna"
	if _, err := v.Edit(ctx, it.ID, Patch{Text: &text}); err != nil {
		t.Fatal(err)
	}
	if res, _ := v.Search(ctx, Query{Text: "Berlin", Mode: Keyword}); len(res) != 0 {
		t.Fatalf("the old text is still found after the edit: %+v", res)
	}
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		res, err := v.Search(ctx, Query{Text: "Vienna sister", Mode: mode})
		if err != nil || len(res) == 0 || res[0].ID != it.ID || res[0].Text != text {
			t.Fatalf("%s: after edit: %+v %v", mode, res, err)
		}
	}
	if err := v.Forget(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		res, _ := v.Search(ctx, Query{Text: "Vienna sister", Mode: mode})
		for _, r := range res {
			if r.ID == it.ID {
				t.Fatalf("%s: forgotten memory still found", mode)
			}
		}
	}
	if err := v.Forget(ctx, it.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second forget: %v, want ErrNotFound", err)
	}
}

func TestSearchFiltersPinsAndSnippets(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	mustAdd(t, v, "Coffee black, no sugar", "drinks")
	b, err := v.Add(ctx, NewItem{Kind: Preference, Text: "Coffee with oat milk in the afternoon", Tags: []string{"Drinks"}, Pinned: true})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("filler words here ", 30) + "the keyword zebra appears late " + strings.Repeat("more filler ", 30)
	c := mustAdd(t, v, long)

	res, _ := v.Search(ctx, Query{Text: "coffee", Kind: Preference})
	if len(res) != 1 || res[0].ID != b.ID {
		t.Fatalf("kind filter: %+v", res)
	}
	res, _ = v.Search(ctx, Query{Text: "coffee", Tag: "DRINKS"})
	if len(res) != 2 {
		t.Fatalf("tag filter (case-insensitive): %+v", res)
	}
	if res[0].ID != b.ID {
		t.Fatalf("the pinned memory should rank first among equals: %+v", res)
	}
	res, _ = v.Search(ctx, Query{Text: "zebra"})
	if len(res) == 0 || res[0].ID != c.ID {
		t.Fatalf("zebra: %+v", res)
	}
	if s := res[0].Snippet; !strings.Contains(s, "zebra") || len([]rune(s)) > snippetRunes+2 || !strings.HasPrefix(s, "…") {
		t.Fatalf("snippet %q should be short and show the match", s)
	}
	if res[0].Score <= 0 {
		t.Fatalf("score %v", res[0].Score)
	}
}

func TestHybridFallsBackToKeywordsWhenEmbedderFails(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	emb := v.currentEmbedder().(*memtest.Embedder)
	it := mustAdd(t, v, "The cat is called Miso")
	emb.SetFail(true)
	res, err := v.Search(ctx, Query{Text: "Miso"})
	if err != nil || len(res) != 1 || res[0].ID != it.ID {
		t.Fatalf("hybrid with a failing embedder: %+v %v", res, err)
	}
	// After a failure, hybrid searches leave the embedder alone for a while.
	calls := emb.Calls.Load()
	for range 3 {
		if _, err := v.Search(ctx, Query{Text: "Miso"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := emb.Calls.Load() - calls; n != 0 {
		t.Fatalf("hybrid searches asked a failing embedder %d more times", n)
	}
	if _, err := v.Search(ctx, Query{Text: "Miso", Mode: Vector}); err == nil {
		t.Fatal("vector mode with a failing embedder should say so")
	}
	// Memories added while the embedder was down are embedded once it is back.
	late := mustAdd(t, v, "The dog is called Pippin")
	emb.SetFail(false)
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = v.Search(ctx, Query{Text: "Pippin dog", Mode: Vector})
	if err != nil || len(res) == 0 || res[0].ID != late.ID {
		t.Fatalf("after the embedder came back: %+v %v", res, err)
	}
	calls = emb.Calls.Load()
	v.Search(ctx, Query{Text: "Pippin"})
	if emb.Calls.Load() == calls {
		t.Fatal("hybrid search did not use the embedder again once it worked")
	}
}

func TestBadQueries(t *testing.T) {
	v, _ := newTestVault(t)
	for _, q := range []Query{{Text: ""}, {Text: "   "}, {Text: "\xff\xfe"}, {Text: strings.Repeat("a", maxQueryBytes+1)}, {Text: "x", Mode: "magic"}, {Text: "x", Kind: "gossip"}} {
		if _, err := v.Search(context.Background(), q); !errors.Is(err, ErrInvalid) {
			t.Errorf("query %.20q mode %q kind %q: %v, want ErrInvalid", q.Text, q.Mode, q.Kind, err)
		}
	}
}

// Another handle on the same file (as another process would have) sees
// what this one writes, in keyword and vector search, without reopening.
func TestSecondHandleSeesWrites(t *testing.T) {
	ctx := context.Background()
	writer, cfg := newTestVault(t)
	reader := openTestVault(t, cfg)
	if res, _ := reader.Search(ctx, Query{Text: "kayak"}); len(res) != 0 {
		t.Fatal("found before it was written")
	}
	it := mustAdd(t, writer, "We bought a red kayak last summer")
	for _, mode := range []Mode{Keyword, Vector, Hybrid} {
		res, err := reader.Search(ctx, Query{Text: "red kayak", Mode: mode})
		if err != nil || len(res) == 0 || res[0].ID != it.ID {
			t.Fatalf("%s search in the other handle: %+v %v", mode, res, err)
		}
	}
	if err := writer.Forget(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, _ := reader.Search(ctx, Query{Text: "red kayak", Mode: Vector})
		if len(res) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other handle still finds a forgotten memory by vector")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
