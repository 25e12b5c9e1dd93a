package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// Event is one change in the vault, as the events stream sends it: what
// changed, never its content (fetch that with the token's scopes).
type Event struct {
	Seq     int64  `json:"seq"`
	Type    string `json:"type"` // memory, conversation, message, …
	ID      string `json:"id"`
	Deleted bool   `json:"deleted,omitempty"`
	// Origin is the device that wrote it (this one, or a synced one).
	Origin string `json:"origin"`
}

// eventPoll is how often the stream looks for changes. Polling the
// vault's change feed also sees writes by other processes (a cairn
// command, sync).
const eventPoll = 200 * time.Millisecond

// events streams vault changes as Server-Sent Events. Last-Event-ID (or
// ?after=SEQ) resumes after a given change; without it the stream starts
// now.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	flusher := streamFlusher(w)
	ctx := r.Context()
	after := int64(-1)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "invalid", "Last-Event-ID and after must be a change number (seq)")
		}
		after = n
	}
	if after < 0 {
		seq, err := s.cfg.Vault.LastSeq(ctx)
		if err != nil {
			return err
		}
		after = seq
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": cairn events after %d\n\n", after)
	flusher.Flush()
	// Extraction jobs' progress comes between the changes: each job's
	// state now, then at each change (counts only).
	jobsRev := s.extractionEvents(w, -1)
	flusher.Flush()
	tick := time.NewTicker(eventPoll)
	defer tick.Stop()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-tick.C:
			if rev := s.extractionEvents(w, jobsRev); rev != jobsRev {
				jobsRev = rev
				flusher.Flush()
			}
			for {
				changes, err := s.cfg.Vault.Changes(ctx, after, 500)
				if err != nil {
					return nil // the client is gone or the vault closed
				}
				for _, c := range changes {
					after = c.Seq
					b, _ := json.Marshal(Event{Seq: c.Seq, Type: string(c.Kind), ID: c.ID, Deleted: c.Deleted, Origin: c.Origin})
					fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", c.Seq, eventName(c.Kind), b)
				}
				if len(changes) > 0 {
					flusher.Flush()
				}
				if len(changes) < 500 {
					break
				}
			}
		}
	}
}

func eventName(k memory.Kind) string {
	switch k {
	case memory.KindMemory, memory.KindConversation, memory.KindMessage:
		return string(k)
	}
	return "record"
}
