package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"time"
)

// state is what a node keeps between runs, in state.json beside the
// identity: whether sync is on, how far it has applied each peer's change
// feed, where peers were last reached, and the epoch key envelopes it
// stores and forwards.
type state struct {
	mu   gosync.Mutex
	path string
	st   stateFile
	// saved is when state.json was last written; held says a cursor moved
	// since, and timer saves it (see advance). After closed, every change
	// is saved at once.
	saved  time.Time
	held   bool
	timer  *time.Timer
	closed bool
}

// cursorSaveEvery bounds how often moving a cursor rewrites state.json
// (each rewrite is fsync'd): a catch-up applies a batch every few
// milliseconds, and a rewrite for each was a fifth of catching up 10k
// records. A crash forgets at most this much of a cursor; the peer then
// sends those batches again, and they apply as unchanged.
const cursorSaveEvery = 250 * time.Millisecond

type stateFile struct {
	Enabled   bool                `json:"enabled"`
	Cursors   map[string]int64    `json:"cursors"`
	Addrs     map[string][]string `json:"addrs"`
	Envelopes []KeyEnvelope       `json:"envelopes,omitempty"`
}

func loadState(dir string) (*state, error) {
	s := &state{path: filepath.Join(dir, "state.json")}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read sync state: %w", err)
	default:
		if err := json.Unmarshal(b, &s.st); err != nil {
			return nil, fmt.Errorf("sync state %s is damaged (%v): move it away; peers will send everything again", s.path, err)
		}
	}
	if s.st.Cursors == nil {
		s.st.Cursors = map[string]int64{}
	}
	if s.st.Addrs == nil {
		s.st.Addrs = map[string][]string{}
	}
	return s, nil
}

func (s *state) saveLocked() error {
	b, err := json.Marshal(&s.st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	s.saved, s.held = time.Now(), false
	return nil
}

// advance moves a peer's cursor forward. It saves at once when the last
// save is cursorSaveEvery old, else a timer saves it when it is.
func (s *state) advance(p string, upto int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if upto <= s.st.Cursors[p] {
		return nil
	}
	s.st.Cursors[p] = upto
	wait := cursorSaveEvery - time.Since(s.saved)
	if s.closed || wait <= 0 {
		return s.saveLocked()
	}
	s.held = true
	if s.timer == nil {
		s.timer = time.AfterFunc(wait, s.saveHeld)
	}
	return nil
}

// saveHeld saves a cursor that advance held back. A failure is left for
// the next save, which writes the whole state again.
func (s *state) saveHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	if s.held {
		s.saveLocked()
	}
}

// close saves what advance held back and makes later changes save at once,
// so nothing writes state.json after the node has closed.
func (s *state) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.held {
		return s.saveLocked()
	}
	return nil
}

func (s *state) update(fn func(*stateFile)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.st)
	return s.saveLocked()
}

func (s *state) cursor(p string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Cursors[p]
}

func (s *state) enabled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Enabled
}

func (s *state) addrs(p string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.Addrs[p])
}

func (s *state) envelopes() []KeyEnvelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.Envelopes)
}

// addEnvelopes stores the envelopes it lacks and returns them.
func (s *state) addEnvelopes(in []KeyEnvelope) ([]KeyEnvelope, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var added []KeyEnvelope
	for _, e := range in {
		if !slices.ContainsFunc(s.st.Envelopes, func(x KeyEnvelope) bool { return x.Epoch == e.Epoch && x.To == e.To }) {
			s.st.Envelopes = append(s.st.Envelopes, e)
			added = append(added, e)
		}
	}
	if len(added) == 0 {
		return nil, nil
	}
	return added, s.saveLocked()
}
