package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// cutLinks closes every connection of d's host now and then until stop,
// cutting streams wherever they are, mid-batch included.
func cutLinks(d *device, every time.Duration, stop <-chan struct{}) {
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
			if n := d.current(); n != nil {
				if h := n.Host(); h != nil {
					for _, c := range h.Network().Conns() {
						c.Close()
					}
				}
			}
		}
	}()
}

func TestThreeHostsConvergeThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("three hosts and a thousand records: slow")
	}
	ctx := context.Background()
	a, b, c := newDevice(t, "a"), newDevice(t, "b"), newDevice(t, "c")
	pair(t, a, b)
	pair(t, b, c) // a and c never connect directly: everything goes through b
	shared := a.add("one memory everyone edits")
	eventually(t, "the shared memory reaches c", func() bool { return slices.Contains(texts(t, c.vault), shared.Text) })

	// Writes on all three while links are cut again and again.
	stop := make(chan struct{})
	cutLinks(b, 150*time.Millisecond, stop)
	var written atomic.Int64
	for i := range 300 {
		for _, d := range []*device{a, b, c} {
			d.add(fmt.Sprintf("%s writes %d", d.name, i))
			written.Add(1)
		}
	}
	// b restarts mid-way: its node goes, its vault stays.
	b.restart()
	cutLinks(b, 150*time.Millisecond, stop)
	// Concurrent edits of one memory on a and c, neither seeing the other.
	a.edit(shared.ID, "edited on a")
	c.edit(shared.ID, "edited on c")
	for i := range 200 {
		a.add(fmt.Sprintf("a writes after the restart %d", i))
		c.add(fmt.Sprintf("c writes after the restart %d", i))
	}
	time.Sleep(time.Second)
	close(stop)

	deadline := time.Now().Add(3 * time.Minute)
	for !converged(t, a.vault, b.vault, c.vault)() {
		if time.Now().After(deadline) {
			for _, d := range []*device{a, b, c} {
				st := d.current().Status(ctx)
				t.Logf("%s: %d lines, last seq %d, peers %+v", d.name, len(strings.Split(dump(t, d.vault), "\n")), st.LastSeq, st.Peers)
			}
			t.Fatal("the three vaults did not converge")
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := 1 + 900 + 400
	for _, d := range []*device{a, b, c} {
		if got := len(texts(t, d.vault)); got != want {
			t.Fatalf("%s holds %d memories, want %d", d.name, got, want)
		}
	}
	// The same winner everywhere, and the loser kept as a revision.
	var winner string
	for _, d := range []*device{a, b, c} {
		it, err := d.vault.Get(ctx, shared.ID)
		if err != nil {
			t.Fatal(err)
		}
		if winner == "" {
			winner = it.Text
		} else if it.Text != winner {
			t.Fatalf("%s has %q as the winner, another device %q", d.name, it.Text, winner)
		}
		revs, err := d.vault.Revisions(ctx, shared.ID)
		if err != nil {
			t.Fatal(err)
		}
		var rt []string
		for _, r := range revs {
			rt = append(rt, r.Text)
		}
		loser := map[string]string{"edited on a": "edited on c", "edited on c": "edited on a"}[winner]
		if !slices.Contains(rt, loser) || !slices.Contains(rt, shared.Text) {
			t.Fatalf("%s keeps revisions %q; want the losing edit %q and the original", d.name, rt, loser)
		}
	}
}

func TestUnpairedHostGetsNothing(t *testing.T) {
	a, b := newDevice(t, "a"), newDevice(t, "b")
	pair(t, a, b)
	a.add("private")
	eventually(t, "b has it", converged(t, a.vault, b.vault))

	stranger := newDevice(t, "stranger")
	if err := stranger.node.Enable(); err != nil {
		t.Fatal(err)
	}
	h := stranger.node.Host()
	ah := a.node.Host()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.Connect(ctx, *hostInfo(ah))
	if err == nil {
		// The gater refuses after the Noise handshake; even if a connection
		// were kept, a sync stream must read nothing.
		s, serr := h.NewStream(ctx, ah.ID(), ProtocolSync)
		if serr == nil {
			writeJSONFrame(s, frameHello, hello{})
			buf := make([]byte, 1)
			if _, rerr := s.Read(buf); rerr == nil {
				t.Fatal("an unpaired host got an answer on the sync protocol")
			}
		}
	}
	if h.Network().Connectedness(ah.ID()) == network.Connected {
		t.Fatal("an unpaired host holds a connection to a paired device")
	}
	if got := texts(t, stranger.vault); len(got) != 0 {
		t.Fatalf("the stranger's vault holds %q", got)
	}
}
