package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/cairnlabs/cairn/memory"
)

// bearerTransport adds a token to every request, as an MCP client
// configured with a header does.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpConnect opens an MCP session on the fixture's /mcp with the SDK's
// own client.
func (f *fixture) mcpConnect(token string) (*mcp.ClientSession, error) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   f.srv.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearerTransport{token}},
		MaxRetries: -1,
	}, nil)
	if err == nil {
		f.t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

// callTool calls a tool and returns its structured output (decoded into
// out) and its text, failing the test on a protocol error.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) (text string, isError bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if !res.IsError && out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: structured output %s: %v", name, b, err)
		}
	}
	return text, res.IsError
}

type mcpList struct {
	Memories []mcpMemoryOut `json:"memories"`
}

func TestMCPOverHTTP(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cs, err := f.mcpConnect(f.admin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
		if tool.InputSchema == nil || tool.Description == "" {
			t.Errorf("tool %s has no schema or description", tool.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"add_memory", "forget_memory", "list_recent_memories", "search_conversations", "search_memory", "update_memory"}; !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	var added mcpMemoryOut
	if text, isErr := callTool(t, cs, "add_memory", map[string]any{"text": "Lives in Lisbon", "kind": "fact", "tags": []string{"home"}, "pinned": true}, &added); isErr || added.ID == "" {
		t.Fatalf("add: %s", text)
	}
	if it, err := f.vault.Get(ctx, added.ID); err != nil || it.Text != "Lives in Lisbon" || !it.Pinned || it.Source != memory.SourceModel {
		t.Fatalf("in the vault: %+v %v", it, err)
	}
	var found mcpList
	callTool(t, cs, "search_memory", map[string]any{"query": "lisbon", "limit": 5}, &found)
	if len(found.Memories) != 1 || found.Memories[0].ID != added.ID || found.Memories[0].Score == nil || found.Memories[0].Kind != "fact" || !slices.Equal(found.Memories[0].Tags, []string{"home"}) {
		t.Fatalf("search: %+v", found)
	}

	var updated mcpMemoryOut
	if text, isErr := callTool(t, cs, "update_memory", map[string]any{"id": added.ID, "text": "Lives in Porto"}, &updated); isErr || updated.Text != "Lives in Porto" || !updated.Pinned {
		t.Fatalf("update: %s %+v", text, updated)
	}
	revs, err := f.vault.Revisions(ctx, added.ID)
	if err != nil || !slices.ContainsFunc(revs, func(it memory.Item) bool { return it.Text == "Lives in Lisbon" }) {
		t.Fatalf("the old version is not a revision: %+v %v", revs, err)
	}

	// Pinned memories are resources.
	res, err := cs.ListResources(ctx, nil)
	if err != nil || len(res.Resources) != 1 || res.Resources[0].URI != "cairn://memory/"+added.ID {
		t.Fatalf("resources: %+v %v", res, err)
	}
	read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: res.Resources[0].URI})
	if err != nil || len(read.Contents) != 1 || read.Contents[0].Text != "Lives in Porto" {
		t.Fatalf("read resource: %+v %v", read, err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "cairn://memory/no-such-id"}); err == nil {
		t.Fatal("reading an unknown memory succeeded")
	}

	other, _ := f.vault.Add(ctx, memory.NewItem{Text: "Keeps bees"})
	var recent mcpList
	callTool(t, cs, "list_recent_memories", map[string]any{"limit": 10}, &recent)
	if len(recent.Memories) != 2 || recent.Memories[0].ID != other.ID {
		t.Fatalf("list recent: %+v", recent)
	}

	text, isErr := callTool(t, cs, "forget_memory", map[string]any{"id": added.ID, "reason": "moved"}, nil)
	if isErr || !strings.Contains(text, "cairn memory restore "+added.ID) || !strings.Contains(text, "not erased") {
		t.Fatalf("forget: %v %s", isErr, text)
	}
	if _, err := f.vault.Get(ctx, added.ID); err == nil {
		t.Fatal("a forgotten memory is still there")
	}
	forgotten, _ := f.vault.Forgotten(ctx)
	if len(forgotten) != 1 || forgotten[0].ForgottenWhy != "moved" {
		t.Fatalf("not soft-forgotten: %+v", forgotten)
	}
	if res, _ := cs.ListResources(ctx, nil); len(res.Resources) != 0 {
		t.Fatalf("a forgotten memory is still a resource: %+v", res.Resources)
	}

	// Mistakes come back as tool errors with the vault's message.
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"update_memory", map[string]any{"id": "no-such-id", "text": "x"}, "no memory with that id"},
		{"forget_memory", map[string]any{"id": added.ID}, "already forgotten"},
		{"update_memory", map[string]any{"id": other.ID}, "nothing to change"},
		{"add_memory", map[string]any{"text": "x", "kind": "gossip"}, "gossip"},
		{"add_memory", map[string]any{"text": "   "}, ""},
		{"add_memory", map[string]any{}, "text"},
		{"search_memory", map[string]any{"query": "bees", "limit": 1000}, "limit"},
	} {
		text, isErr := callTool(t, cs, c.tool, c.args, nil)
		if !isErr || !strings.Contains(text, c.want) {
			t.Errorf("%s %v: error %v %q, want a tool error with %q", c.tool, c.args, isErr, text, c.want)
		}
	}

	// A locked vault says so.
	f.vault.Lock()
	text, isErr = callTool(t, cs, "search_memory", map[string]any{"query": "bees"}, nil)
	if !isErr || !strings.Contains(text, "locked") {
		t.Fatalf("search while locked: %v %s", isErr, text)
	}
}

