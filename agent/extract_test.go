package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

type extractCase struct {
	name     string
	existing []string // memories before the turn
	before   string   // the assistant message the person answered
	said     string
	proposed []proposal
	// decide answers the decision call; %s is replaced by the id of the
	// first existing memory.
	decide string

	stored, dropped int
	reason          string
	// after checks the vault.
	after func(t *testing.T, v *memory.Vault, existing []memory.Item, rep ExtractionReport)
}

func runExtract(t *testing.T, c extractCase) {
	t.Helper()
	ctx := context.Background()
	v := newVault(t, nil)
	var existing []memory.Item
	for _, text := range c.existing {
		it, err := v.Add(ctx, memory.NewItem{Kind: memory.Fact, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		existing = append(existing, it)
	}
	b := newScripted(func(n int, req ChatRequest) ChatResponse {
		switch {
		case isExtraction(req):
			return jsonReply(t, map[string]any{"memories": c.proposed})
		case isDecision(req):
			d := c.decide
			if d == "" {
				d = `{"event":"ADD"}`
			}
			if len(existing) > 0 {
				d = strings.ReplaceAll(d, "%s", existing[0].ID)
			}
			return reply(d)
		}
		t.Errorf("unexpected request %+v", req)
		return reply("")
	})
	a := newAgent(t, v, b, Config{})
	conv, err := v.CreateConversation(ctx, memory.NewConversation{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	user, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: c.said})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := v.List(ctx, memory.ListOptions{})
	rep, err := a.Extract(ctx, "m", user, c.before)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Proposed != len(c.proposed) || rep.Proposed != rep.Stored+rep.Dropped {
		t.Errorf("proposed %d, stored %d, dropped %d: want proposed = %d = stored + dropped", rep.Proposed, rep.Stored, rep.Dropped, len(c.proposed))
	}
	if rep.Stored != c.stored || rep.Dropped != c.dropped {
		t.Fatalf("stored %d dropped %d (%v), want %d and %d", rep.Stored, rep.Dropped, rep.Reasons, c.stored, c.dropped)
	}
	if c.reason != "" && rep.Reasons[c.reason] == 0 {
		t.Errorf("reasons %v, want %q", rep.Reasons, c.reason)
	}
	if c.stored == 0 {
		after, _ := v.List(ctx, memory.ListOptions{})
		if fmt.Sprint(memTexts(before)) != fmt.Sprint(memTexts(after)) {
			t.Errorf("nothing should change: %q before, %q after", memTexts(before), memTexts(after))
		}
	}
	if c.after != nil {
		c.after(t, v, existing, rep)
	}
	// Every stored memory rests on the person's message.
	items, _ := v.List(ctx, memory.ListOptions{})
	for _, it := range items {
		if it.Source == memory.SourceStated || it.Source == memory.SourceInferred {
			if !slices.Contains(it.MessageIDs, user.ID) || !quoted(normalize(c.said), it.Quote) {
				t.Errorf("memory %q has no provenance: messages %v, quote %q", it.Text, it.MessageIDs, it.Quote)
			}
		}
	}
}

func memTexts(items []memory.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Text)
	}
	return out
}

func hasMemory(t *testing.T, v *memory.Vault, text string, source memory.Source) memory.Item {
	t.Helper()
	items, err := v.List(context.Background(), memory.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Text == text {
			if it.Source != source {
				t.Errorf("%q has source %q, want %q", text, it.Source, source)
			}
			return it
		}
	}
	t.Fatalf("no memory %q among %q", text, memTexts(items))
	return memory.Item{}
}

