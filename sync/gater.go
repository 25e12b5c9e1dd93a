package sync

import (
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The gate: who may hold a connection to this node, decided from the
// signed trusted set. libp2p asks the gater once the peer has proved its id
// (Noise) and again before the connection joins the swarm, so a stranger or
// a removed device is cut off before it can open a single stream. The one
// exception is pairing: while a pairing code of this device is answerable
// the gate admits strangers, and the protocol gate (protogate.go) lets them
// open the pairing protocols only, refusing every other stream before its
// handler runs. A removal that arrives while a connection is being set up
// is caught on the other side: applyRemovals closes what is connected after
// the trusted set changed, and closeIfRemoved closes what joins after that
// (libp2p reports a connection before it accepts any stream on it). Every
// protocol handler for members still starts with trustedStream, the second
// check.

type gater struct{ n *Node }

func (g gater) InterceptPeerDial(p peer.ID) bool { return g.n.allowed(p) }

func (g gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

func (g gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.n.gate(p)
}

func (g gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.n.gate(c.RemotePeer()), 0
}

// gate is the gate's answer for p; a refusal is reported as sync.refused.
func (n *Node) gate(p peer.ID) bool {
	if n.allowed(p) {
		return true
	}
	n.emitRefused(p)
	return false
}

func (n *Node) emitRefused(p peer.ID) {
	n.mu.Lock()
	removed := n.members.Removed(p)
	n.mu.Unlock()
	detail := "not a trusted device"
	if removed {
		detail = "a removed device"
	}
	n.emit(Event{Type: "sync.refused", Peer: p.String(), Detail: detail})
}

// allowed says whether a peer may hold a connection: a member, a
// configured relay, the device this one is joining, or anyone while a
// pairing code is open or answerable (the pairing handler then demands the
// secret, or says why the code is refused; nothing else is open to them,
// protogate.go). A removed device never is.
func (n *Node) allowed(p peer.ID) bool {
	return n.access(p) != accessNone
}

// access is how far the gates let p in.
type access int

const (
	accessNone access = iota // refused at the connection
	accessPair               // the pairing protocols only
	accessAll                // a member or a configured relay
)

func (n *Node) access(p peer.ID) access {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.members.Removed(p) {
		return accessNone
	}
	if _, ok := n.members.Lookup(p); ok {
		return accessAll
	}
	if slices.ContainsFunc(n.relays, func(ai peer.AddrInfo) bool { return ai.ID == p }) {
		return accessAll
	}
	if p == n.joining || (n.invite != nil && n.invite.answerable(time.Now())) {
		return accessPair
	}
	return accessNone
}

// trustedStream is the first call of every protocol handler that serves
// members (sync, infer, and any protocol added later), behind the protocol
// gate: it resets a stream from a peer that is not, or no longer, in the
// trusted set before reading a byte of it, and reports the refusal.
func (n *Node) trustedStream(s network.Stream) (Member, bool) {
	p := s.Conn().RemotePeer()
	m, ok := n.member(p)
	if !ok {
		s.Reset()
		n.emitRefused(p)
	}
	return m, ok
}

// closeIfRemoved closes a new connection of a removed device: one that
// passed the gate just before the removal was applied and joined the swarm
// just after applyRemovals looked. It runs from libp2p's Connected
// notification, which comes before any stream of the connection is
// accepted.
func (n *Node) closeIfRemoved(c network.Conn) bool {
	p := c.RemotePeer()
	n.mu.Lock()
	removed := n.members.Removed(p)
	n.mu.Unlock()
	if !removed {
		return false
	}
	c.Close()
	n.emitRefused(p)
	return true
}

// applyRemovals closes every connection to a removed device, at once, and
// reports each newly removed one as sync.dropped (Count: connections
// closed). It runs after the new trusted set is in place, so the gate
// already refuses those devices anything new.
func (n *Node) applyRemovals(newly []peer.ID) {
	h := n.Host()
	if h == nil {
		for _, p := range newly {
			n.emit(Event{Type: "sync.dropped", Peer: p.String()})
		}
		return
	}
	closed := map[peer.ID]int{}
	for _, p := range h.Network().Peers() {
		n.mu.Lock()
		removed := n.members.Removed(p)
		n.mu.Unlock()
		if removed {
			closed[p] = len(h.Network().ConnsToPeer(p))
			h.Network().ClosePeer(p)
		}
	}
	for _, p := range newly {
		n.emit(Event{Type: "sync.dropped", Peer: p.String(), Count: closed[p]})
	}
}
