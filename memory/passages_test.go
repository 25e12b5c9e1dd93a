package memory

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// pastMessage stores a message written at a given time, as an import does.
func pastMessage(t testing.TB, v *Vault, convID, parentID string, role Role, text string, at time.Time) Message {
	t.Helper()
	p := messagePayload{ConversationID: convID, CreatedAt: at.UTC().Truncate(time.Millisecond), ParentID: parentID, Role: role, Content: text}
	raw, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(uuid.NewV7()).String()
	res, err := v.ApplyPlain(context.Background(), []PlainRecord{{ID: id, Kind: KindMessage, Clock: clockAt(time.Now()), Origin: v.DeviceID(), Schema: 1, Payload: raw}}, false)
	if err != nil || res[0].Err != nil {
		t.Fatalf("store past message: %v %+v", err, res)
	}
	return p.message(id)
}

// chatAt stores a conversation of alternating user and assistant turns,
// each a day after the one before, starting at start.
func chatAt(t testing.TB, v *Vault, title string, start time.Time, turns ...string) (Conversation, []Message) {
	t.Helper()
	conv, err := v.CreateConversation(context.Background(), NewConversation{Title: title})
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	parent := ""
	for i, text := range turns {
		role := RoleUser
		if i%2 == 1 {
			role = RoleAssistant
		}
		m := pastMessage(t, v, conv.ID, parent, role, text, start.Add(time.Duration(i)*time.Minute))
		out = append(out, m)
		parent = m.ID
	}
	return conv, out
}

func ids(res []MessageResult) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Message.ID)
	}
	return out
}

