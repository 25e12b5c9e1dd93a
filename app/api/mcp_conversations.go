package api

import (
	"context"
	"errors"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/cairnlabs/cairn/memory"
)

// search_conversations: what the person said in past conversations
// (imported ones too), for agents that bring their own chat.

type mcpConversationSearchIn struct {
	Query          string `json:"query" jsonschema:"what to look for, in plain words"`
	Limit          int    `json:"limit,omitempty" jsonschema:"most messages to return, 1 to 100 (default 10)"`
	ConversationID string `json:"conversation_id,omitempty" jsonschema:"only this conversation"`
	Since          string `json:"since,omitempty" jsonschema:"only messages written from then on: a date (2025-05-03) or an RFC 3339 time"`
	Until          string `json:"until,omitempty" jsonschema:"only messages written before then: a date or an RFC 3339 time"`
	Mode           string `json:"mode,omitempty" jsonschema:"hybrid (default: keywords and meaning, keywords alone without an embedding model), keyword or vector"`
}

type mcpConversationSearchOut struct {
	Messages []foundMessage `json:"messages" jsonschema:"best first: each message with its conversation's id and title, role, created_at, snippet, score and the turns before and after"`
}

func (m *mcpMemory) addConversationTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{
		Name:  "search_conversations",
		Title: "Search past conversations",
		Description: "Search what the person and their assistants said in past conversations, imported ones included, by keyword and meaning. " +
			"Returns messages best first, each with its date, conversation title and id, and the turns around it. Needs the chat scope.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: mcpPtr(false)},
	}, m.searchConversations)
}

func (m *mcpMemory) searchConversations(ctx context.Context, req *mcp.CallToolRequest, in mcpConversationSearchIn) (*mcp.CallToolResult, mcpConversationSearchOut, error) {
	var out mcpConversationSearchOut
	if err := m.allow(req, ScopeChat); err != nil {
		return nil, out, err
	}
	limit, err := mcpLimit(in.Limit, 10)
	if err != nil {
		return nil, out, err
	}
	if strings.TrimSpace(in.Query) == "" {
		return nil, out, errors.New("query is empty: say what to look for")
	}
	since, err := parseWhen("since", in.Since)
	if err != nil {
		return nil, out, err
	}
	until, err := parseWhen("until", in.Until)
	if err != nil {
		return nil, out, err
	}
	res, err := m.vault.SearchMessages(ctx, memory.MessageQuery{Text: in.Query, Limit: limit, Mode: memory.Mode(in.Mode), ConversationID: in.ConversationID, Since: since, Until: until, Neighbours: true})
	if err != nil {
		return nil, out, mcpToolError(err)
	}
	out.Messages = foundMessages(res)
	return nil, out, nil
}
