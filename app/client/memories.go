package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// SearchMemories finds memories by keyword and meaning, best first. A
// blank q.Text makes it a listing, as the route does.
func (c *Client) SearchMemories(ctx context.Context, q apitype.MemoryQuery) ([]apitype.Memory, error) {
	vals := url.Values{"q": {q.Text}, "limit": {strconv.Itoa(q.Limit)}}
	setIf(vals, "mode", string(q.Mode))
	setIf(vals, "kind", string(q.Kind))
	setIf(vals, "tag", q.Tag)
	var out apitype.MemoryList
	err := c.do(ctx, "GET", "/api/v1/memories", vals, nil, &out)
	return out.Memories, err
}

// ListMemories lists memories, most recently changed first; q.Text is
// ignored and q.Limit 0 lists them all.
func (c *Client) ListMemories(ctx context.Context, q apitype.MemoryQuery) ([]apitype.Memory, error) {
	vals := url.Values{"limit": {strconv.Itoa(q.Limit)}}
	setIf(vals, "kind", string(q.Kind))
	setIf(vals, "tag", q.Tag)
	var out apitype.MemoryList
	err := c.do(ctx, "GET", "/api/v1/memories", vals, nil, &out)
	return out.Memories, err
}

// AddMemory remembers something; in.Text is required.
func (c *Client) AddMemory(ctx context.Context, in apitype.MemoryInput) (memory.Item, error) {
	var it memory.Item
	if err := checkUTF8(in); err != nil {
		return it, err
	}
	err := c.do(ctx, "POST", "/api/v1/memories", nil, in, &it)
	return it, err
}

// Memory is one memory by id.
func (c *Client) Memory(ctx context.Context, id string) (memory.Item, error) {
	var it memory.Item
	err := c.do(ctx, "GET", "/api/v1/memories/"+url.PathEscape(id), nil, nil, &it)
	return it, err
}

// MemoryRevisions are a memory's earlier versions, oldest first.
func (c *Client) MemoryRevisions(ctx context.Context, id string) ([]memory.Item, error) {
	var out apitype.Revisions
	err := c.do(ctx, "GET", "/api/v1/memories/"+url.PathEscape(id)+"/revisions", nil, nil, &out)
	return out.Revisions, err
}

// EditMemory changes the fields that in sets; the earlier version is kept as a
// revision.
func (c *Client) EditMemory(ctx context.Context, id string, in apitype.MemoryInput) (memory.Item, error) {
	var it memory.Item
	if err := checkUTF8(in); err != nil {
		return it, err
	}
	err := c.do(ctx, "PATCH", "/api/v1/memories/"+url.PathEscape(id), nil, in, &it)
	return it, err
}

// ForgetMemory forgets a memory for good, with its earlier versions.
func (c *Client) ForgetMemory(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/api/v1/memories/"+url.PathEscape(id), nil, nil, nil)
}

// checkUTF8 refuses text that JSON cannot carry: encoding/json would
// replace the bad bytes and store something the person did not write.
func checkUTF8(in apitype.MemoryInput) error {
	if in.Text != nil && !utf8.ValidString(*in.Text) {
		return notUTF8("text")
	}
	if in.Tags != nil {
		for _, t := range *in.Tags {
			if !utf8.ValidString(t) {
				return notUTF8("tag")
			}
		}
	}
	return nil
}

// notUTF8 is the error the vault gives for such text, as the API would
// answer it.
func notUTF8(what string) error {
	return &Error{Status: http.StatusBadRequest, Code: apitype.CodeInvalid, Message: memory.ErrInvalid.Error() + ": " + what + " is not valid UTF-8"}
}

func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// ForgottenMemories lists the memories a model forgot, which can still be
// restored, most recently forgotten first.
func (c *Client) ForgottenMemories(ctx context.Context) ([]memory.Item, error) {
	var out apitype.ForgottenList
	err := c.do(ctx, "GET", "/api/v1/memories/forgotten", nil, nil, &out)
	return out.Memories, err
}

// RestoreMemory brings back a memory a model forgot.
func (c *Client) RestoreMemory(ctx context.Context, id string) (memory.Item, error) {
	var it memory.Item
	err := c.do(ctx, "POST", "/api/v1/memories/"+url.PathEscape(id)+"/restore", nil, nil, &it)
	return it, err
}
