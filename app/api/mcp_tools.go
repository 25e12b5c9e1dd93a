package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/cairnlabs/cairn/memory"
)

// MCP tool inputs and outputs. The SDK derives each tool's JSON schema
// from these types; the jsonschema tags are the descriptions a model
// reads.

// mcpMemoryOut is a memory as the tools return it.
type mcpMemoryOut struct {
	ID     string   `json:"id" jsonschema:"the memory's id, for update_memory and forget_memory"`
	Text   string   `json:"text"`
	Kind   string   `json:"kind" jsonschema:"fact, preference, note or summary"`
	Tags   []string `json:"tags"`
	Pinned bool     `json:"pinned"`
	// Score is set by search_memory only: higher is a better match.
	Score     *float64 `json:"score,omitempty" jsonschema:"how well it matched the query (search only; higher is better)"`
	UpdatedAt string   `json:"updated_at" jsonschema:"when it last changed (RFC 3339)"`
}

func mcpOut(it memory.Item) mcpMemoryOut {
	tags := it.Tags
	if tags == nil {
		tags = []string{}
	}
	return mcpMemoryOut{ID: it.ID, Text: it.Text, Kind: string(it.Kind), Tags: tags, Pinned: it.Pinned, UpdatedAt: it.UpdatedAt.Format(time.RFC3339)}
}

type mcpMemoriesOut struct {
	Memories []mcpMemoryOut `json:"memories"`
}

type mcpSearchIn struct {
	Query string `json:"query" jsonschema:"what to look for, in plain words; matched by keyword and by meaning"`
	Limit int    `json:"limit,omitempty" jsonschema:"most memories to return, 1 to 100 (default 10)"`
	Kind  string `json:"kind,omitempty" jsonschema:"only this kind: fact, preference, note or summary"`
	Tag   string `json:"tag,omitempty" jsonschema:"only memories with this tag"`
}

type mcpListIn struct {
	Limit int `json:"limit,omitempty" jsonschema:"most memories to return, 1 to 100 (default 20)"`
}

type mcpAddIn struct {
	Text   string   `json:"text" jsonschema:"the memory, one self-contained statement about the person, e.g. 'Is allergic to penicillin'"`
	Kind   string   `json:"kind,omitempty" jsonschema:"fact (default), preference, note or summary"`
	Tags   []string `json:"tags,omitempty" jsonschema:"short lower-case tags"`
	Pinned bool     `json:"pinned,omitempty" jsonschema:"pin it: pinned memories rank higher and are listed as resources"`
}

type mcpUpdateIn struct {
	ID     string    `json:"id" jsonschema:"the id of the memory to change"`
	Text   *string   `json:"text,omitempty" jsonschema:"the new text"`
	Kind   *string   `json:"kind,omitempty" jsonschema:"the new kind: fact, preference, note or summary"`
	Tags   *[]string `json:"tags,omitempty" jsonschema:"the new tags, replacing the old ones"`
	Pinned *bool     `json:"pinned,omitempty" jsonschema:"pin or unpin it"`
}

type mcpForgetIn struct {
	ID     string `json:"id" jsonschema:"the id of the memory to forget"`
	Reason string `json:"reason,omitempty" jsonschema:"why it is being forgotten, shown to the person when they review forgotten memories"`
}

type mcpForgetOut struct {
	ID               string `json:"id"`
	Forgotten        bool   `json:"forgotten"`
	RestorableUntil  string `json:"restorable_until" jsonschema:"until when the person can restore it (RFC 3339)"`
	HowToRestoreNote string `json:"note"`
}

func (m *mcpMemory) addTools(srv *mcp.Server) {
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: mcpPtr(false)}
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "search_memory",
		Title:       "Search memory",
		Description: "Search the person's memories by keyword and meaning. Returns the best matches first, each with its id, text, kind, tags and score.",
		Annotations: readOnly,
	}, m.search)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "list_recent_memories",
		Title:       "List recent memories",
		Description: "List the person's most recently added or changed memories, newest first.",
		Annotations: readOnly,
	}, m.listRecent)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "add_memory",
		Title:       "Add a memory",
		Description: "Remember something lasting about the person: a fact, a preference or a note. Returns the new memory. Needs the memory:write scope.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: mcpPtr(false), OpenWorldHint: mcpPtr(false)},
	}, m.add)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "update_memory",
		Title:       "Update a memory",
		Description: "Change a memory's text, kind, tags or pin; fields left out stay as they are. The old version is kept as a revision. Needs the memory:write scope.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: mcpPtr(false), IdempotentHint: true, OpenWorldHint: mcpPtr(false)},
	}, m.update)
	mcp.AddTool(srv, &mcp.Tool{
		Name:  "forget_memory",
		Title: "Forget a memory",
		Description: "Hide a memory the person no longer wants used. This is a soft forget: the memory leaves search and lists at once, " +
			"but it is not erased; the person can restore it for 30 days with `cairn memory restore ID`, after which it is erased for good. Needs the memory:write scope.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: mcpPtr(true), IdempotentHint: true, OpenWorldHint: mcpPtr(false)},
	}, m.forget)
}

