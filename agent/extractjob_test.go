package agent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// historyFixture is a vault with n messages of the person's, each stating
// a fact, and a script that extracts it (quoting the words) and adds it.
func historyFixture(t *testing.T, n int) (*memory.Vault, []string) {
	t.Helper()
	ctx := context.Background()
	v := newVault(t, nil)
	conv, err := v.CreateConversation(ctx, memory.NewConversation{Title: "imported"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		m, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: fmt.Sprintf("I keep pet number %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return v, ids
}

func extractingScript(t *testing.T) *scripted {
	return newScripted(func(n int, req ChatRequest) ChatResponse {
		if isDecision(req) {
			return reply(`{"event":"ADD","id":"","text":""}`)
		}
		said := req.Messages[len(req.Messages)-1].Content
		said = said[strings.Index(said, "USER:\n")+len("USER:\n"):]
		return jsonReply(t, map[string]any{"memories": []proposal{{Text: "Keeps a pet: " + said, Kind: "fact", Source: "stated", Quote: said}}})
	})
}

func TestExtractionJobReadsEachMessageOnceAndAgainFindsItDone(t *testing.T) {
	ctx := context.Background()
	v, ids := historyFixture(t, 3)
	b := extractingScript(t)
	a := newAgent(t, v, b, Config{})
	dir := t.TempDir()
	x := a.NewExtractions(dir)
	job, created, err := x.Start(ctx, ids, "")
	if err != nil || !created || job.Total != 3 {
		t.Fatalf("start: %+v created %v err %v", job, created, err)
	}
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	job, err = x.Job(job.ID)
	if err != nil || job.State != JobDone || job.Done != 3 || job.Stored != 3 {
		t.Fatalf("after the queue drained: %+v %v, want done with 3 stored", job, err)
	}
	calls := len(b.seen())
	again, created, err := x.Start(ctx, ids, "")
	if err != nil || created || again.ID != job.ID || again.State != JobDone {
		t.Fatalf("the same messages again: %+v created %v err %v, want the done job", again, created, err)
	}
	a.Wait(ctx)
	if n := len(b.seen()); n != calls {
		t.Errorf("starting a done extraction again asked the model %d more times", n-calls)
	}
	// A fresh agent (a restarted owner) finds it done in the journal.
	a2 := newAgent(t, v, b, Config{})
	if j, _, err := a2.NewExtractions(dir).Start(ctx, ids, ""); err != nil || j.State != JobDone {
		t.Fatalf("after a restart: %+v %v, want done", j, err)
	}
	items, _ := v.List(ctx, memory.ListOptions{})
	if len(items) != 3 {
		t.Errorf("%d memories stored, want 3 (one per message)", len(items))
	}
}

func TestExtractionJobStoppedByCloseResumesWhereItStopped(t *testing.T) {
	ctx := context.Background()
	v, ids := historyFixture(t, 4)
	dir := t.TempDir()
	b := extractingScript(t)
	var a *Agent
	var closed atomic.Bool
	// The second message's extraction stops the agent, as a restart would.
	b.hook = func(ctx context.Context, n int, req ChatRequest) {
		if isExtraction(req) && strings.Contains(req.Messages[len(req.Messages)-1].Content, "number 1") && !closed.Swap(true) {
			go a.Close()
			<-ctx.Done()
		}
	}
	a = newAgent(t, v, b, Config{})
	x := a.NewExtractions(dir)
	job, _, err := x.Start(ctx, ids, "")
	if err != nil {
		t.Fatal(err)
	}
	a.Wait(ctx)
	if j, _ := x.Job(job.ID); j.Done != 1 {
		t.Fatalf("stopped at %d messages, want 1", j.Done)
	}
	b.hook = nil
	a2 := newAgent(t, v, b, Config{})
	x2 := a2.NewExtractions(dir)
	if n, err := x2.Resume(ctx); n != 1 || err != nil {
		t.Fatalf("resume queued %d jobs (%v), want 1", n, err)
	}
	a2.Wait(ctx)
	j, _ := x2.Job(job.ID)
	if j.State != JobDone || j.Done != 4 || j.Stored != 4 {
		t.Fatalf("after resuming: %+v, want done, 4 read, 4 stored", j)
	}
	asked := map[string]int{}
	for _, req := range b.seen() {
		if isExtraction(req) {
			asked[req.Messages[len(req.Messages)-1].Content]++
		}
	}
	for said, n := range asked {
		if n > 1 && !strings.Contains(said, "number 1") {
			t.Errorf("%q was read %d times; only the message cut short is read again", said, n)
		}
	}
}

func TestExtractionJobFailsWhenTheModelKeepsFailingAndGoesOnWhenStartedAgain(t *testing.T) {
	ctx := context.Background()
	v, ids := historyFixture(t, 5)
	var broken atomic.Bool
	broken.Store(true)
	b := extractingScript(t)
	a := newAgent(t, v, failing{b, &broken}, Config{})
	x := a.NewExtractions(t.TempDir())
	job, _, err := x.Start(ctx, ids, "")
	if err != nil {
		t.Fatal(err)
	}
	a.Wait(ctx)
	job, _ = x.Job(job.ID)
	if job.State != JobFailed || job.Errors != maxErrorsInARow || !strings.Contains(job.Error, "start the extraction again") {
		t.Fatalf("with a failing model: %+v, want failed after %d errors, saying what to do", job, maxErrorsInARow)
	}
	broken.Store(false)
	if job, _, err = x.Start(ctx, ids, ""); err != nil || job.State != JobQueued {
		t.Fatalf("start again: %+v %v", job, err)
	}
	a.Wait(ctx)
	job, _ = x.Job(job.ID)
	if job.State != JobDone || job.Done != 5 || job.Stored != 2 {
		t.Fatalf("after starting again: %+v, want done, the 2 unread messages stored", job)
	}
}

func TestExtractionJobCancelStopsItAndKeepsWhatItFound(t *testing.T) {
	ctx := context.Background()
	v, ids := historyFixture(t, 4)
	b := extractingScript(t)
	var x *Extractions
	var id string
	b.hook = func(ctx context.Context, n int, req ChatRequest) {
		if isExtraction(req) && strings.Contains(req.Messages[len(req.Messages)-1].Content, "number 1") {
			x.Cancel(id)
			<-ctx.Done()
		}
	}
	a := newAgent(t, v, b, Config{})
	x = a.NewExtractions(t.TempDir())
	id = ExtractionJobID(ids)
	if _, _, err := x.Start(ctx, ids, ""); err != nil {
		t.Fatal(err)
	}
	a.Wait(ctx)
	j, _ := x.Job(id)
	if j.State != JobCancelled || j.Done != 1 || j.Stored != 1 {
		t.Fatalf("cancelled: %+v, want cancelled after 1 message, its memory kept", j)
	}
	for _, bad := range []string{"nope", "../../../etc/passwd", strings.Repeat("0", 32)} {
		if _, err := x.Job(bad); !errors.Is(err, ErrNoExtraction) {
			t.Errorf("job %q: %v, want ErrNoExtraction", bad, err)
		}
		if _, err := x.Cancel(bad); !errors.Is(err, ErrNoExtraction) {
			t.Errorf("cancel %q: %v, want ErrNoExtraction", bad, err)
		}
	}
}

// failing makes the scripted backend fail outright while broken is set.
type failing struct {
	*scripted
	broken *atomic.Bool
}

func (f failing) Chat(ctx context.Context, req ChatRequest, onDelta func(Delta)) (ChatResponse, error) {
	if f.broken.Load() && isExtraction(req) {
		return ChatResponse{}, errors.New("model crashed")
	}
	return f.scripted.Chat(ctx, req, onDelta)
}

// A model on a remote backend that may not receive memory never reads the
// person's history: the job is refused before anything is queued.
func TestExtractionJobRefusesARemoteModelWithoutMemory(t *testing.T) {
	ctx := context.Background()
	v, ids := historyFixture(t, 1)
	local := extractingScript(t)
	remote := extractingScript(t)
	remote.name = "cloud"
	remote.url = &url.URL{Scheme: "https", Host: "api.example.com"}
	bs, err := NewBackends(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	a := New(v, bs, Config{Model: "m"})
	t.Cleanup(a.Close)
	dir := t.TempDir()
	if _, _, err := a.NewExtractions(dir).Start(ctx, ids, "cloud/m"); !errors.Is(err, ErrRemoteHistory) {
		t.Fatalf("a remote model without memory: %v, want ErrRemoteHistory", err)
	}
	a.Wait(ctx)
	if n := len(remote.seen()); n != 0 {
		t.Fatalf("the remote backend was asked %d times", n)
	}
	if jobs, _ := a.NewExtractions(dir).List(); len(jobs) != 0 {
		t.Errorf("a refused job left a journal: %+v", jobs)
	}
}
