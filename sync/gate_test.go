package sync

import (
	"context"
	"errors"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// A third, unpaired host gets nothing from a paired device that shares
// its models. With no pairing code of the device answerable, the gater
// refuses the connection itself; while one is, the host is let in to pair
// and to nothing else: its infer, sync and ping streams are reset before
// any handler runs (with the protocol gate's resource-limit code, where a
// handler's trustedStream would reset with none), and a wrong code is
// answered as wrong.
func TestGateRefusesStrangers(t *testing.T) {
	desk, laptop := newDevice(t, "desk"), newDevice(t, "laptop")
	// The laptop invites, so no pairing code of the desk's is answerable.
	pair(t, laptop, desk)
	desk.node.ShareModels(&url.URL{Scheme: "http", Host: "127.0.0.1:1"})
	// A plain libp2p host: a Node's own gate would not even dial a
	// device that is not one of its own.
	key, _, _ := crypto.GenerateEd25519Key(nil)
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	deskID := desk.node.ID()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The dialer may see its side of the handshake finish (Noise agrees on
	// the muxer early) before the desk's gater closes the connection.
	h.Connect(ctx, *hostInfo(desk.node.Host()))
	eventually(t, "the desk's gater refuses the unpaired host", func() bool {
		return desk.events.saw("sync.refused", h.ID(), "not a trusted device")
	})
	if desk.node.Host().Network().Connectedness(h.ID()) == network.Connected {
		t.Fatal("the desk holds a connection to an unpaired host")
	}
	if got, err := exchange(ctx, h, deskID, ProtocolInfer, inferTags); len(got) > 0 || err == nil || protoGated(err) {
		t.Fatalf("with no pairing code open, an unpaired host's infer request got %q, %v; want the connection refused", got, err)
	}
	eventually(t, "the unpaired host is cut off", func() bool { return h.Network().Connectedness(deskID) != network.Connected })

	code, err := desk.node.Pair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, *hostInfo(desk.node.Host())); err != nil {
		t.Fatalf("while the desk's code is open, a device that would pair cannot connect: %v", err)
	}
	requests := map[protocol.ID]string{
		ProtocolInfer:      inferTags,
		ProtocolSync:       "\x00",
		"/ipfs/ping/1.0.0": string(make([]byte, 32)),
	}
	for proto, req := range requests {
		got, err := exchange(ctx, h, deskID, proto, req)
		if len(got) > 0 || !protoGated(err) {
			t.Fatalf("while a code is open, an unpaired host's %s stream got %q and ended with %v, not the protocol gate's reset", proto, got, err)
		}
	}
	if !linked(desk.node.Host(), h.ID()) {
		t.Fatal("the protocol gate's refusals closed the connection the host would pair on")
	}

	// The pairing protocol answers, here through a device that would join.
	stranger := newDevice(t, "stranger")
	code.Secret = append([]byte{}, code.Secret...) // a copy: it is the invite's own slice
	code.Secret[0] ^= 0xff
	if err := stranger.node.Join(ctx, code.String()); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("a wrong code on the pairing protocol: %v, want %v", err, ErrWrongSecret)
	}
	if len(desk.node.Members()) != 2 {
		t.Fatalf("the desk's devices after a stranger's tries: %v", desk.node.Members())
	}
}

const inferTags = "GET /api/tags HTTP/1.1\r\nHost: desk\r\n\r\n"

// exchange opens proto to p, sends req and reads what comes back until
// the stream ends.
func exchange(ctx context.Context, h host.Host, p peer.ID, proto protocol.ID, req string) ([]byte, error) {
	s, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return nil, err
	}
	s.SetDeadline(time.Now().Add(30 * time.Second))
	s.Write([]byte(req))
	return io.ReadAll(s)
}

// protoGated says whether a stream was reset by the protocol gate.
func protoGated(err error) bool {
	var se *network.StreamError
	return errors.As(err, &se) && se.Remote && se.ErrorCode == network.StreamResourceLimitExceeded
}