func TestExtraction(t *testing.T) {
	cases := []extractCase{
		{
			name: "stated fact is added", said: "I live in Lisbon and work night shifts as a nurse.",
			proposed: []proposal{{Text: "Works as a nurse", Kind: "fact", Source: "stated", Quote: "work night shifts as a nurse"}},
			stored:   1,
			after: func(t *testing.T, v *memory.Vault, _ []memory.Item, _ ExtractionReport) {
				hasMemory(t, v, "Works as a nurse", memory.SourceStated)
			},
		},
		{
			name: "inference keeps the quote it rests on", said: "My daughter starts kindergarten next week, so mornings will be hectic!",
			proposed: []proposal{{Text: "Has a young daughter", Kind: "fact", Source: "inferred", Quote: "my daughter starts kindergarten"}},
			stored:   1,
			after: func(t *testing.T, v *memory.Vault, _ []memory.Item, _ ExtractionReport) {
				it := hasMemory(t, v, "Has a young daughter", memory.SourceInferred)
				if it.Quote != "my daughter starts kindergarten" {
					t.Errorf("quote %q", it.Quote)
				}
			},
		},
		{
			name: "a change updates the memory", existing: []string{"Lives in Lisbon"}, said: "We moved to Porto last month.",
			proposed: []proposal{{Text: "Lives in Porto", Kind: "fact", Source: "stated", Quote: "We moved to Porto"}},
			decide:   `{"event":"UPDATE","id":"%s","text":"Lives in Porto (moved from Lisbon)"}`,
			stored:   1,
			after: func(t *testing.T, v *memory.Vault, existing []memory.Item, _ ExtractionReport) {
				it, err := v.Get(context.Background(), existing[0].ID)
				if err != nil || it.Text != "Lives in Porto (moved from Lisbon)" {
					t.Fatalf("memory after update: %+v, %v", it, err)
				}
				revs, _ := v.Revisions(context.Background(), it.ID)
				if len(revs) != 1 || revs[0].Text != "Lives in Lisbon" {
					t.Errorf("the old text is not kept as a revision: %+v", revs)
				}
			},
		},
		{
			name: "a contradiction deletes softly", existing: []string{"Has a cat named Tom"}, said: "Tom passed away in May; we have no pets now.",
			proposed: []proposal{{Text: "Has no pets", Kind: "fact", Source: "stated", Quote: "we have no pets now"}},
			decide:   `{"event":"DELETE","id":"%s"}`,
			stored:   1,
			after: func(t *testing.T, v *memory.Vault, existing []memory.Item, _ ExtractionReport) {
				ctx := context.Background()
				if _, err := v.Get(ctx, existing[0].ID); err == nil {
					t.Fatal("deleted memory still readable")
				}
				if _, err := v.Restore(ctx, existing[0].ID); err != nil {
					t.Fatalf("the person cannot undo the model's delete: %v", err)
				}
			},
		},
		{
			name: "not in English", said: "Ich trinke am liebsten Kräutertee, vor allem abends.",
			proposed: []proposal{{Text: "Trinkt am liebsten Kräutertee", Kind: "preference", Source: "stated", Quote: "ICH TRINKE am liebsten  Kräutertee"}},
			stored:   1,
			after: func(t *testing.T, v *memory.Vault, _ []memory.Item, _ ExtractionReport) {
				hasMemory(t, v, "Trinkt am liebsten Kräutertee", memory.SourceStated)
			},
		},
		{
			name: "the assistant's words are not the person's", before: "You seem to love Rust and hate Go.", said: "Haha, thanks for the help!",
			proposed: []proposal{{Text: "Loves Rust", Kind: "preference", Source: "stated", Quote: "You seem to love Rust"}},
			dropped:  1, reason: DropNoQuote,
		},
		{
			name: "a made-up quote is dropped", said: "Can you explain how photosynthesis works?",
			proposed: []proposal{{Text: "Is a biology teacher", Kind: "fact", Source: "inferred", Quote: "I teach biology"}},
			dropped:  1, reason: DropNoQuote,
		},
		{
			name: "a one-word quote proves nothing", said: "I think so.",
			proposed: []proposal{{Text: "Is thoughtful", Kind: "fact", Source: "inferred", Quote: "I"}},
			dropped:  1, reason: DropNoQuote,
		},
		{
			name: "known facts change nothing", existing: []string{"Prefers green tea"}, said: "I always drink green tea in the morning.",
			proposed: []proposal{{Text: "Likes green tea", Kind: "preference", Source: "stated", Quote: "I always drink green tea"}},
			decide:   `{"event":"NONE","id":"%s"}`,
			dropped:  1, reason: DropKnown,
		},
		{
			name: "near-duplicates merge", existing: []string{"Prefers green tea"}, said: "As you know, I prefer green tea.",
			proposed: []proposal{{Text: "prefers  green tea.", Kind: "preference", Source: "stated", Quote: "I prefer green tea"}},
			dropped:  1, reason: DropDuplicate,
			after: func(t *testing.T, v *memory.Vault, existing []memory.Item, _ ExtractionReport) {
				it, _ := v.Get(context.Background(), existing[0].ID)
				if len(it.MessageIDs) != 1 {
					t.Errorf("the message is not linked to the memory it repeats: %v", it.MessageIDs)
				}
			},
		},
		{
			name: "a decision about a memory not offered changes nothing", existing: []string{"Has a cat named Tom"}, said: "I have a dog named Rex.",
			proposed: []proposal{{Text: "Has a dog named Rex", Kind: "fact", Source: "stated", Quote: "I have a dog named Rex"}},
			decide:   `{"event":"DELETE","id":"0000-not-offered"}`,
			dropped:  1, reason: DropDecision,
		},
		{
			name: "bad kinds and empty text are dropped", said: "I'm allergic to peanuts.",
			proposed: []proposal{{Text: "", Kind: "fact", Source: "stated", Quote: "allergic to peanuts"}, {Text: "Allergic to peanuts", Kind: "secret", Source: "stated", Quote: "allergic to peanuts"}},
			dropped:  2, reason: DropInvalid,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runExtract(t, c) })
	}
}

func TestExtractionJunkChangesNothing(t *testing.T) {
	ctx := context.Background()
	for _, junk := range []string{"{not json", `{"memories": "lots"}`, "Sure! Here are the facts: ...", ""} {
		v := newVault(t, nil)
		if _, err := v.Add(ctx, memory.NewItem{Text: "Lives in Lisbon"}); err != nil {
			t.Fatal(err)
		}
		b := newScripted(func(n int, req ChatRequest) ChatResponse { return reply(junk) })
		a := newAgent(t, v, b, Config{})
		conv, _ := v.CreateConversation(ctx, memory.NewConversation{Title: "t"})
		user, _ := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: "I moved to Porto."})
		rep, err := a.Extract(ctx, "m", user, "")
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Junk || rep.Proposed != 0 || rep.Stored != 0 {
			t.Errorf("junk %q: report %+v", junk, rep)
		}
		items, _ := v.List(ctx, memory.ListOptions{})
		if len(items) != 1 || items[0].Text != "Lives in Lisbon" {
			t.Errorf("junk %q changed the vault: %q", junk, memTexts(items))
		}
	}
}

func TestQuoteNormalisation(t *testing.T) {
	said := normalize("Honestly — I'd rather take the train; flying scares me!")
	for quote, want := range map[string]bool{
		"I’d rather take the train": true, // any punctuation folds to a word break
		"i'd rather take the train": true,
		"flying scares me":          true,
		"FLYING, scares me.":        true,
		"flying scares":             true,
		"lying scares me":           false,
		"I love flying":             false,
		"":                          false,
	} {
		if got := quoted(said, quote); got != want {
			t.Errorf("quoted(%q) = %v, want %v", quote, got, want)
		}
	}
}
