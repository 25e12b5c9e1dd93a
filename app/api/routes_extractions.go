package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// Extraction jobs: a model reads a list of the person's messages (an
// imported history) in the owner's background and proposes memories from
// each (agent/extractjob.go). Their scope is memory:learn, the scope that
// lets a client's chat turns feed extraction: a job sends the person's
// words to a model that writes memories, and answers only with counts,
// so it needs neither memory:write nor admin.

// maxExtractionBody fits the ids of a long history (100k messages).
const maxExtractionBody = 16 << 20

func (s *Server) routesExtractions() []route {
	return []route{
		{pattern: "POST /api/v1/extractions", scope: ScopeMemoryLearn, maxBody: maxExtractionBody, serve: s.startExtraction,
			summary: "Extract memories from your messages in the background (memory:learn): message_ids, or conversation_ids for your messages in them; model, else the default. The same messages again return the same job (200; 201 when new); a cancelled or failed one goes on where it stopped. Progress arrives as \"extraction\" events on GET /api/v1/events",
			fields:  "message_ids, conversation_ids, model"},
		{pattern: "GET /api/v1/extractions", scope: ScopeMemoryLearn, serve: s.listExtractions,
			summary: "Extraction jobs, the latest started first, with their counts: total, done, proposed, stored, dropped, junk, errors, state (queued, running, done, cancelled, failed) (memory:learn)"},
		{pattern: "GET /api/v1/extractions/{id}", scope: ScopeMemoryLearn, serve: s.getExtraction,
			summary: "One extraction job (memory:learn)"},
		{pattern: "DELETE /api/v1/extractions/{id}", scope: ScopeMemoryLearn, serve: s.cancelExtraction,
			summary: "Cancel an extraction after the message it reads now; the memories found are kept, and starting it again goes on (memory:learn)"},
	}
}

// newExtractions makes the server's extraction jobs, when it has an agent
// and a folder for their journals, and, for the home's owner, goes on
// with the unfinished ones (again after each unlock: see resume).
func (s *Server) newExtractions() {
	if s.cfg.Agent == nil || s.cfg.ImportDir == "" {
		return
	}
	s.extractions = s.cfg.Agent.NewExtractions(s.cfg.ImportDir)
	s.resumeExtractions(context.Background())
}

// resumeExtractions queues the unfinished jobs again. Only the owner
// does (Config.ResumeExtractions): a command serving the API in-process
// for a moment would start what it could not finish.
func (s *Server) resumeExtractions(ctx context.Context) {
	if s.extractions == nil || !s.cfg.ResumeExtractions || s.cfg.Vault.Locked() {
		return
	}
	if n, err := s.extractions.Resume(ctx); err != nil {
		s.log.Warn("resuming extraction jobs failed", "err", err)
	} else if n > 0 {
		s.log.Info("resumed extraction jobs", "count", n)
	}
}

// StopExtractions pauses the extraction jobs of a server whose process
// ends, so that it need not wait for them; the next owner resumes them.
func (s *Server) StopExtractions() {
	// The jobs appear with the runtime (setRuntime), which rt publishes.
	if s.rt.Load() != nil && s.extractions != nil {
		s.extractions.Stop()
	}
}

func (s *Server) needExtractions() (*agent.Extractions, error) {
	if s.extractions == nil {
		return nil, errorf(http.StatusServiceUnavailable, "no_agent", "this server runs no extraction: it has no models or no home folder for the jobs' journals")
	}
	return s.extractions, nil
}

func extractionError(err error) error {
	switch {
	case errors.Is(err, agent.ErrNoExtraction):
		return errorf(http.StatusNotFound, apitype.CodeNotFound, err.Error())
	case errors.Is(err, agent.ErrRemoteHistory):
		return errorf(http.StatusForbidden, "remote_history", err.Error())
	}
	return err
}

func (s *Server) startExtraction(w http.ResponseWriter, r *http.Request) error {
	x, err := s.needExtractions()
	if err != nil {
		return err
	}
	if s.cfg.Vault.Locked() {
		return memory.ErrLocked
	}
	var in apitype.ExtractionRequest
	if err := readJSON(r, &in); err != nil {
		return err
	}
	ids, err := s.personsMessages(r.Context(), in)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errorf(http.StatusBadRequest, apitype.CodeInvalid, "no messages of yours to extract memories from: send message_ids, or conversation_ids of conversations where you wrote")
	}
	job, created, err := x.Start(r.Context(), ids, in.Model)
	if err != nil {
		return extractionError(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, job)
	return nil
}

// personsMessages lists the request's message ids, then the person's
// messages of its conversations, each once, in order.
func (s *Server) personsMessages(ctx context.Context, in apitype.ExtractionRequest) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range in.MessageIDs {
		add(id)
	}
	for _, cid := range in.ConversationIDs {
		msgs, err := s.cfg.Vault.Messages(ctx, cid)
		if err != nil {
			return nil, fmt.Errorf("conversation %s: %w", cid, err)
		}
		for _, m := range msgs {
			if m.Role == memory.RoleUser {
				add(m.ID)
			}
		}
	}
	return ids, nil
}

func (s *Server) listExtractions(w http.ResponseWriter, r *http.Request) error {
	x, err := s.needExtractions()
	if err != nil {
		return err
	}
	jobs, err := x.List()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.ExtractionList{Extractions: jobs})
	return nil
}

func (s *Server) getExtraction(w http.ResponseWriter, r *http.Request) error {
	x, err := s.needExtractions()
	if err != nil {
		return err
	}
	job, err := x.Job(r.PathValue("id"))
	if err != nil {
		return extractionError(err)
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) cancelExtraction(w http.ResponseWriter, r *http.Request) error {
	x, err := s.needExtractions()
	if err != nil {
		return err
	}
	job, err := x.Cancel(r.PathValue("id"))
	if err != nil {
		return extractionError(err)
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

// extractionEvent is an "extraction" event's data: the job, typed like
// the stream's other events.
type extractionEvent struct {
	Type string `json:"type"`
	agent.ExtractionJob
}

// extractionEvents writes an "extraction" event for each job changed
// after rev and returns the latest rev; rev < 0 is a stream that starts
// now, which gets the jobs not finished yet. The events carry counts,
// nothing of the messages, so the events stream's memory:read suffices.
func (s *Server) extractionEvents(w io.Writer, rev int64) int64 {
	if s.extractions == nil {
		return rev
	}
	jobs, latest := s.extractions.Changed(max(rev, 0))
	for _, j := range jobs {
		if rev < 0 && j.Finished() {
			continue
		}
		b, _ := json.Marshal(extractionEvent{Type: "extraction", ExtractionJob: j})
		fmt.Fprintf(w, "event: extraction\ndata: %s\n\n", b)
	}
	return latest
}
