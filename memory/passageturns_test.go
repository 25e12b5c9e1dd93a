package memory

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// A reply's passage takes its context from its parent as the parent is
// now: after the parent was rewritten (a newer version synced in), a new
// reply is found by the parent's new words and not by the old ones that
// the turn cache held from when the parent was first written.
func TestReplyContextFollowsItsParentsCurrentVersion(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	at := time.Date(2025, 5, 3, 10, 0, 0, 0, time.UTC)
	conv, msgs := chatAt(t, v, "Pets", at, "should we adopt a zebra", "a zebra needs a big garden")
	parent := msgs[1]

	// The parent's newer version: other words.
	p := messagePayload{ConversationID: conv.ID, CreatedAt: at.Add(time.Minute), ParentID: msgs[0].ID, Role: RoleAssistant, Content: "a giraffe needs a tall shed"}
	raw, _ := json.Marshal(&p)
	res, err := v.ApplyPlain(ctx, []PlainRecord{{ID: parent.ID, Kind: KindMessage, Clock: clockAt(time.Now().Add(time.Hour)), Origin: v.DeviceID(), Schema: 1, Payload: raw}}, false)
	if err != nil || res[0].Err != nil || res[0].Outcome != Replaced {
		t.Fatalf("rewrite the parent: %v %+v", err, res)
	}
	reply := pastMessage(t, v, conv.ID, parent.ID, RoleUser, "fine, I will build it", at.Add(2*time.Minute))

	found := func(q string) bool {
		got, err := v.SearchMessages(ctx, MessageQuery{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(ids(got), reply.ID)
	}
	if !found("giraffe shed") {
		t.Error("the reply is not found by its parent's current words")
	}
	if found("garden") {
		t.Error("the reply is found by words its parent no longer has")
	}
}
