package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// Extraction jobs read a list of the person's messages (an imported
// history) and propose memories from each, as after a chat turn. A long
// history takes a model hours, so a job runs on the agent's background
// queue a message at a time: a reply preempts it, chat turns' own
// extraction interleaves with it, and only one model call runs at once.
// Its journal (extractjournal.go) lets it go on after a restart.

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobDone      = "done"
	JobCancelled = "cancelled"
	JobFailed    = "failed"
)

// ExtractionJob is an extraction's progress: counts, never text.
type ExtractionJob struct {
	ID    string `json:"id"`
	Model string `json:"model,omitempty"`
	State string `json:"state"`
	// Total is how many messages the job reads; Done how many it has read.
	Total    int `json:"total"`
	Done     int `json:"done"`
	Proposed int `json:"proposed"`
	Stored   int `json:"stored"`
	Dropped  int `json:"dropped"`
	// Junk counts answers of the model that were not the JSON asked for;
	// Errors, messages whose extraction failed (skipped).
	Junk   int    `json:"junk"`
	Errors int    `json:"errors"`
	Error  string `json:"error,omitempty"`
	// Rev grows with every change, for the events stream.
	Rev     int64     `json:"rev"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// Finished reports whether the job will make no more progress by itself.
func (j ExtractionJob) Finished() bool {
	return j.State == JobDone || j.State == JobCancelled || j.State == JobFailed
}

// maxErrorsInARow stops a job whose model keeps failing (Ollama stopped,
// the model deleted) instead of skipping the whole history.
const maxErrorsInARow = 3

// ErrNoExtraction is a job id that no journal has.
var ErrNoExtraction = errNoJournal

// ErrRemoteHistory refuses extraction with a model on a remote backend
// that may not receive the person's history.
var ErrRemoteHistory = errors.New("that model may not read your history")

// Extractions runs extraction jobs; NewExtractions makes one per agent.
type Extractions struct {
	a   *Agent
	dir string

	mu   sync.Mutex
	rev  int64
	jobs map[string]*extractionRun
	// stopped is set by Stop: the process is ending.
	stopped bool
}

type extractionRun struct {
	job    ExtractionJob
	ids    []string
	errRow int
	// cancel stops the message being read now.
	cancel context.CancelFunc
	// queued says a step is on the agent's queue.
	queued bool
}

// NewExtractions returns the agent's extraction jobs, journaled in dir.
func (a *Agent) NewExtractions(dir string) *Extractions {
	return &Extractions{a: a, dir: dir, jobs: map[string]*extractionRun{}}
}

// Start starts extraction over the person's messages ids with model (""
// is the agent's default). The same ids again find the same job: running
// or done, it is returned as it is (created false); cancelled or failed,
// it goes on from where it stopped.
func (x *Extractions) Start(ctx context.Context, ids []string, model string) (ExtractionJob, bool, error) {
	if len(ids) == 0 {
		return ExtractionJob{}, false, errors.New("no messages to extract memories from: name at least one message of yours")
	}
	model = cmp.Or(model, x.a.cfg.Model)
	b, _, err := x.a.backends.Resolve(model)
	if err != nil {
		return ExtractionJob{}, false, err
	}
	if !x.a.backends.ReceivesMemory(b) {
		return ExtractionJob{}, false, fmt.Errorf("%w: %s is on %s, which may not receive your history; pick a model on this machine, or allow memory for that backend", ErrRemoteHistory, model, b.Name())
	}
	if err := os.MkdirAll(x.dir, 0o700); err != nil {
		return ExtractionJob{}, false, fmt.Errorf("make the extraction journal folder: %w", err)
	}
	id := ExtractionJobID(ids)
	x.mu.Lock()
	defer x.mu.Unlock()
	r, created, err := x.load(id)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		now := time.Now().UTC()
		r = &extractionRun{ids: slices.Clone(ids), job: ExtractionJob{ID: id, Model: model, State: JobQueued, Total: len(ids), Started: now}}
		if err := writeJournalIDs(x.dir, id, ids); err != nil {
			return ExtractionJob{}, false, fmt.Errorf("save the extraction's list of messages: %w", err)
		}
		x.jobs[id], created = r, true
	default:
		return ExtractionJob{}, false, err
	}
	if r.job.State == JobCancelled || r.job.State == JobFailed || (r.job.State == JobQueued && !r.queued) {
		r.job.State, r.job.Error, r.errRow = JobQueued, "", 0
		if model != "" {
			r.job.Model = model
		}
		if err := x.touch(r); err != nil {
			return ExtractionJob{}, false, err
		}
		x.enqueue(r)
	}
	return r.job, created, nil
}

// load finds job id in memory or in its journal; locked.
func (x *Extractions) load(id string) (*extractionRun, bool, error) {
	if r, ok := x.jobs[id]; ok {
		return r, false, nil
	}
	j, ids, err := readJournal(x.dir, id)
	if err != nil {
		return nil, false, err
	}
	if j.State == JobRunning {
		j.State = JobQueued // the process that ran it stopped
	}
	x.rev++
	j.Rev = x.rev
	r := &extractionRun{job: j, ids: ids}
	x.jobs[id] = r
	return r, false, nil
}

// Resume queues again every unfinished job of the journal folder: the
// owner calls it once the vault is open, so a restart goes on by itself.
// It returns how many it queued.
func (x *Extractions) Resume(ctx context.Context) (int, error) {
	ids, err := journalIDs(x.dir)
	if err != nil {
		return 0, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, id := range ids {
		r, _, err := x.load(id)
		if err != nil {
			x.a.log.Warn("extraction journal unreadable", "job", id, "err", err)
			continue
		}
		if r.job.State == JobQueued && !r.queued {
			x.enqueue(r)
			n++
		}
	}
	return n, nil
}

// Job returns a job by id.
func (x *Extractions) Job(id string) (ExtractionJob, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, err := x.find(id)
	if err != nil {
		return ExtractionJob{}, err
	}
	return r.job, nil
}

// find is load for a job the caller names; locked. An id is 32 hex
// digits, never a path (it names the journal's files).
func (x *Extractions) find(id string) (*extractionRun, error) {
	if !validJobID(id) {
		return nil, fmt.Errorf("%w %q: a job id is 32 hex digits (`cairn import status` lists them)", ErrNoExtraction, id)
	}
	r, _, err := x.load(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w %s", ErrNoExtraction, id)
	}
	return r, err
}

// List returns every job of the journal folder, the latest started first.
func (x *Extractions) List() ([]ExtractionJob, error) {
	ids, err := journalIDs(x.dir)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	out := []ExtractionJob{}
	for _, id := range ids {
		if r, _, err := x.load(id); err == nil {
			out = append(out, r.job)
		}
	}
	slices.SortFunc(out, func(a, b ExtractionJob) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// Changed returns the jobs changed after rev, and the latest rev.
func (x *Extractions) Changed(rev int64) ([]ExtractionJob, int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []ExtractionJob
	for _, r := range x.jobs {
		if r.job.Rev > rev {
			out = append(out, r.job)
		}
	}
	slices.SortFunc(out, func(a, b ExtractionJob) int { return cmp.Compare(a.Rev, b.Rev) })
	return out, x.rev
}

// Cancel stops a job after the message it reads now; the memories stored
// so far are kept, and Start goes on from there.
func (x *Extractions) Cancel(id string) (ExtractionJob, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, err := x.find(id)
	if err != nil {
		return ExtractionJob{}, err
	}
	if r.job.Finished() {
		return r.job, nil
	}
	r.job.State = JobCancelled
	if r.cancel != nil {
		r.cancel()
	}
	return r.job, x.touch(r)
}

// Stop pauses every job for a process that ends: the message read now is
// dropped, and the journals say where each job goes on (Resume), so the
// process need not wait for a long history.
func (x *Extractions) Stop() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopped = true
	for _, r := range x.jobs {
		if r.cancel != nil {
			r.cancel()
		}
	}
}

// touch marks a change and saves the journal; locked.
func (x *Extractions) touch(r *extractionRun) error {
	x.rev++
	r.job.Rev, r.job.Updated = x.rev, time.Now().UTC()
	if err := writeJournalState(x.dir, r.job); err != nil {
		return fmt.Errorf("save extraction progress: %w", err)
	}
	return nil
}

// enqueue puts the job's next message on the agent's queue; locked.
func (x *Extractions) enqueue(r *extractionRun) {
	r.queued = true
	x.a.bg.enqueue("extract memories from history", func(ctx context.Context) error { return x.step(ctx, r) })
}

// step reads the job's next message, then queues the one after, behind
// whatever else waits (a chat turn's extraction).
func (x *Extractions) step(ctx context.Context, r *extractionRun) error {
	x.mu.Lock()
	r.queued = false
	if x.stopped {
		x.mu.Unlock()
		return nil
	}
	if r.job.State != JobQueued && r.job.State != JobRunning {
		x.mu.Unlock()
		return nil // cancelled while it waited
	}
	if r.job.Done >= len(r.ids) {
		r.job.State = JobDone
		err := x.touch(r)
		x.mu.Unlock()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel
	msgID, model := r.ids[r.job.Done], r.job.Model
	if r.job.State != JobRunning {
		r.job.State = JobRunning
		if err := x.touch(r); err != nil {
			x.mu.Unlock()
			return err
		}
	}
	x.mu.Unlock()

	rep, err := x.extractOne(ctx, model, msgID)

	x.mu.Lock()
	defer x.mu.Unlock()
	r.cancel = nil
	if r.job.State != JobRunning {
		return nil // cancelled while it read
	}
	if ctx.Err() != nil {
		// Preempted by a reply (the queue runs this step again), or the
		// process ends (the journal resumes it).
		r.queued = errors.Is(context.Cause(ctx), errPreempted)
		if x.stopped {
			return nil
		}
		return ctx.Err()
	}
	r.job.Done++
	r.job.Proposed += rep.Proposed
	r.job.Stored += rep.Stored
	r.job.Dropped += rep.Dropped
	if rep.Junk {
		r.job.Junk++
	}
	if errors.Is(err, memory.ErrLocked) {
		// Locked while it ran: Resume goes on after the unlock.
		r.job.Done--
		r.job.State = JobQueued
		return x.touch(r)
	}
	if err == nil {
		r.errRow = 0
	} else {
		r.job.Errors++
		r.errRow++
		if r.errRow >= maxErrorsInARow {
			r.job.State = JobFailed
			r.job.Error = fmt.Sprintf("the model failed on %d messages in a row (%v): start the extraction again to go on", r.errRow, safeErr(err))
		}
	}
	if r.job.State == JobRunning && r.job.Done >= len(r.ids) {
		r.job.State = JobDone
	}
	if err := x.touch(r); err != nil {
		r.job.State, r.job.Error = JobFailed, err.Error()
		return err
	}
	if r.job.State == JobRunning {
		x.enqueue(r)
	}
	return nil
}

// extractOne extracts memories from one message of the person's, with
// the assistant message it answered as context. A message deleted since
// is skipped, not an error.
func (x *Extractions) extractOne(ctx context.Context, model, id string) (ExtractionReport, error) {
	m, err := x.a.store.Message(ctx, id)
	if errors.Is(err, memory.ErrNotFound) {
		return ExtractionReport{}, nil
	}
	if err != nil {
		return ExtractionReport{}, err
	}
	if m.Role != memory.RoleUser {
		return ExtractionReport{}, nil // only the person's words are a source
	}
	before := ""
	if m.ParentID != "" {
		if p, err := x.a.store.Message(ctx, m.ParentID); err == nil && p.Role == memory.RoleAssistant {
			before = p.Content
		}
	}
	return x.a.Extract(ctx, model, m, before)
}