func TestMCPScopes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	it, _ := f.vault.Add(ctx, memory.NewItem{Text: "Allergic to penicillin"})
	reader, err := f.tokens.Create("editor", []string{ScopeMemoryRead})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := f.mcpConnect(reader)
	if err != nil {
		t.Fatal(err)
	}
	var found mcpList
	if text, isErr := callTool(t, cs, "search_memory", map[string]any{"query": "penicillin"}, &found); isErr || len(found.Memories) != 1 {
		t.Fatalf("read token search: %s", text)
	}
	var recent mcpList
	if text, isErr := callTool(t, cs, "list_recent_memories", nil, &recent); isErr || len(recent.Memories) != 1 {
		t.Fatalf("read token list: %s", text)
	}
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"add_memory", map[string]any{"text": "should not be stored"}},
		{"update_memory", map[string]any{"id": it.ID, "text": "changed"}},
		{"forget_memory", map[string]any{"id": it.ID}},
	} {
		text, isErr := callTool(t, cs, c.tool, c.args, nil)
		if !isErr || !strings.Contains(text, ScopeMemoryWrite) {
			t.Errorf("%s with memory:read: error %v %q", c.tool, isErr, text)
		}
	}
	if got, err := f.vault.Get(ctx, it.ID); err != nil || got.Text != "Allergic to penicillin" {
		t.Fatalf("a read-only token changed the memory: %+v %v", got, err)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("%d memories, want 1", n)
	}

	// No token, a wrong one, or one without memory:read: no session at all.
	if r := f.do("POST", "/mcp", "", strings.NewReader(`{}`)); r.status != http.StatusUnauthorized || errorCode(t, r) != "unauthorized" {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	if _, err := f.mcpConnect(""); err == nil {
		t.Fatal("an MCP client without a token connected")
	}
	chat, _ := f.tokens.Create("chatbot", []string{ScopeChat})
	if r := f.do("POST", "/mcp", chat, strings.NewReader(`{}`)); r.status != http.StatusForbidden || errorCode(t, r) != "forbidden" {
		t.Fatalf("chat-only token: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/mcp", f.admin, strings.NewReader(`{}`), "Origin", "https://evil.example"); r.status != http.StatusForbidden {
		t.Fatalf("cross-site origin: %d %s", r.status, r.body)
	}

	// A session opened with one token cannot be used with another.
	sid := cs.ID()
	if sid == "" {
		t.Fatal("no session id")
	}
	r := f.do("POST", "/mcp", f.admin, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add_memory","arguments":{"text":"hijack"}}}`),
		"Mcp-Session-Id", sid, "Content-Type", "application/json", "Accept", "application/json, text/event-stream")
	if r.status != http.StatusForbidden {
		t.Fatalf("session used with another token: %d %s", r.status, r.body)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("%d memories after refused requests, want 1", n)
	}

	// A revoked token is refused at once, mid-session.
	f.tokens.Revoke("editor")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_memory", Arguments: map[string]any{"query": "penicillin"}})
	if err == nil && !res.IsError {
		t.Fatal("a revoked token still searches")
	}
}
