package memory

import (
	"errors"
	"testing"
)

// TestDecideMerge holds the merge rule case by case: which version becomes
// the record and which becomes a revision.
func TestDecideMerge(t *testing.T) {
	const id = "0190aaaa-0000-7000-8000-00000000beef"
	live := func(clock Clock, origin, sealed string) *Record {
		return &Record{ID: id, Kind: KindMemory, Clock: clock, Origin: origin, Sealed: []byte(sealed)}
	}
	tomb := func(clock Clock, origin string) *Record {
		return &Record{ID: id, Kind: KindMemory, Clock: clock, Origin: origin, Deleted: true}
	}
	const (
		none     = "none"
		stored   = "stored"
		incoming = "incoming"
	)
	cases := []struct {
		name             string
		stored, in       *Record
		outcome          Outcome
		current, revised string // none, stored or incoming
		dropRevisions    bool
	}{
		{"new record", nil, live(10, "a", "x"), Inserted, incoming, none, false},
		{"new tombstone", nil, tomb(10, "a"), Inserted, incoming, none, false},
		{"same version", live(10, "a", "x"), live(10, "a", "x"), Unchanged, none, none, false},
		{"same tombstone", tomb(10, "a"), tomb(10, "a"), Unchanged, none, none, false},
		{"later clock wins", live(10, "a", "x"), live(11, "a", "y"), Replaced, incoming, stored, false},
		{"earlier clock loses", live(11, "a", "x"), live(10, "b", "y"), KeptAsRevision, none, incoming, false},
		{"equal clocks: greater origin wins", live(10, "a", "x"), live(10, "b", "y"), Replaced, incoming, stored, false},
		{"equal clocks: lesser origin loses", live(10, "b", "x"), live(10, "a", "y"), KeptAsRevision, none, incoming, false},
		{"equal clock and origin: greater sealed bytes win", live(10, "a", "x"), live(10, "a", "y"), Replaced, incoming, stored, false},
		{"tombstone forgets an earlier version", live(10, "a", "x"), tomb(11, "b"), Forgotten, incoming, none, true},
		{"tombstone forgets a later version", live(20, "a", "x"), tomb(11, "b"), Forgotten, incoming, none, true},
		{"stored tombstone absorbs a later version", tomb(10, "a"), live(20, "b", "x"), Unchanged, none, none, false},
		{"stored tombstone absorbs an earlier version", tomb(10, "a"), live(5, "b", "x"), Unchanged, none, none, false},
		{"later tombstone replaces a tombstone", tomb(10, "a"), tomb(11, "a"), Unchanged, incoming, none, false},
		{"earlier tombstone leaves a tombstone", tomb(11, "a"), tomb(10, "b"), Unchanged, none, none, false},
		{"newer schema wins by its clock like any other", live(10, "a", "\x01old"), live(11, "a", "\x09new"), Replaced, incoming, stored, false},
	}
	pick := func(which string, s, in *Record) *Record {
		switch which {
		case stored:
			return s
		case incoming:
			return in
		}
		return nil
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecideMerge(tc.stored, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if m.Outcome != tc.outcome {
				t.Errorf("outcome %v, want %v", m.Outcome, tc.outcome)
			}
			if want := pick(tc.current, tc.stored, tc.in); m.Current != want {
				t.Errorf("current %+v, want the %s version", m.Current, tc.current)
			}
			if want := pick(tc.revised, tc.stored, tc.in); m.Revision != want {
				t.Errorf("revision %+v, want the %s version", m.Revision, tc.revised)
			}
			if m.DropRevisions != tc.dropRevisions {
				t.Errorf("drop revisions %v, want %v", m.DropRevisions, tc.dropRevisions)
			}
		})
	}

	t.Run("kind mismatch is refused", func(t *testing.T) {
		in := live(11, "a", "y")
		in.Kind = KindMessage
		if _, err := DecideMerge(live(10, "a", "x"), in); !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
	})
	t.Run("a stored tombstone absorbs even a version of another kind", func(t *testing.T) {
		in := live(11, "a", "y")
		in.Kind = KindMessage
		if m, err := DecideMerge(tomb(10, "a"), in); err != nil || m.Outcome != Unchanged || m.Current != nil {
			t.Fatalf("got %+v, %v", m, err)
		}
	})
}
