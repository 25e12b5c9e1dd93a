package client

import (
	"context"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// Conversations lists conversations, most recent first: at most limit, 0
// for all.
func (c *Client) Conversations(ctx context.Context, limit int) ([]memory.Conversation, error) {
	var out apitype.ConversationList
	err := c.do(ctx, "GET", "/api/v1/conversations", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &out)
	return out.Conversations, err
}

// Conversation is one conversation with every message of every branch.
func (c *Client) Conversation(ctx context.Context, id string) (apitype.ConversationDetail, error) {
	var out apitype.ConversationDetail
	err := c.do(ctx, "GET", "/api/v1/conversations/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// RenameConversation gives a conversation a new title.
func (c *Client) RenameConversation(ctx context.Context, id, title string) (memory.Conversation, error) {
	var out memory.Conversation
	if !utf8.ValidString(title) {
		return out, notUTF8("title")
	}
	err := c.do(ctx, "PATCH", "/api/v1/conversations/"+url.PathEscape(id), nil, apitype.ConversationPatch{Title: &title}, &out)
	return out, err
}

// DeleteConversation deletes a conversation and all its messages.
func (c *Client) DeleteConversation(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/api/v1/conversations/"+url.PathEscape(id), nil, nil, nil)
}

// AddFeedback rates a reply (its id, or a unique prefix of it), comments
// on it, corrects it or marks it preferred; kept in the vault.
func (c *Client) AddFeedback(ctx context.Context, messageID string, in apitype.FeedbackInput) (memory.Feedback, error) {
	var fb memory.Feedback
	if !utf8.ValidString(in.Comment) || !utf8.ValidString(in.Correction) {
		return fb, notUTF8("the feedback")
	}
	err := c.do(ctx, "POST", "/api/v1/messages/"+url.PathEscape(messageID)+"/feedback", nil, in, &fb)
	return fb, err
}
