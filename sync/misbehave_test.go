package sync

import (
	"bufio"
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/cairnlabs/cairn/memory"
)

// A paired device that sends garbage is disconnected, and nothing of the
// batch it sent is stored, not even the good records in it.
func TestMisbehavingPeerIsCutOffAndNothingStored(t *testing.T) {
	ctx := context.Background()
	a, b := newDevice(t, "a"), newDevice(t, "b")
	pair(t, a, b)
	eventually(t, "paired devices agree", converged(t, a.vault, b.vault))
	id := b.node.id
	b.stop()
	// b's vault writes a real, well-sealed record that has not been synced.
	good := b.add("a good record in a bad batch")
	var goodRec memory.Record
	entries, _ := b.vault.SyncFeed(ctx, 0, 100)
	for _, e := range entries {
		if e.Record.ID == good.ID {
			goodRec = e.Record
		}
	}
	forged := goodRec
	forged.ID = "0198c2f0-0000-7000-8000-000000000001"
	forged.Sealed = slices.Clone(goodRec.Sealed) // sealed for another id: fails authentication

	raw, err := libp2p.New(libp2p.Identity(id.Key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	cases := map[string][]byte{
		"malformed batch": func() []byte {
			var f []byte
			f = binary.AppendUvarint(f, 6)
			return append(f, frameBatch, 1, 200, 7, 7, 7)
		}(),
		"oversized frame": binary.AppendUvarint(nil, maxFrame+1),
		"badly sealed record": func() []byte {
			body := encodeBatch(batch{upto: 99, records: []memory.Record{goodRec, forged}})
			f := binary.AppendUvarint(nil, uint64(len(body)+1))
			f = append(f, frameBatch)
			return append(f, body...)
		}(),
		"unknown frame type": {2, 99, 0},
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			s := openSync(t, raw, a)
			if _, err := s.Write(frame); err != nil {
				t.Fatal(err)
			}
			conn := s.Conn()
			eventually(t, "a disconnects the peer", conn.IsClosed)
			if got := texts(t, a.vault); slices.Contains(got, good.Text) {
				t.Fatalf("a stored a record from a bad batch: %q", got)
			}
			if _, err := a.vault.Get(ctx, forged.ID); err == nil {
				t.Fatal("a stored the forged record")
			}
		})
	}
}

type syncStream interface {
	Write([]byte) (int, error)
	Conn() interface{ IsClosed() bool }
}

type streamConn struct {
	w    interface{ Write([]byte) (int, error) }
	conn interface{ IsClosed() bool }
}

func (s streamConn) Write(b []byte) (int, error)        { return s.w.Write(b) }
func (s streamConn) Conn() interface{ IsClosed() bool } { return s.conn }

// openSync opens a sync stream from raw (holding a paired identity) to d
// and gets through the hello.
func openSync(t *testing.T, raw host.Host, d *device) syncStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := raw.Connect(ctx, *hostInfo(d.node.Host())); err != nil {
		t.Fatal(err)
	}
	s, err := raw.NewStream(ctx, d.node.ID(), ProtocolSync)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeJSONFrame(s, frameHello, hello{Founder: d.node.membersCopy().Founder, Membership: d.node.membersCopy()}); err != nil {
		t.Fatal(err)
	}
	var h hello
	if err := readHello(bufio.NewReader(s), &h); err != nil {
		t.Fatalf("hello from a paired device: %v", err)
	}
	return streamConn{w: s, conn: s.Conn()}
}
