package sync

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairnlabs/cairn/memory"
)

// Replication, one stream per direction: the sender opens
// /cairn/sync/1.0.0 to a member and says hello (its trusted set); the
// receiver answers with how far it has applied the sender's change feed
// (the version vector entry it holds for that sender) and its own trusted
// set. The sender then ships key envelopes and batches of what comes after,
// at most window batches ahead of the receiver's acks, and keeps the stream
// open for live changes.
const (
	batchEntries = 512
	window       = 4
	helloTimeout = 20 * time.Second
	// stallTimeout ends a stream whose peer stops reading or acking, so a
	// stuck stream never keeps the sender from starting over.
	stallTimeout = 60 * time.Second
)

type hello struct {
	Founder    string      `json:"founder"`
	Device     string      `json:"device,omitempty"`
	Role       string      `json:"role"`
	Cursor     int64       `json:"cursor"` // receiver: the sender's feed applied up to here
	Membership *Membership `json:"membership"`
	// Addrs are where members were last reached, so a device learns how to
	// reach the others (a backup node, say) from any one of them.
	Addrs map[string][]string `json:"addrs,omitempty"`
}

func (n *Node) hello(cursor int64) hello {
	addrs := map[string][]string{}
	if own := n.Addrs(); len(own) > 0 {
		addrs[n.id.ID.String()] = own
	}
	n.st.mu.Lock()
	for p, a := range n.st.st.Addrs {
		addrs[p] = a
	}
	n.st.mu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	return hello{Founder: n.members.Founder, Device: n.cfg.Store.DeviceID(), Role: n.cfg.Role, Cursor: cursor, Membership: n.members.clone(), Addrs: addrs}
}

// learnAddrs keeps the addresses a peer knows for members this node has
// none for.
func (n *Node) learnAddrs(addrs map[string][]string) {
	var add map[string][]string
	for p, a := range addrs {
		id, err := peer.Decode(p)
		if err != nil || id == n.id.ID || len(a) > 16 {
			continue
		}
		if _, ok := n.member(id); ok && len(n.st.addrs(p)) == 0 {
			if add == nil {
				add = map[string][]string{}
			}
			add[p] = a
		}
	}
	if add != nil {
		n.st.update(func(s *stateFile) {
			for p, a := range add {
				s.Addrs[p] = a
			}
		})
	}
}

// mergeMembership takes in a peer's trusted set and saves the union.
func (n *Node) mergeMembership(m *Membership) error {
	n.mu.Lock()
	next := n.members.clone()
	changed, err := next.Merge(m)
	if err != nil || !changed {
		n.mu.Unlock()
		return err
	}
	b, err := jsonMarshal(next)
	if err == nil {
		err = writeFileAtomic(n.cfg.Dir+"/"+membershipFile, b)
	}
	var newly []peer.ID
	if err == nil {
		newly = newlyRemoved(n.members, next)
		n.members = next
	}
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save the trusted devices: %w", err)
	}
	n.applyRemovals(newly)
	return nil
}

// newlyRemoved lists the devices removed in next but not in prev.
func newlyRemoved(prev, next *Membership) []peer.ID {
	_, was := prev.resolve()
	_, now := next.resolve()
	var out []peer.ID
	for s := range now {
		if id, err := peer.Decode(s); err == nil && !was[s] {
			out = append(out, id)
		}
	}
	return out
}

// handleSync is the receiving side. A peer that is not a member gets its
// stream reset before a byte of it is read (trustedStream).
func (n *Node) handleSync(s network.Stream) {
	if _, ok := n.trustedStream(s); !ok {
		return
	}
	p := s.Conn().RemotePeer()
	err := n.receive(s, p)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, context.Canceled):
		s.Close()
	case errors.Is(err, ErrProtocol) || errors.Is(err, memory.ErrCorrupt) || errors.Is(err, memory.ErrInvalid):
		// A trusted device that sends garbage is cut off; what it sent in
		// the bad batch was checked before anything of it was stored.
		n.log.Warn("peer broke the sync protocol: disconnecting", "from", p.ShortString(), "err", err)
		n.noteError(p, err)
		n.emit(Event{Type: "sync.refused", Peer: p.String(), Detail: err.Error()})
		s.Reset()
		if h := n.Host(); h != nil {
			h.Network().ClosePeer(p)
		}
	default:
		n.log.Debug("sync stream ended", "from", p.ShortString(), "err", err)
		n.noteError(p, err)
		s.Reset()
	}
}

func (n *Node) noteError(p peer.ID, err error) {
	n.mu.Lock()
	n.status(p).LastError = err.Error()
	n.mu.Unlock()
}

