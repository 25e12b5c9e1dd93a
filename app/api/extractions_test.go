package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// newExtractionFixture serves the API with an agent and a journal folder,
// whose only model backend does not answer (nothing listens on port 1):
// each message's extraction fails at once.
func newExtractionFixture(t *testing.T) *fixture {
	f := newFixture(t)
	bs, err := agent.NewBackends(agent.NewOllama("ollama", &url.URL{Scheme: "http", Host: "127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(f.vault, bs, agent.Config{Model: "tiny"})
	t.Cleanup(a.Close)
	srv := httptest.NewServer(New(Config{Vault: f.vault, Agent: a, Backends: bs, Tokens: f.tokens, ImportDir: filepath.Join(t.TempDir(), "imports")}).Handler())
	t.Cleanup(srv.Close)
	f.srv = srv
	return f
}

// Extraction jobs over the API: bad requests say what to send, the scope
// is memory:learn, the same messages find the same job, and a model that
// keeps failing ends the job as failed, counted, on the events stream.
func TestExtractionJobsOverTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newExtractionFixture(t)

	conv, _ := f.vault.CreateConversation(ctx, memory.NewConversation{Title: "history"})
	for _, said := range []string{"I grow tomatoes.", "I live in Lyon.", "I play the cello."} {
		if _, err := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: said}); err != nil {
			t.Fatal(err)
		}
	}
	if r := f.do("POST", "/api/v1/extractions", f.admin, strings.NewReader(`{}`)); r.status != 400 || !strings.Contains(r.body, "no messages of yours") {
		t.Fatalf("no messages: %d %s, want 400 saying what to send", r.status, r.body)
	}
	chatOnly, _ := f.tokens.Create("chat-only", []string{ScopeChat, ScopeMemoryRead})
	body := `{"conversation_ids":["` + conv.ID + `"]}`
	if r := f.do("POST", "/api/v1/extractions", chatOnly, strings.NewReader(body)); r.status != 403 {
		t.Fatalf("without memory:learn: %d %s, want 403", r.status, r.body)
	}

	// The events stream first, to see the job from its start.
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	r := f.do("POST", "/api/v1/extractions", f.admin, strings.NewReader(body))
	var job agent.ExtractionJob
	if r.status != 201 || json.Unmarshal([]byte(r.body), &job) != nil || job.Total != 3 || job.ID == "" {
		t.Fatalf("start: %d %s, want 201 and a job over the 3 messages", r.status, r.body)
	}
	if r := f.do("POST", "/api/v1/extractions", f.admin, strings.NewReader(body)); r.status != 200 || !strings.Contains(r.body, job.ID) {
		t.Fatalf("the same messages again: %d %s, want 200 and the same job", r.status, r.body)
	}

	sc := bufio.NewScanner(resp.Body)
	var last agent.ExtractionJob
	for last.State != agent.JobFailed && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, `"type":"extraction"`) {
			if err := json.Unmarshal([]byte(data), &last); err != nil {
				t.Fatalf("extraction event %s: %v", data, err)
			}
		}
	}
	if last.ID != job.ID || last.Errors != 3 || last.Done != 3 || !strings.Contains(last.Error, "start the extraction again") {
		t.Fatalf("last event %+v (%v), want the job failed after 3 errors, saying what to do", last, sc.Err())
	}
	if r := f.do("GET", "/api/v1/extractions/"+job.ID, f.admin, nil); r.status != 200 || !strings.Contains(r.body, `"state":"failed"`) {
		t.Errorf("get: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/extractions", f.admin, nil); r.status != 200 || !strings.Contains(r.body, job.ID) {
		t.Errorf("list: %d %s", r.status, r.body)
	}
	for _, bad := range []string{"nope", "..%2F..%2Fsettings"} {
		if r := f.do("GET", "/api/v1/extractions/"+bad, f.admin, nil); r.status != 404 {
			t.Errorf("job %s: %d %s, want 404", bad, r.status, r.body)
		}
		if r := f.do("DELETE", "/api/v1/extractions/"+bad, f.admin, nil); r.status != 404 {
			t.Errorf("cancel %s: %d %s, want 404", bad, r.status, r.body)
		}
	}
}

// POST /api/v1/import?extract=true starts the job over the person's
// messages of the import, and names it in the summary; importing again
// finds the same job.
func TestImportWithExtractStartsTheJob(t *testing.T) {
	f := newExtractionFixture(t)
	claude := filepath.Join("..", "..", "memory", "importers", "testdata", "claude_conversations.json")
	var first string
	for i := range 2 {
		file, err := os.Open(claude)
		if err != nil {
			t.Fatal(err)
		}
		r := f.do("POST", "/api/v1/import?extract=true", f.admin, file)
		file.Close()
		var out struct {
			Extraction *agent.ExtractionJob `json:"extraction"`
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil || out.Extraction == nil || out.Extraction.Total != 3 {
			t.Fatalf("import %d with extract: %d %s, want the job over the 3 messages of yours", i+1, r.status, r.body)
		}
		if i == 0 {
			first = out.Extraction.ID
		} else if out.Extraction.ID != first {
			t.Fatalf("the same import again started job %s, not %s", out.Extraction.ID, first)
		}
	}
}
