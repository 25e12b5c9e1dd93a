package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// A question joining two things said in different conversations finds
// both: the gift names the aunt, and the aunt's name finds her town.
func TestRecallLinksTwoConversations(t *testing.T) {
	v := newVault(t, nil)
	ctx := context.Background()
	may := time.Date(2025, 5, 3, 10, 0, 0, 0, time.UTC)
	_, gift := pastChat(t, v, "Music", may, "my aunt Amara gave me her old cello", "What a lovely present.")
	_, visit := pastChat(t, v, "Plans", may.AddDate(0, 1, 0), "visiting Amara next month", "Where does she live these days?", "Still up in Ghent, by the harbour.")
	for i := range 12 { // other talk that shares the question's words
		pastChat(t, v, "Chat", may.AddDate(0, 0, i), "which town is best to live in", "Many towns are; it depends what you like.", "my friend's aunt gave a talk there")
	}
	q := memory.MessageQuery{Text: "in which town does the aunt who gave me the cello live?", Limit: 6, Mode: memory.Keyword}
	one, err := v.SearchMessages(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(resultIDs(one), visit[2]) {
		t.Fatalf("premise: one search should miss the town among the other talk, got %v", resultIDs(one))
	}
	two, err := searchTwoHops(ctx, v, q)
	if err != nil {
		t.Fatal(err)
	}
	got := resultIDs(two)
	if !slices.Contains(got, gift[0]) || !slices.Contains(got, visit[2]) {
		t.Fatalf("want the gift %s and the town %s among %v", gift[0], visit[2], got)
	}
	if got[0] != resultIDs(one)[0] {
		t.Fatalf("the second hop pushed down the best match of the question: %v, first hop %v", got, resultIDs(one))
	}
}
