package sync

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
)

// Two devices that know no direct address of each other reach each other
// through a circuit relay v2 on loopback, the relay address forced (the
// inviter believes itself behind a NAT).
func TestSyncThroughRelay(t *testing.T) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	r, err := NewRelay(key, []string{"/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	relayAddr := r.Addrs()[0].String() + "/p2p/" + r.ID().String()

	var viaRelay atomic.Bool
	a, b := relayedPair(t, relayAddr, func(a, b *device) {
		b.cfg.Events = func(e Event) {
			if e.Type != "sync.connected" || b.node == nil {
				return
			}
			for _, c := range b.node.Host().Network().ConnsToPeer(a.node.ID()) {
				if strings.Contains(c.RemoteMultiaddr().String(), "p2p-circuit") {
					viaRelay.Store(true)
				}
			}
		}
	})
	a.add("sent through the relay")
	eventually(t, "b gets a's write through the relay", func() bool { return slices.Contains(texts(t, b.vault), "sent through the relay") })
	if !viaRelay.Load() {
		t.Fatal("b reached a, but not through the relay")
	}
}

// relayedPair pairs a and b, then has them forget each other's addresses:
// only the relay (a reservation made by hand on loopback: autorelay drops
// loopback relay addresses, which are no use on a real network) joins them.
// beforeB, when set, configures b before it starts again.
func relayedPair(t testing.TB, relayAddr string, beforeB func(a, b *device)) (a, b *device) {
	a, b = newDevice(t, "desk"), newDevice(t, "laptop")
	pair(t, a, b)
	a.stop()
	b.stop()
	for _, d := range []*device{a, b} {
		st, _ := loadState(d.dir + "/sync")
		st.update(func(s *stateFile) { clear(s.Addrs) })
	}
	a.cfg.Relays, a.cfg.ForcePrivate = []string{relayAddr}, true
	a.start()
	ri, _ := peer.AddrInfoFromString(relayAddr)
	if err := a.node.Host().Connect(context.Background(), *ri); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Reserve(context.Background(), a.node.Host(), *ri); err != nil {
		t.Fatalf("reserve a slot on the relay: %v", err)
	}
	b.cfg.Relays = []string{relayAddr}
	if beforeB != nil {
		beforeB(a, b)
	}
	b.start()
	if err := b.node.AddPeerAddr(relayAddr + "/p2p-circuit/p2p/" + a.node.ID().String()); err != nil {
		t.Fatal(err)
	}
	return a, b
}
