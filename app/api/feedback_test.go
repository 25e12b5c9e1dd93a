package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
)

// TestMyFeedbackListsRatingsAndTheirDatasets is the "My feedback" view: the
// person's ratings, newest first, with the reply each is about and the
// datasets it went into (a thumbs-up is an SFT and a KTO example; a
// stopped reply's rating is kept but goes into none), and the count of
// each dataset as the download would give it.
func TestMyFeedbackListsRatingsAndTheirDatasets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	conv, _ := f.vault.CreateConversation(ctx, memory.NewConversation{Title: "Soup"})
	q, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: "How long do I boil lentils?"})
	good, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "About twenty minutes. " + strings.Repeat("Stir now and then. ", 30)})
	stopped, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "Lentils are", Incomplete: true})
	for _, id := range []string{good.ID, stopped.ID} {
		if r := f.do("POST", "/api/v1/messages/"+id+"/feedback", f.admin, strings.NewReader(`{"rating": 1}`)); r.status != 201 {
			t.Fatalf("rate %s: %+v", id, r)
		}
	}
	chat, err := f.tokens.Create("chat-only", []string{ScopeChat})
	if err != nil {
		t.Fatal(err)
	}
	r := f.do("GET", "/api/v1/feedback", chat, nil)
	var body struct {
		Feedback []FeedbackEntry    `json:"feedback"`
		Datasets map[gym.Format]int `json:"datasets"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &body) != nil {
		t.Fatalf("feedback list: %+v", r)
	}
	if len(body.Feedback) != 2 {
		t.Fatalf("want both ratings, got %+v", body.Feedback)
	}
	last, first := body.Feedback[0], body.Feedback[1]
	if last.MessageID != stopped.ID || !last.Incomplete || len(last.Datasets) != 0 {
		t.Errorf("newest first, the stopped reply's rating kept but in no dataset: %+v", last)
	}
	if first.MessageID != good.ID || first.ConversationTitle != "Soup" || !strings.HasPrefix(first.Reply, "About twenty minutes.") ||
		!strings.HasSuffix(first.Reply, "…") || len(first.Reply) > replyExcerpt+len("…") {
		t.Errorf("the good reply's entry: %+v", first)
	}
	if strings.Join([]string{string(first.Datasets[0]), string(first.Datasets[len(first.Datasets)-1])}, ",") != "sft,kto" || len(first.Datasets) != 2 {
		t.Errorf("a thumbs-up goes into SFT and KTO, got %v", first.Datasets)
	}
	if body.Datasets[gym.SFT] != 1 || body.Datasets[gym.KTO] != 1 || body.Datasets[gym.DPO] != 0 {
		t.Errorf("dataset counts %v: want sft 1, kto 1, dpo 0", body.Datasets)
	}
	// The counts are what the download holds.
	if d := f.do("GET", "/api/v1/gym/dataset?format=sft", f.admin, nil); strings.Count(d.body, "\n") != body.Datasets[gym.SFT] {
		t.Errorf("the SFT download has %d lines, the view says %d", strings.Count(d.body, "\n"), body.Datasets[gym.SFT])
	}
}
