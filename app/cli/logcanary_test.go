package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/cairnlabs/cairn/app/owner"
)

// logCanary is what the person types and the model says in
// TestNothingTypedReachesTheLogOfTheProcess: it must appear in no log line.
const logCanary = "zebracanary42"

// echoModel is an Ollama-compatible server (a real HTTP server on
// 127.0.0.1) whose model repeats the canary on every path that logs:
// extraction output that is not JSON, then JSON quoting it; tool calls
// with it as the tool's name and arguments; summaries and replies made of
// it. The tiny real model says random words, so it cannot.
type echoModel struct {
	mu     sync.Mutex
	served map[string]int // extraction, summary, tools, reply
}

func (m *echoModel) count(kind string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.served[kind]
}

func (m *echoModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/version":
		json.NewEncoder(w).Encode(map[string]string{"version": "0.11.4"})
	case "/api/tags":
		json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{{Name: "echo", Model: "echo", ModifiedAt: time.Now()}}})
	case "/api/ps":
		json.NewEncoder(w).Encode(api.ProcessResponse{})
	case "/api/show":
		json.NewEncoder(w).Encode(api.ShowResponse{ModelInfo: map[string]any{"llama.context_length": 4096.0},
			Capabilities: []model.Capability{model.CapabilityCompletion, model.CapabilityTools}})
	case "/api/embed":
		var in api.EmbedRequest
		json.NewDecoder(r.Body).Decode(&in)
		n := 1
		if list, ok := in.Input.([]any); ok {
			n = len(list)
		}
		out := api.EmbedResponse{Model: in.Model}
		for i := range n {
			out.Embeddings = append(out.Embeddings, []float32{1, float32(i%7) + 1, 0.5, 0.25})
		}
		json.NewEncoder(w).Encode(out)
	case "/api/chat":
		var in api.ChatRequest
		json.NewDecoder(r.Body).Decode(&in)
		kind, msg := m.answer(&in)
		m.mu.Lock()
		m.served[kind]++
		m.mu.Unlock()
		json.NewEncoder(w).Encode(api.ChatResponse{Model: in.Model, Message: msg, Done: true, DoneReason: "stop"})
	default:
		http.NotFound(w, r)
	}
}

func (m *echoModel) answer(in *api.ChatRequest) (string, api.Message) {
	said := "You said: I keep bees, " + logCanary
	last := in.Messages[len(in.Messages)-1]
	switch {
	case len(in.Format) > 0 && strings.Contains(string(in.Format), "source_quote"):
		if m.count("extraction")%2 == 0 {
			return "extraction", api.Message{Role: "assistant", Content: "Sure! " + said} // not the JSON asked for
		}
		return "extraction", api.Message{Role: "assistant", Content: `{"memories":[{"text":"Keeps bees ` + logCanary + `","kind":"` + logCanary + `","source":"stated","source_quote":"` + said + `"}]}`}
	case len(in.Format) > 0:
		return "decision", api.Message{Role: "assistant", Content: `{"decision":"` + logCanary + `"}`}
	case strings.HasPrefix(in.Messages[0].Content, "Summarise this conversation"):
		return "summary", api.Message{Role: "assistant", Content: "They said " + logCanary}
	case len(in.Tools) > 0 && last.Role != "tool":
		args := func(k, v string) api.ToolCallFunctionArguments { return api.ToolCallFunctionArguments{k: v} }
		return "tools", api.Message{Role: "assistant", ToolCalls: []api.ToolCall{
			{Function: api.ToolCallFunction{Name: logCanary, Arguments: args("text", logCanary)}},
			{Function: api.ToolCallFunction{Name: "forget", Arguments: args("id", logCanary)}},
			{Function: api.ToolCallFunction{Name: "remember", Arguments: api.ToolCallFunctionArguments{"text": "x " + logCanary, "kind": logCanary}}},
			{Function: api.ToolCallFunction{Name: "recall", Arguments: args("query", logCanary)}},
		}}
	}
	return "reply", api.Message{Role: "assistant", Content: "Noted, " + logCanary + ". " + strings.Repeat("More words to fill the window. ", 40)}
}

// TestNothingTypedReachesTheLogOfTheProcess runs the real `cairn -v serve`
// against a model that echoes the person, drives every path that logs
// (chat with extraction, summaries and tool calls on both chat paths,
// imports with bad entries), and greps everything the process printed for
// the canary. The CLI's own log lines at -v are held the same way.
func TestNothingTypedReachesTheLogOfTheProcess(t *testing.T) {
	m := &echoModel{served: map[string]int{}}
	srv := httptest.NewServer(m)
	defer srv.Close()
	home := newHome(t)
	if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{Model: "echo", EmbeddingModel: "echo", NumCtx: map[string]int{"echo": 1024}, MaxReplyTokens: 64}); err != nil {
		t.Fatal(err)
	}
	env := withOllama(strings.TrimPrefix(srv.URL, "http://"))
	url, cmd, stderr := startServe(t, home, env, "-v")
	tok := strings.TrimSpace(cairn(t, home, nil, "token").stdout)
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	said := "I keep bees, " + logCanary + ". " + strings.Repeat("Tell me more about hives and honey. ", 6)
	conv := ""
	for range 4 {
		body, _ := json.Marshal(map[string]string{"text": said, "conversation_id": conv})
		req, _ := http.NewRequest("POST", url+"/api/v1/chat", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var turn struct {
			Conversation struct {
				ID string `json:"id"`
			} `json:"conversation"`
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || json.Unmarshal(raw, &turn) != nil {
			t.Fatalf("chat: %d %s", resp.StatusCode, raw)
		}
		conv = turn.Conversation.ID
	}
	post("/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"`+said+`"}]}`)

	// Imports with entries that are refused or skipped, through the owner
	// and by the CLI at -v.
	bad := filepath.Join(t.TempDir(), "memories.jsonl")
	lines := `{"text":"` + logCanary + ` one","kind":"` + logCanary + `"}` + "\n" + `{"text":"` + logCanary + "\n" + `{"id":"` + logCanary + `","kind":"memory","payload":{"text":"` + logCanary + `"}}` + "\n" + `{"text":"fine, ` + logCanary + `"}` + "\n"
	if err := os.WriteFile(bad, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	imp := cairn(t, home, withPass, "-v", "import", bad)
	post("/api/v1/import", lines)

	// Wait for the facts: each path the test means to cover was served,
	// and the process said it handled them.
	for _, kind := range []string{"extraction", "summary", "tools"} {
		eventually(t, "the model was asked for "+kind, func() bool { return m.count(kind) > 0 })
	}
	for _, line := range []string{"memory extraction: model output is not the JSON asked for", "tool call failed"} {
		eventually(t, "the process logged "+line, func() bool { return strings.Contains(stderr.String(), line) })
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited, _ := serveExited.Load(cmd)
	<-exited.(<-chan struct{})
	out := stderr.String()
	if !strings.Contains(out, "level=INFO") { // the default level is WARN
		t.Fatalf("-v logged nothing below WARN, so the test checks less than it says:\n%s", out)
	}
	if strings.Contains(out, logCanary) {
		t.Fatalf("words of the conversation reached the log of cairn serve:\n%s", out)
	}
	for _, l := range strings.Split(imp.stderr, "\n") {
		if strings.Contains(l, "level=") && strings.Contains(l, logCanary) {
			t.Fatalf("words of the import reached the CLI's log:\n%s", imp.stderr)
		}
	}
}

// eventually waits for cond, a fact the test can observe (up to a minute,
// for a loaded machine).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