func (n *Node) receive(s network.Stream, p peer.ID) error {
	r := bufio.NewReader(s)
	s.SetDeadline(time.Now().Add(helloTimeout))
	var h hello
	if err := readHello(r, &h); err != nil {
		return err
	}
	if err := n.mergeMembership(h.Membership); err != nil {
		return protocolf("%v", err)
	}
	if _, ok := n.member(p); !ok {
		return protocolf("peer %s is not a trusted device", p)
	}
	n.learnAddrs(h.Addrs)
	if err := writeJSONFrame(s, frameHello, n.hello(n.st.cursor(p.String()))); err != nil {
		return err
	}
	s.SetDeadline(time.Time{})
	for {
		typ, body, err := readFrame(r, maxFrame)
		if err != nil {
			return err
		}
		switch typ {
		case frameMembership:
			var m Membership
			if err := readJSON(body, &m); err != nil {
				return err
			}
			if err := n.mergeMembership(&m); err != nil {
				return protocolf("%v", err)
			}
			if _, ok := n.member(p); !ok {
				return protocolf("peer %s was removed", p)
			}
		case frameKeys:
			var envs []KeyEnvelope
			if err := readJSON(body, &envs); err != nil {
				return err
			}
			if err := n.takeEnvelopes(n.ctx, envs); err != nil {
				return err
			}
		case frameBatch:
			b, err := decodeBatch(body)
			if err != nil {
				return err
			}
			if err := n.applyBatch(n.ctx, p, b); err != nil {
				return err
			}
			s.SetWriteDeadline(time.Now().Add(stallTimeout))
			if err := writeFrame(s, frameAck, binary.AppendUvarint(nil, uint64(b.upto))); err != nil {
				return err
			}
		default:
			return protocolf("unexpected frame type %d", typ)
		}
	}
}

func readHello(r *bufio.Reader, h *hello) error {
	typ, body, err := readFrame(r, maxJSONFrame)
	if err != nil {
		return err
	}
	if typ == frameError {
		return fmt.Errorf("peer refused: %s", body)
	}
	if typ != frameHello {
		return protocolf("expected hello, got frame type %d", typ)
	}
	return readJSON(body, h)
}

// applyBatch applies a batch's records in order, all or none (the store
// checks and opens every record of it before it stores any, so a batch
// with one bad record leaves nothing behind: no check here, which would
// open each record twice), and records how far the sender's feed is
// applied.
func (n *Node) applyBatch(ctx context.Context, p peer.ID, b batch) error {
	outs, err := n.cfg.Store.ApplyBatch(ctx, b.records)
	if err != nil {
		return err
	}
	changed := 0
	for _, out := range outs {
		if out != memory.Unchanged {
			changed++
		}
	}
	if err := n.st.advance(p.String(), b.upto); err != nil {
		return err
	}
	n.mu.Lock()
	st := n.status(p)
	st.Received += len(b.records)
	st.LastSeen = time.Now().UTC()
	n.mu.Unlock()
	if changed > 0 {
		n.Notify()
		n.emit(Event{Type: "sync.received", Peer: p.String(), Count: changed})
	}
	return nil
}

// takeEnvelopes stores key envelopes to pass on, and opens those addressed
// to this device.
func (n *Node) takeEnvelopes(ctx context.Context, envs []KeyEnvelope) error {
	added, err := n.st.addEnvelopes(envs)
	if err != nil {
		return err
	}
	for _, e := range added {
		if e.To != n.id.ID.String() || n.cfg.Keys == nil {
			continue
		}
		key, err := n.id.openEnvelope(&e)
		if err != nil {
			return protocolf("epoch key %d: %v", e.Epoch, err)
		}
		if err := n.cfg.Keys.AddEpochKey(ctx, e.Epoch, key); err != nil {
			return fmt.Errorf("store epoch key %d: %w", e.Epoch, err)
		}
		n.emit(Event{Type: "sync.key_epoch", Count: int(e.Epoch)})
	}
	if len(added) > 0 {
		n.Notify()
	}
	return nil
}

