package memory

import (
	"context"
	"errors"
	"testing"
)

func TestFeedbackOnReplies(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	conv, err := v.CreateConversation(ctx, NewConversation{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	user, _ := v.AddMessage(ctx, NewMessage{ConversationID: conv.ID, Role: RoleUser, Content: "What is the capital of Portugal?"})
	reply, _ := v.AddMessage(ctx, NewMessage{ConversationID: conv.ID, ParentID: user.ID, Role: RoleAssistant, Content: "Porto."})
	fb, err := v.AddFeedback(ctx, NewFeedback{MessageID: reply.ID, Rating: -1, Correction: "Lisbon."})
	if err != nil {
		t.Fatal(err)
	}
	if fb.ConversationID != conv.ID || fb.Rating != -1 || fb.Correction != "Lisbon." {
		t.Fatalf("feedback %+v", fb)
	}
	for _, bad := range []NewFeedback{
		{MessageID: reply.ID, Rating: 5},
		{MessageID: reply.ID},
		{MessageID: user.ID, Rating: 1},
		{MessageID: "no-such-message", Rating: 1},
	} {
		if _, err := v.AddFeedback(ctx, bad); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// Kept across reopening; readable by message.
	v2 := openTestVault(t, cfg)
	got, err := v2.FeedbackOn(ctx, reply.ID)
	if err != nil || len(got) != 1 || got[0].ID != fb.ID {
		t.Fatalf("feedback after reopening: %+v, %v", got, err)
	}
	// Deleting the conversation deletes its feedback.
	if err := v.DeleteConversation(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := v.FeedbackOn(ctx, ""); len(all) != 0 {
		t.Fatalf("feedback outlived its conversation: %+v", all)
	}
}

func TestFeedbackPreferredBranch(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	conv, _ := v.CreateConversation(ctx, NewConversation{})
	user, _ := v.AddMessage(ctx, NewMessage{ConversationID: conv.ID, Role: RoleUser, Content: "Hi"})
	reply, _ := v.AddMessage(ctx, NewMessage{ConversationID: conv.ID, ParentID: user.ID, Role: RoleAssistant, Content: "Hello."})
	fb, err := v.AddFeedback(ctx, NewFeedback{MessageID: reply.ID, Preferred: true})
	if err != nil || !fb.Preferred {
		t.Fatalf("a preferred branch alone is feedback: %+v, %v", fb, err)
	}
	if got, _ := v.FeedbackOn(ctx, reply.ID); len(got) != 1 || !got[0].Preferred {
		t.Fatalf("preferred not kept: %+v", got)
	}
}
