package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
)

// state is what a node keeps between runs, in state.json beside the
// identity: whether sync is on, how far it has applied each peer's change
// feed, where peers were last reached, and the epoch key envelopes it
// stores and forwards.
type state struct {
	mu   gosync.Mutex
	path string
	st   stateFile
}

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
