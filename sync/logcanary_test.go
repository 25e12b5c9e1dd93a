package sync

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// Memory text that syncs (added, edited, forgotten, and refused by a
// removed device's peers) appears in no log line of either device, at
// the debug level.
func TestNothingTypedReachesTheSyncLog(t *testing.T) {
	const canary = "zebracanary42"
	var logs memtest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, b, c := newDevice(t, "a"), newDevice(t, "b"), newDevice(t, "c")
	for _, d := range []*device{a, b, c} {
		d.cfg.Logger = log
		d.restart()
	}
	pair(t, a, b)
	pair(t, a, c)
	it := a.add("I keep bees, " + canary)
	eventually(t, "the memory reaches b", converged(t, a.vault, b.vault))
	b.edit(it.ID, "I keep two hives, "+canary)
	eventually(t, "the memory and its edit reach every device", converged(t, a.vault, b.vault, c.vault))
	if err := a.node.Remove(context.Background(), c.node.ID().String()); err != nil {
		t.Fatal(err)
	}
	a.add("after the removal, " + canary)
	eventually(t, "b refuses the removed device", func() bool { return b.events.saw("sync.refused", c.node.ID(), "a removed device") })
	if err := b.vault.Forget(context.Background(), it.ID); err != nil {
		t.Fatal(err)
	}
	b.node.Notify()
	eventually(t, "the forget reaches a", converged(t, a.vault, b.vault))
	out := logs.String()
	if !strings.Contains(out, "sync on") {
		t.Fatalf("the nodes logged nothing, so the test checks nothing:\n%s", out)
	}
	if strings.Contains(out, canary) {
		t.Fatalf("memory text reached the sync log:\n%s", out)
	}
}