func TestMessageFoundByTheTurnsAroundIt(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	may := time.Date(2025, 5, 3, 10, 0, 0, 0, time.UTC)
	conv, msgs := chatAt(t, v, "Moving house", may,
		"we are thinking about leaving Porto for Lisbon",
		"when would the move to Lisbon happen?",
		"Yes, in May, right after the wedding.",
		"Congratulations!")
	chatAt(t, v, "Recipes", may, "how long do I bake bread", "about forty minutes")

	res, err := v.SearchMessages(ctx, MessageQuery{Text: "move to Lisbon", Neighbours: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res)
	if !containsID(got, msgs[2].ID) {
		t.Fatalf("the short answer %q is not found by the question that gave it meaning: %v", msgs[2].Content, got)
	}
	if got[0] != msgs[1].ID {
		t.Fatalf("the message with the words should rank first, got %v", got)
	}
	for _, r := range res {
		if r.Message.ID == msgs[2].ID {
			if r.ConversationTitle != conv.Title || r.Before == nil || r.Before.ID != msgs[1].ID || r.After == nil || r.After.ID != msgs[3].ID {
				t.Fatalf("result lacks its title or neighbours: %+v", r)
			}
			if !r.Message.CreatedAt.Equal(may.Add(2 * time.Minute)) {
				t.Fatalf("created_at %v, want the original time", r.Message.CreatedAt)
			}
		}
		if r.Message.ConversationID != conv.ID {
			t.Fatalf("a message of another conversation matched: %+v", r)
		}
	}
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestLongMessageIsCutIntoPassages(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	var b strings.Builder
	for i := range 600 {
		b.WriteString("filler" + string(rune('a'+i%26)) + " ")
	}
	b.WriteString("the spare key hides under the blue flowerpot")
	_, msgs := chatAt(t, v, "Long", time.Now().Add(-time.Hour), b.String())
	var n int
	if err := v.db.QueryRow("SELECT count(*) FROM passages p JOIN records r ON r.rid = p.rid WHERE r.id = ? AND p.part >= 0", msgs[0].ID).Scan(&n); err != nil || n < 3 {
		t.Fatalf("a message of 600 words has %d passages (%v), want several", n, err)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "blue flowerpot"})
	if err != nil || len(res) != 1 || res[0].Message.ID != msgs[0].ID || !strings.Contains(res[0].Snippet, "flowerpot") {
		t.Fatalf("words at the end of a long message not found with their snippet: %+v %v", res, err)
	}
}

func TestMessageSearchFilters(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	jan := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	jun := time.Date(2024, 6, 10, 9, 0, 0, 0, time.UTC)
	a, am := chatAt(t, v, "Winter", jan, "my sister visits in winter")
	_, bm := chatAt(t, v, "Summer", jun, "my sister visits in summer")
	cases := []struct {
		name string
		q    MessageQuery
		want []string
	}{
		{"all", MessageQuery{Text: "sister visits"}, []string{am[0].ID, bm[0].ID}},
		{"conversation", MessageQuery{Text: "sister visits", ConversationID: a.ID}, []string{am[0].ID}},
		{"since", MessageQuery{Text: "sister visits", Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}, []string{bm[0].ID}},
		{"until", MessageQuery{Text: "sister visits", Until: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}, []string{am[0].ID}},
		{"until is exclusive", MessageQuery{Text: "sister visits", Until: jan}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := v.SearchMessages(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(res)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for _, id := range c.want {
				if !containsID(got, id) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
	if _, err := v.SearchMessages(ctx, MessageQuery{Text: "sister", Since: jun, Until: jan}); err == nil || !strings.Contains(err.Error(), "not before") {
		t.Fatalf("an empty period is not refused clearly: %v", err)
	}
}

// A deleted conversation is never found again, and after a checkpoint the
// file holds neither its messages' ciphertext nor their index tokens.
func TestDeletedConversationLeavesNoPassages(t *testing.T) {
	v, cfg := newTestVault(t)
	ctx := context.Background()
	conv, msgs := chatAt(t, v, "Secret plans", time.Now().Add(-48*time.Hour),
		"the surprise party is at the lighthouse", "which lighthouse?", "the old lighthouse on the cliff")
	keep, kept := chatAt(t, v, "Other", time.Now().Add(-time.Hour), "the lighthouse keeper retired")
	if res, _ := v.SearchMessages(ctx, MessageQuery{Text: "lighthouse"}); len(res) != 4 {
		t.Fatalf("before delete: %d results, want 4", len(res))
	}
	keys, _ := v.unlockedKeys()
	toks := blindTokens(keys.messageIndex, words("surprise party cliff"))
	var blobs [][]byte
	for _, m := range msgs {
		var b []byte
		if err := v.db.QueryRow("SELECT sealed FROM records WHERE id = ?", m.ID).Scan(&b); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	if err := v.DeleteConversation(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	if err := v.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "lighthouse surprise party cliff"})
	if err != nil || len(res) != 1 || res[0].Message.ID != kept[0].ID || res[0].Message.ConversationID != keep.ID {
		t.Fatalf("after delete: %+v %v, want only the other conversation's message", res, err)
	}
	for _, tok := range toks {
		var n int
		if err := v.db.QueryRow("SELECT count(*) FROM passage_vocab WHERE term = ?", tok).Scan(&n); err != nil || n != 0 {
			t.Fatalf("token of a deleted message still indexed (%d rows, %v)", n, err)
		}
	}
	var rows int
	v.db.QueryRow("SELECT count(*) FROM passages p JOIN records r ON r.rid = p.rid WHERE r.kind = ? AND r.deleted = 1", KindMessage).Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d passage rows of deleted messages remain", rows)
	}
	home := filepath.Dir(cfg.Path)
	for i, b := range blobs {
		if hits := filesContaining(t, home, b[len(b)/2:len(b)/2+32]); len(hits) > 0 {
			t.Fatalf("ciphertext of deleted message %d still in %v", i, hits)
		}
	}
}

// A vault whose messages predate the passage index gets it built on its
// first message search.
func TestPassagesBuiltForOlderVault(t *testing.T) {
	v, cfg := newTestVault(t)
	ctx := context.Background()
	_, msgs := chatAt(t, v, "Old", time.Now().Add(-time.Hour), "the boat is called Mistral", "nice name")
	for _, stmt := range []string{"INSERT INTO passage_index(passage_index) VALUES('delete-all')", "DELETE FROM passages", "DELETE FROM meta WHERE key = 'passages_v1'"} {
		if _, err := v.db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	w := openTestVault(t, cfg)
	res, err := w.SearchMessages(ctx, MessageQuery{Text: "Mistral"})
	if err != nil || len(res) == 0 || res[0].Message.ID != msgs[0].ID {
		t.Fatalf("older vault not indexed on first search: %+v %v", res, err)
	}
}
