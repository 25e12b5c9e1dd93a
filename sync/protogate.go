package sync

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
)

// The protocol gate: the second door, for the strangers the connection
// gate admits while a pairing code is answerable. libp2p names a stream's
// protocol to its resource scope once the protocol is agreed and before
// the stream reaches its handler (or, outbound, its opener); the gate
// refuses there every protocol but pairing (and identify, which libp2p
// runs on every connection), so that such a peer can try the code and
// nothing else: no sync, no infer, no ping, no hole punching. The stream
// is reset (libp2p's "resource limit exceeded" code) and the refusal is
// reported as sync.refused. Members and configured relays pass. It adds no
// resource accounting: the limits stay off (node.go says why).

// pairingProtocols are what a stranger may open while a code is answerable.
var pairingProtocols = map[protocol.ID]bool{
	ProtocolPair:     true,
	ProtocolPairCode: true,
	identify.ID:      true,
	identify.IDPush:  true,
}

// protoGate is the node's resource manager: libp2p's null one, with the
// protocol gate on every stream.
type protoGate struct {
	network.NullResourceManager
	n *Node
}

func (g *protoGate) OpenStream(p peer.ID, dir network.Direction) (network.StreamManagementScope, error) {
	return &gatedStream{n: g.n, peer: p, dir: dir}, nil
}

// gatedStream is one stream's scope: null but for SetProtocol.
type gatedStream struct {
	network.NullScope
	n    *Node
	peer peer.ID
	dir  network.Direction
}

func (s *gatedStream) SetProtocol(proto protocol.ID) error {
	switch s.n.access(s.peer) {
	case accessAll:
		return nil
	case accessPair:
		if pairingProtocols[proto] {
			return nil
		}
	}
	if s.dir == network.DirInbound {
		s.n.emitRefused(s.peer)
	}
	return fmt.Errorf("%s is open to trusted devices only; %s is not one", proto, s.peer.ShortString())
}