// sendLoop keeps a sender running to p while it is connected. It decides
// to stop under the same lock onConnected starts one under, so a new
// connection never finds a sender that is about to quit.
func (n *Node) sendLoop(p peer.ID) {
	defer n.wg.Done()
	backoff := 200 * time.Millisecond
	for {
		n.mu.Lock()
		h := n.host
		_, trusted := n.members.Lookup(p)
		if h == nil || n.ctx.Err() != nil || !linked(h, p) || !trusted {
			delete(n.senders, p)
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		err := n.send(p)
		if n.ctx.Err() != nil {
			return
		}
		if err != nil {
			n.log.Debug("sync sender stopped", "to", p.ShortString(), "err", err)
			n.noteError(p, err)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (n *Node) send(p peer.ID) error {
	h := n.Host()
	ctx, cancel := context.WithCancel(n.ctx)
	defer cancel()
	s, err := h.NewStream(network.WithAllowLimitedConn(ctx, "sync"), p, ProtocolSync)
	if err != nil {
		return err
	}
	defer s.Reset()
	context.AfterFunc(ctx, func() { s.Reset() })
	w := &deadlineWriter{Writer: bufio.NewWriter(s), s: s}
	r := bufio.NewReader(s)
	s.SetDeadline(time.Now().Add(helloTimeout))
	if err := writeJSONFrame(s, frameHello, n.hello(0)); err != nil {
		return err
	}
	var peerHello hello
	if err := readHello(r, &peerHello); err != nil {
		return err
	}
	s.SetDeadline(time.Time{})
	if err := n.mergeMembership(peerHello.Membership); err != nil {
		return err
	}
	n.learnAddrs(peerHello.Addrs)
	cursor := peerHello.Cursor
	slots := make(chan struct{}, window)
	ackErr := make(chan error, 1)
	go func() {
		for {
			typ, body, err := readFrame(r, 64)
			if err == nil && typ != frameAck {
				err = protocolf("expected ack, got frame type %d", typ)
			}
			if err != nil {
				ackErr <- err
				cancel()
				return
			}
			_ = body
			select {
			case <-slots:
			default:
			}
		}
	}()
	sentEnvelopes, sentMembers := -1, -1
	poll := time.NewTicker(n.cfg.PollEvery)
	defer poll.Stop()
	caughtUp := false
	for {
		changed := n.changes()
		// Trusted set and key envelopes go before records, so a receiver
		// holds the key of a new epoch before records sealed under it.
		n.mu.Lock()
		m := n.members.clone()
		n.mu.Unlock()
		w.deadline()
		if len(m.Entries) != sentMembers {
			if err := writeJSONFrame(w, frameMembership, m); err != nil {
				return err
			}
			sentMembers = len(m.Entries)
		}
		if envs := n.st.envelopes(); len(envs) != sentEnvelopes {
			if err := writeJSONFrame(w, frameKeys, envs); err != nil {
				return err
			}
			sentEnvelopes = len(envs)
		}
		if _, ok := m.Lookup(p); !ok {
			w.Flush()
			return fmt.Errorf("peer %s is no longer trusted", p)
		}
		entries, err := n.cfg.Store.SyncFeed(ctx, cursor, batchEntries)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			caughtUp = false
			var err error
			if cursor, err = n.sendEntries(ctx, w, p, peerHello.Device, entries, slots); err != nil {
				return err
			}
			continue
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if !caughtUp && len(slots) == 0 {
			caughtUp = true
			n.mu.Lock()
			n.status(p).CaughtUp = true
			n.mu.Unlock()
			n.emit(Event{Type: "sync.caught_up", Peer: p.String()})
		}
		select {
		case <-ctx.Done():
			select {
			case err := <-ackErr:
				return err
			default:
				return ctx.Err()
			}
		case <-changed:
		case <-poll.C:
		}
	}
}

// sendEntries ships entries as batches of at most maxBatchBytes, skipping
// versions the receiver wrote itself, and returns the new cursor.
func (n *Node) sendEntries(ctx context.Context, w *deadlineWriter, p peer.ID, peerDevice string, entries []memory.SyncEntry, slots chan struct{}) (int64, error) {
	var b batch
	size := 0
	done := int64(0) // the last entry shipped whole
	flush := func(upto int64) error {
		if len(b.records) == 0 {
			return nil
		}
		b.upto = upto
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(stallTimeout):
			return fmt.Errorf("peer %s acked nothing for %s", p.ShortString(), stallTimeout)
		}
		w.deadline()
		if err := writeFrame(w, frameBatch, encodeBatch(b)); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		n.mu.Lock()
		n.status(p).Sent += len(b.records)
		n.mu.Unlock()
		n.emit(Event{Type: "sync.sent", Peer: p.String(), Count: len(b.records)})
		b, size = batch{}, 0
		return nil
	}
	for _, e := range entries {
		for _, r := range append(e.Revisions, e.Record) {
			if peerDevice != "" && r.Origin == peerDevice {
				continue
			}
			if size > 0 && size+len(r.Sealed)+128 > maxBatchBytes {
				if err := flush(done); err != nil {
					return 0, err
				}
			}
			b.records = append(b.records, r)
			size += len(r.Sealed) + 128
		}
		done = e.Seq
	}
	if err := flush(done); err != nil {
		return 0, err
	}
	return done, nil
}

// deadlineWriter is the sender's buffered stream; deadline gives the next
// writes stallTimeout to get through.
type deadlineWriter struct {
	*bufio.Writer
	s network.Stream
}

func (w *deadlineWriter) deadline() { w.s.SetWriteDeadline(time.Now().Add(stallTimeout)) }
