package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/api"
)

// bearer adds an API token to every request, as an MCP client configured
// with a header does.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// longText is about n words of text that holds tag, for turns that fill a
// small context window.
func longText(tag string, n int) string {
	words := strings.Fields("the river runs past the old mill where my sister keeps bees and a small garden of herbs")
	var b strings.Builder
	b.WriteString(tag)
	for i := range n {
		b.WriteString(" " + words[i%len(words)])
	}
	return b.String()
}

// checkBackgroundThroughDesk: with desk/tiny as the laptop's chat model,
// the laptop's background work runs on desk too (its own Ollama is not
// there): extraction after a turn, and the summary of history that no
// longer fits desk/tiny's window (num_ctx 1024 in the laptop's settings);
// and an MCP client's memory search embeds its query through desk (the
// laptop's embedding model is desk/tiny). rec is desk's Ollama as desk
// sees it. It returns the words it sent, for the canary walk of desk's
// home.
func checkBackgroundThroughDesk(t *testing.T, laptop, laptopURL string, rec *ollamatest.Recorder) []string {
	t.Helper()
	ctx := context.Background()
	model := "desk/" + ollamatest.Tiny
	first, second, learnt := "CANARY-summary-7d2e", "CANARY-summary-93ab", "CANARY-extract-5e01"
	var turn struct{ Conversation struct{ ID string } }
	// Three turns of about 280 tokens each overflow desk/tiny's 1024 (722
	// for the prompt): the first is dropped and summarised.
	for i, tag := range []string{first, second, second + "-again"} {
		body := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/chat", map[string]any{"conversation_id": turn.Conversation.ID, "text": longText(tag, 200), "model": model}))
		if i == 0 {
			json.Unmarshal([]byte(body), &turn)
		}
		if !strings.Contains(body, `"reply"`) || turn.Conversation.ID == "" {
			t.Fatalf("a long turn through desk: %s", body)
		}
	}
	eventually(t, "the summary of the dropped turn was asked of desk's Ollama", func() bool {
		return rec.Saw("/api/chat", "Summarise this conversation", first)
	})
	eventually(t, "the summary made on desk is on the laptop's conversation", func() bool {
		conv := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "GET", "/api/v1/conversations/"+turn.Conversation.ID, nil))
		return strings.Contains(conv, `"summary":"`)
	})

	// Extraction on for one turn: it asks desk with a JSON schema (format)
	// about the person's words. Its job may go on in the background; no
	// reply follows here to preempt it.
	if s := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "PATCH", "/api/v1/settings", map[string]any{"extraction": true})); !strings.Contains(s, `"extraction":true`) {
		t.Fatalf("turn extraction on: %s", s)
	}
	if body := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/chat", map[string]any{"text": "I keep bees " + learnt, "model": model})); !strings.Contains(body, `"reply"`) {
		t.Fatalf("a turn with extraction on: %s", body)
	}
	eventually(t, "the laptop's extraction reached desk's Ollama", func() bool { return rec.Saw("/api/chat", `"format"`, learnt) })
	if s := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "PATCH", "/api/v1/settings", map[string]any{"extraction": false})); !strings.Contains(s, `"extraction":false`) {
		t.Fatalf("turn extraction off: %s", s)
	}

	// An MCP client of the laptop keeps and finds a memory; the query is
	// embedded on desk.
	tok, err := os.ReadFile(api.DefaultTokenPath(laptop))
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "editor", Version: "v0"}, nil).Connect(mctx, &mcp.StreamableClientTransport{
		Endpoint: laptopURL + "/mcp", HTTPClient: &http.Client{Transport: bearer{strings.TrimSpace(string(tok))}}, MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("an MCP client connects to the laptop: %v", err)
	}
	defer cs.Close()
	kept, query := "CANARY-mcp-memory-4f10 keeps bees by the river", "CANARY-mcp-query-b8c3 bees"
	if res, err := cs.CallTool(mctx, &mcp.CallToolParams{Name: "add_memory", Arguments: map[string]any{"text": kept}}); err != nil || res.IsError {
		t.Fatalf("add_memory on the laptop: %v %+v", err, res)
	}
	res, err := cs.CallTool(mctx, &mcp.CallToolParams{Name: "search_memory", Arguments: map[string]any{"query": query}})
	if err != nil || res.IsError {
		t.Fatalf("search_memory on the laptop: %v %+v", err, res)
	}
	if found := fmt.Sprint(res.StructuredContent); !strings.Contains(found, "CANARY-mcp-memory-4f10") {
		t.Fatalf("search_memory found %s, not the memory just kept", found)
	}
	if !rec.Saw("/api/embed", "CANARY-mcp-query-b8c3") {
		t.Fatal("the MCP search's query was not embedded on desk")
	}
	return []string{first, second, learnt, "CANARY-mcp-memory-4f10", "CANARY-mcp-query-b8c3"}
}