func mcpPtr[T any](v T) *T { return &v }

func mcpLimit(n, def int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 1 || n > 100:
		return 0, fmt.Errorf("limit must be from 1 to 100, not %d", n)
	}
	return n, nil
}

func (m *mcpMemory) search(ctx context.Context, _ *mcp.CallToolRequest, in mcpSearchIn) (*mcp.CallToolResult, mcpMemoriesOut, error) {
	var out mcpMemoriesOut
	limit, err := mcpLimit(in.Limit, 10)
	if err != nil {
		return nil, out, err
	}
	if strings.TrimSpace(in.Query) == "" {
		return nil, out, errors.New("query is empty: say what to look for, or use list_recent_memories")
	}
	res, err := m.vault.Search(ctx, memory.Query{Text: in.Query, Limit: limit, Kind: memory.ItemKind(in.Kind), Tag: in.Tag})
	if err != nil {
		return nil, out, mcpToolError(err)
	}
	out.Memories = make([]mcpMemoryOut, 0, len(res))
	for _, r := range res {
		o := mcpOut(r.Item)
		o.Score = &r.Score
		out.Memories = append(out.Memories, o)
	}
	return nil, out, nil
}

func (m *mcpMemory) listRecent(ctx context.Context, _ *mcp.CallToolRequest, in mcpListIn) (*mcp.CallToolResult, mcpMemoriesOut, error) {
	var out mcpMemoriesOut
	limit, err := mcpLimit(in.Limit, 20)
	if err != nil {
		return nil, out, err
	}
	items, err := m.vault.List(ctx, memory.ListOptions{Limit: limit})
	if err != nil {
		return nil, out, mcpToolError(err)
	}
	out.Memories = make([]mcpMemoryOut, 0, len(items))
	for _, it := range items {
		out.Memories = append(out.Memories, mcpOut(it))
	}
	return nil, out, nil
}

func (m *mcpMemory) add(ctx context.Context, req *mcp.CallToolRequest, in mcpAddIn) (*mcp.CallToolResult, mcpMemoryOut, error) {
	if err := m.allow(req, ScopeMemoryWrite); err != nil {
		return nil, mcpMemoryOut{}, err
	}
	// An MCP client is a model acting: its memories say so.
	it, err := m.vault.Add(ctx, memory.NewItem{Kind: memory.ItemKind(in.Kind), Text: in.Text, Tags: in.Tags, Pinned: in.Pinned, Source: memory.SourceModel})
	if err != nil {
		return nil, mcpMemoryOut{}, mcpToolError(err)
	}
	return nil, mcpOut(it), nil
}

func (m *mcpMemory) update(ctx context.Context, req *mcp.CallToolRequest, in mcpUpdateIn) (*mcp.CallToolResult, mcpMemoryOut, error) {
	if err := m.allow(req, ScopeMemoryWrite); err != nil {
		return nil, mcpMemoryOut{}, err
	}
	if in.Text == nil && in.Kind == nil && in.Tags == nil && in.Pinned == nil {
		return nil, mcpMemoryOut{}, errors.New("nothing to change: give at least one of text, kind, tags or pinned")
	}
	p := memory.Patch{Text: in.Text, Tags: in.Tags, Pinned: in.Pinned}
	if in.Kind != nil {
		k := memory.ItemKind(*in.Kind)
		p.Kind = &k
	}
	it, err := m.vault.Edit(ctx, in.ID, p)
	if err != nil {
		return nil, mcpMemoryOut{}, mcpToolError(err)
	}
	return nil, mcpOut(it), nil
}

func (m *mcpMemory) forget(ctx context.Context, req *mcp.CallToolRequest, in mcpForgetIn) (*mcp.CallToolResult, mcpForgetOut, error) {
	if err := m.allow(req, ScopeMemoryWrite); err != nil {
		return nil, mcpForgetOut{}, err
	}
	it, err := m.vault.SoftForget(ctx, in.ID, in.Reason)
	if err != nil {
		return nil, mcpForgetOut{}, mcpToolError(err)
	}
	until := it.ForgottenAt.Add(memory.SoftForgetWindow)
	out := mcpForgetOut{
		ID: it.ID, Forgotten: true, RestorableUntil: until.Format(time.RFC3339),
		HowToRestoreNote: "Hidden, not erased: the person can restore it until " + until.Format(time.DateOnly) + " with `cairn memory restore " + it.ID + "`; after that it is erased for good.",
	}
	res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Forgot memory " + it.ID + ". " + out.HowToRestoreNote}}}
	return res, out, nil
}
