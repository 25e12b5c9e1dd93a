package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cairnlabs/cairn/app/apitype"
)

// stalledOllama answers every chat request by hanging until the caller
// gives up, and says when the first one arrives: an owner stopped while a
// model reads a message, deterministically.
func stalledOllama(t *testing.T) (host string, asked <-chan struct{}) {
	ch, stop := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/chat" {
			http.NotFound(w, r)
			return
		}
		once.Do(func() { close(ch) })
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://"), ch
}

func stopServe(t *testing.T, cmd interface{ Signal(os.Signal) error }, key any) {
	t.Helper()
	cmd.Signal(syscall.SIGTERM)
	exited, _ := serveExited.Load(key)
	<-exited.(<-chan struct{})
}

// cairn import --extract with an owner: the command returns once the job
// is started; an owner stopped in the middle of it leaves the journal,
// and the next owner goes on by itself, with the real tiny model, to the
// end; the same import again finds the job done.
func TestImportExtractRunsInTheOwnerAndResumesAfterARestart(t *testing.T) {
	home := chatHome(t)
	// One message of the person's: the real model reads it once, in the
	// second owner (seconds on a loaded CPU each).
	claude := filepath.Join(t.TempDir(), "claude.json")
	if err := os.WriteFile(claude, []byte(oneMessageClaudeExport), 0o600); err != nil {
		t.Fatal(err)
	}

	stalled, asked := stalledOllama(t)
	_, cmd, _ := startServe(t, home, withOllama(stalled))
	r := ok(t, cairn(t, home, nil, "import", claude, "--extract", "--model", "tiny"), "import --extract through the owner")
	if !strings.Contains(r.stderr, "Imported 1 conversation") || !strings.Contains(r.stderr, "Extracting memories from 1 of your messages in the cairn process serving this home") || !strings.Contains(r.stderr, "cairn import status --watch") {
		t.Fatalf("import --extract through the owner: %s", r.stderr)
	}
	<-asked // the owner's model reads the first message
	stopServe(t, cmd.Process, cmd)

	r = ok(t, cairn(t, home, nil, "import", "status", "--json"), "status with no owner")
	jobs := jsonLines[apitype.ExtractionList](t, r.stdout)
	if len(jobs) != 1 || len(jobs[0].Extractions) != 1 {
		t.Fatalf("status: %s", r.stdout)
	}
	j := jobs[0].Extractions[0]
	if j.Finished() || j.Done != 0 || j.Total != 1 {
		t.Fatalf("after the owner stopped mid-job: %+v, want unfinished at 0 of 1", j)
	}

	_, cmd, _ = startServe(t, home, withOllama(ollama.Host))
	ok(t, cairn(t, home, nil, "import", "status", "--watch"), "status --watch")
	r = ok(t, cairn(t, home, nil, "import", "status", "--json"), "status after the watch")
	if jobs = jsonLines[apitype.ExtractionList](t, r.stdout); len(jobs) != 1 || len(jobs[0].Extractions) != 1 {
		t.Fatalf("status: %s", r.stdout)
	}
	if j = jobs[0].Extractions[0]; j.State != "done" || j.Done != 1 {
		t.Fatalf("the restarted owner did not finish the job: %+v", j)
	}
	r = ok(t, cairn(t, home, nil, "import", claude, "--extract", "--model", "tiny"), "the same import again")
	if !strings.Contains(r.stderr, "nothing new") || !strings.Contains(r.stderr, "already extracted from these 1 message") {
		t.Fatalf("the same import again: %s", r.stderr)
	}
	stopServe(t, cmd.Process, cmd)
}

const oneMessageClaudeExport = `[{"uuid": "5e0c0a51-6d8e-4b7a-9c1d-2e3f4a5b6c70", "name": "Garden", "created_at": "2024-05-03T08:15:02Z", "updated_at": "2024-05-03T08:16:02Z",
 "chat_messages": [
  {"uuid": "5e0c0a51-1111-4111-8111-111111111111", "text": "I grow tomatoes on my balcony.", "sender": "human", "created_at": "2024-05-03T08:15:02Z", "parent_message_uuid": "00000000-0000-4000-8000-000000000000"},
  {"uuid": "5e0c0a51-2222-4222-8222-222222222222", "text": "Nice: which kind?", "sender": "assistant", "created_at": "2024-05-03T08:15:09Z", "parent_message_uuid": "5e0c0a51-1111-4111-8111-111111111111"}]}]`
