package api

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory/importers"
	"github.com/cairnlabs/cairn/memory/memtest"
)

var chatGPTFixture = filepath.Join("..", "..", "memory", "importers", "testdata", "chatgpt_conversations.json")

// An imported ChatGPT export is searchable at once, through the API and
// MCP, and recalled in chat, with no extraction.
func TestImportedChatGPTExportFoundEverywhere(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	if _, _, err := importers.ImportFile(ctx, f.vault, chatGPTFixture, importers.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	search := func(query string) (int, []foundMessage) {
		t.Helper()
		r := f.do("GET", "/api/v1/messages/search?"+query, f.admin, nil)
		var out struct {
			Messages []foundMessage `json:"messages"`
		}
		if r.status == 200 {
			if err := json.Unmarshal([]byte(r.body), &out); err != nil {
				t.Fatal(err)
			}
		}
		return r.status, out.Messages
	}
	status, found := search("q=" + url.QueryEscape("vegetarian lunch Arashiyama"))
	if status != 200 || len(found) == 0 {
		t.Fatalf("search: %d %+v", status, found)
	}
	hit := found[0]
	if !strings.Contains(hit.Snippet, "Shigetsu") || hit.ConversationTitle != "Kyoto trip – 京都の旅 🗺️" || hit.Role != "assistant" ||
		!hit.CreatedAt.Equal(time.Unix(1714550520, 0)) || hit.ConversationID == "" || hit.ID == "" {
		t.Fatalf("first hit %+v: want the Shigetsu reply of the Kyoto trip at its original time", hit)
	}
	if status, found := search("q=Shigetsu&since=2024-06-01"); status != 200 || len(found) != 0 {
		t.Fatalf("since after the trip: %d %+v", status, found)
	}
	if status, found := search("q=Shigetsu&until=2024-06-01&conversation=" + hit.ConversationID); status != 200 || len(found) != 1 {
		t.Fatalf("until and conversation: %d %+v", status, found)
	}
	for query, want := range map[string]string{"": "q is missing", "q=x&since=yesterday": "since must be a date", "q=x&limit=0": "limit", "q=x&mode=fuzzy": "unknown search mode"} {
		if r := f.do("GET", "/api/v1/messages/search?"+query, f.admin, nil); r.status != 400 || !strings.Contains(r.body, want) {
			t.Errorf("%q: %d %s, want 400 saying %q", query, r.status, r.body, want)
		}
	}
	readOnly, err := f.tokens.Create("reader", []string{ScopeMemoryRead})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/v1/messages/search?q=Shigetsu", readOnly, nil); r.status != 403 {
		t.Fatalf("a memory:read token read messages: %d", r.status)
	}

	cs, err := f.mcpConnect(f.admin)
	if err != nil {
		t.Fatal(err)
	}
	var viaMCP mcpConversationSearchOut
	if text, isErr := callTool(t, cs, "search_conversations", map[string]any{"query": "Shigetsu", "limit": 3}, &viaMCP); isErr || len(viaMCP.Messages) != 1 || viaMCP.Messages[0].ID != hit.ID {
		t.Fatalf("search_conversations: %s", text)
	}
	rc, err := f.mcpConnect(readOnly)
	if err != nil {
		t.Fatal(err)
	}
	if text, isErr := callTool(t, rc, "search_conversations", map[string]any{"query": "Shigetsu"}, nil); !isErr || !strings.Contains(text, "chat scope") {
		t.Fatalf("search_conversations with memory:read only: %s", text)
	}

	turn, err := f.agent.Chat(ctx, agent.TurnRequest{Text: "Where should I have a vegetarian lunch in Arashiyama?", Limits: agent.Limits{NoExtraction: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(turn.Reply.RecalledIDs, hit.ID) {
		t.Fatalf("chat did not recall the imported message %s: %v", hit.ID, turn.Reply.RecalledIDs)
	}
}

// With an embedding model, imported messages are embedded and found by
// vector search through the API and MCP, and the status says how many
// are embedded; without one, vector search says what to do.
func TestMessageSearchByVector(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	if _, _, err := importers.ImportFile(ctx, f.vault, chatGPTFixture, importers.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/v1/messages/search?mode=vector&q=Shigetsu", f.admin, nil); r.status != 409 || !strings.Contains(r.body, "embedding model") {
		t.Fatalf("vector search without a model: %d %s, want 409 saying an embedding model is needed", r.status, r.body)
	}
	if err := f.vault.SetEmbedder(ctx, memtest.NewEmbedder(64)); err != nil {
		t.Fatal(err)
	}
	if err := f.vault.EmbedPassages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var status statusBody
	if r := f.do("GET", "/api/v1/status", f.admin, nil); r.status != 200 || json.Unmarshal([]byte(r.body), &status) != nil ||
		status.Search == nil || status.Search.MessagesTotal == 0 || status.Search.MessagesEmbedded != status.Search.MessagesTotal {
		t.Fatalf("status: %d %s, want every message embedded", r.status, r.body)
	}
	r := f.do("GET", "/api/v1/messages/search?mode=vector&limit=1&q="+url.QueryEscape("Shigetsu vegetarian temple lunch"), f.admin, nil)
	var out struct {
		Messages []foundMessage `json:"messages"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil || len(out.Messages) != 1 || !strings.Contains(out.Messages[0].Snippet, "Shigetsu") {
		t.Fatalf("vector search: %d %s", r.status, r.body)
	}
	cs, err := f.mcpConnect(f.admin)
	if err != nil {
		t.Fatal(err)
	}
	var viaMCP mcpConversationSearchOut
	if text, isErr := callTool(t, cs, "search_conversations", map[string]any{"query": "Shigetsu vegetarian temple lunch", "limit": 1, "mode": "vector"}, &viaMCP); isErr || len(viaMCP.Messages) != 1 || viaMCP.Messages[0].ID != out.Messages[0].ID {
		t.Fatalf("search_conversations in vector mode: %s", text)
	}
}
