package sync

import (
	"testing"
	"time"
)

// A catch-up moves a peer's cursor many times a second; state.json is not
// rewritten for each, but it holds the last cursor soon after (the timer)
// and at once on close, so a restarted node does not ask for everything
// again.
func TestCursorIsSavedSoonAndOnClose(t *testing.T) {
	dir := t.TempDir()
	st, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := func() int64 {
		s, err := loadState(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s.cursor("peer")
	}
	for upto := int64(1); upto <= 100; upto++ {
		if err := st.advance("peer", upto); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.cursor("peer"); got != 100 {
		t.Fatalf("cursor in memory %d, want 100", got)
	}
	if got := onDisk(); got == 100 {
		t.Log("the burst outlasted cursorSaveEvery on this machine: nothing held back to check")
	}
	deadline := time.Now().Add(30 * time.Second) // a loaded machine; the timer fires after cursorSaveEvery
	for onDisk() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("state.json holds cursor %d, not the last one (100), long after the burst", onDisk())
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := st.advance("peer", 150); err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); got != 150 {
		t.Fatalf("after close state.json holds cursor %d, want 150", got)
	}
	if err := st.advance("peer", 160); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); got != 160 {
		t.Fatalf("a change after close is saved at once: on disk %d, want 160", got)
	}
	if err := st.advance("peer", 90); err != nil || st.cursor("peer") != 160 {
		t.Fatalf("a cursor never moves back: %d %v", st.cursor("peer"), err)
	}
}
