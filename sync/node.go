package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Protocols, versioned so that a later build can speak both.
const (
	ProtocolSync = "/cairn/sync/1.0.0"
	ProtocolPair = "/cairn/pair/1.0.0"
	mdnsService  = "_cairn-sync._udp"
)

// DefaultListen is every interface on a random port, TCP and QUIC.
var DefaultListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1", "/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}

// Config sets up a Node.
type Config struct {
	// Dir holds the device identity, the trusted set and the sync state
	// (beside the vault; created 0700).
	Dir string
	// Store is the vault, or a BackupStore on a backup node.
	Store Store
	// Keys is the vault's key ring; nil on a backup node.
	Keys Keys
	// Role is RoleDevice or RoleBackup.
	Role string
	// Name is shown to the other devices (a host name).
	Name string
	// Listen are the multiaddrs to listen on once sync is on (DefaultListen
	// if empty).
	Listen []string
	// Relays are circuit relay v2 servers (multiaddrs with /p2p/ID) to
	// reserve a slot on and be reached through.
	Relays []string
	// NoMDNS turns off LAN discovery.
	NoMDNS bool
	// ForcePrivate makes the host treat itself as behind a NAT, so that it
	// uses its relays at once (tests; people behind NATs get this from
	// AutoNAT).
	ForcePrivate bool
	// RedialEvery is how often unreachable members are dialled again
	// (default 5 s).
	RedialEvery time.Duration
	// PollEvery is how often the change feed is checked for local writes
	// that Notify did not announce (default 500 ms).
	PollEvery time.Duration
	// Events receives progress; it must not block.
	Events func(Event)
	Logger *slog.Logger
}

// Event is sync progress, for the API's event stream.
type Event struct {
	Type   string `json:"type"` // sync.connected, sync.disconnected, sync.received, sync.sent, sync.caught_up, sync.refused, sync.paired, sync.removed, sync.dropped, sync.error
	Peer   string `json:"peer,omitempty"`
	Count  int    `json:"count,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Node is this device's (or a backup node's) place in the sync network.
// Until the device is paired or sync is turned on it has no libp2p host:
// no listener, no mDNS, nothing sent.
type Node struct {
	cfg Config
	id  *Identity
	log *slog.Logger
	st  *state

	ctx    context.Context
	cancel context.CancelFunc
	wg     gosync.WaitGroup

	mu       gosync.Mutex
	members  *Membership
	host     host.Host
	mdns     mdns.Service
	invite   *invite
	joining  peer.ID
	relays   []peer.AddrInfo
	senders  map[peer.ID]bool
	peers    map[peer.ID]*PeerStatus
	changed  chan struct{} // closed when the store or the trusted set changed
	lastSeen map[peer.ID]time.Time
	subs     map[chan Event]struct{}
	share    *url.URL // the local Ollama, while its models are shared
}

// PeerStatus is what sync status shows of one peer.
type PeerStatus struct {
	Peer      string    `json:"peer"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role,omitempty"`
	Connected bool      `json:"connected"`
	Sent      int       `json:"sent"`
	Received  int       `json:"received"`
	CaughtUp  bool      `json:"caught_up"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// New loads the node's identity and state and, when the device is paired
// or sync was turned on, starts its host.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Store == nil {
		return nil, errors.New("sync: no store")
	}
	if cfg.Role == "" {
		cfg.Role = RoleDevice
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = DefaultListen
	}
	cfg.RedialEvery = cmpDur(cfg.RedialEvery, 5*time.Second)
	cfg.PollEvery = cmpDur(cfg.PollEvery, 500*time.Millisecond)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	id, err := LoadIdentity(cfg.Dir)
	if err != nil {
		return nil, err
	}
	m, err := loadMembership(cfg.Dir)
	if err != nil {
		return nil, err
	}
	st, err := loadState(cfg.Dir)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, id: id, log: cfg.Logger.With("peer", id.ID.ShortString()), st: st, members: m,
		senders: map[peer.ID]bool{}, peers: map[peer.ID]*PeerStatus{}, changed: make(chan struct{}), lastSeen: map[peer.ID]time.Time{}}
	for _, r := range cfg.Relays {
		ai, err := peer.AddrInfoFromString(r)
		if err != nil {
			return nil, fmt.Errorf("relay %q is not a multiaddr with /p2p/ID: %w", r, err)
		}
		n.relays = append(n.relays, *ai)
	}
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if n.paired() || st.enabled() {
		if err := n.start(); err != nil {
			n.cancel()
			return nil, err
		}
	}
	return n, nil
}

func cmpDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ID is the device's peer id.
func (n *Node) ID() peer.ID { return n.id.ID }

// paired reports whether another device is in the trusted set.
func (n *Node) paired() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.members.Members() {
		if m.Peer != n.id.ID {
			return true
		}
	}
	return false
}

// Enable turns sync on without pairing (the backup node, or a device that
// should be reachable for pairing): the host listens and mDNS announces.
func (n *Node) Enable() error {
	if err := n.st.update(func(s *stateFile) { s.Enabled = true }); err != nil {
		return err
	}
	return n.start()
}

// Running reports whether the host is up.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.host != nil
}

// Addrs are the addresses the host listens on (none while sync is off),
// each ending in /p2p/ID.
func (n *Node) Addrs() []string {
	n.mu.Lock()
	h := n.host
	n.mu.Unlock()
	if h == nil {
		return nil
	}
	var out []string
	for _, a := range h.Addrs() {
		out = append(out, a.String()+"/p2p/"+h.ID().String())
	}
	return out
}

// Host is the libp2p host (nil while sync is off), for tests and the relay.
func (n *Node) Host() host.Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.host
}

func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.host != nil {
		return nil
	}
	opts := []libp2p.Option{
		libp2p.Identity(n.id.Key),
		libp2p.ListenAddrStrings(n.cfg.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(gater{n}),
		libp2p.EnableRelay(),
		libp2p.EnableHolePunching(),
		libp2p.EnableAutoNATv2(),
		libp2p.DisableMetrics(),
		// libp2p's default resource limits held a restarted device's new
		// connections back under churn (seen in the three-host test under
		// load); the gater admits only members after Noise, so the limits
		// bought little. See docs/SECURITY.md. What stands in their place
		// gates streams by protocol (protogate.go).
		libp2p.ResourceManager(&protoGate{n: n}),
	}
	if len(n.relays) > 0 {
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(n.relays, autorelayBoot()...))
	}
	if n.cfg.ForcePrivate {
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return fmt.Errorf("start the sync host on %v: %w (pass other --p2p-listen addresses?)", n.cfg.Listen, err)
	}
	n.host = h
	h.SetStreamHandler(ProtocolSync, n.handleSync)
	h.SetStreamHandler(ProtocolPair, n.handlePair)
	h.SetStreamHandler(ProtocolPairCode, n.handlePairCode)
	h.SetStreamHandler(ProtocolInfer, n.handleInfer)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			if n.closeIfRemoved(c) {
				return
			}
			n.onConnected(c.RemotePeer())
		},
		DisconnectedF: func(_ network.Network, c network.Conn) { n.onDisconnected(c.RemotePeer()) },
	})
	if !n.cfg.NoMDNS {
		n.mdns = mdns.NewMdnsService(h, mdnsService, mdnsNotifee{n})
		if err := n.mdns.Start(); err != nil {
			n.log.Warn("LAN discovery (mDNS) did not start; peers are dialled at their known addresses", "err", err)
		}
	}
	n.wg.Add(1)
	go n.maintain()
	n.log.Info("sync on", "addrs", h.Addrs())
	return nil
}

// Close stops the host and every stream.
func (n *Node) Close() error {
	n.cancel()
	n.mu.Lock()
	h, md, inv := n.host, n.mdns, n.invite
	n.mu.Unlock()
	if inv != nil {
		n.closeInvite(inv)
	}
	if md != nil {
		md.Close()
	}
	var err error
	if h != nil {
		err = h.Close()
	}
	n.wg.Wait()
	return errors.Join(err, n.st.close())
}

func (n *Node) member(p peer.ID) (Member, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.members.Lookup(p)
}

type mdnsNotifee struct{ n *Node }

// HandlePeerFound dials members found on the LAN; others are ignored.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	n := m.n
	n.emit(Event{Type: "sync.discovered", Peer: ai.ID.String(), Detail: "mDNS"})
	if ai.ID == n.id.ID {
		return
	}
	if _, ok := n.member(ai.ID); !ok {
		return
	}
	if h := n.Host(); h != nil {
		h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.RecentlyConnectedAddrTTL)
		go h.Connect(n.ctx, ai)
	}
}

func (n *Node) emit(e Event) {
	if n.cfg.Events != nil {
		n.cfg.Events(e)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- e:
		default: // a slow reader misses progress, never blocks sync
		}
	}
}

// Subscribe returns a channel of the node's events until cancel is called.
func (n *Node) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	n.mu.Lock()
	if n.subs == nil {
		n.subs = map[chan Event]struct{}{}
	}
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(n.subs, ch)
		n.mu.Unlock()
	}
}

func (n *Node) status(p peer.ID) *PeerStatus {
	s := n.peers[p]
	if s == nil {
		s = &PeerStatus{Peer: p.String()}
		n.peers[p] = s
	}
	return s
}

func (n *Node) onConnected(p peer.ID) {
	m, ok := n.member(p)
	if !ok {
		return
	}
	n.mu.Lock()
	s := n.status(p)
	s.Connected, s.LastSeen = true, time.Now().UTC()
	start := !n.senders[p]
	n.senders[p] = true
	h := n.host
	n.mu.Unlock()
	if h != nil {
		var addrs []string
		for _, c := range h.Network().ConnsToPeer(p) {
			if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT); err != nil {
				addrs = append(addrs, c.RemoteMultiaddr().String())
			}
		}
		if len(addrs) > 0 {
			n.st.update(func(s *stateFile) { s.Addrs[p.String()] = addrs })
		}
	}
	n.emit(Event{Type: "sync.connected", Peer: p.String(), Detail: m.Name})
	if start {
		n.wg.Add(1)
		go n.sendLoop(p)
	}
}

func (n *Node) onDisconnected(p peer.ID) {
	h := n.Host()
	if h != nil && linked(h, p) {
		return
	}
	n.mu.Lock()
	if s, ok := n.peers[p]; ok {
		s.Connected, s.CaughtUp = false, false
	}
	n.mu.Unlock()
	if _, ok := n.member(p); ok {
		n.emit(Event{Type: "sync.disconnected", Peer: p.String()})
	}
}

// maintain dials members that are not connected, at their last known
// addresses, every RedialEvery.
func (n *Node) maintain() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.RedialEvery)
	defer t.Stop()
	for {
		n.dialMembers()
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) dialMembers() {
	h := n.Host()
	if h == nil {
		return
	}
	n.mu.Lock()
	members := n.members.Members()
	n.mu.Unlock()
	for _, m := range members {
		if m.Peer == n.id.ID || linked(h, m.Peer) {
			continue
		}
		ai := n.memberAddrs(m.Peer)
		if len(ai.Addrs) == 0 && len(h.Peerstore().Addrs(m.Peer)) == 0 {
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
			defer cancel()
			if err := h.Connect(ctx, ai); err != nil {
				n.log.Debug("dial member", "member", m.Peer.ShortString(), "err", err)
			}
		}()
	}
}

// Notify tells the node that the store changed, so live push does not wait
// for the next poll.
func (n *Node) Notify() {
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

func (n *Node) changes() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// Status is the node's state for sync status.
type Status struct {
	On       bool         `json:"on"`
	Peer     string       `json:"peer"`
	Role     string       `json:"role"`
	Addrs    []string     `json:"addrs"`
	Pairing  bool         `json:"pairing"`
	Members  []Member     `json:"devices"`
	Peers    []PeerStatus `json:"peers"`
	LastSeq  int64        `json:"last_seq"`
	KeyEpoch uint32       `json:"key_epoch,omitempty"`
}

// Status reports the node's state.
func (n *Node) Status(ctx context.Context) Status {
	s := Status{On: n.Running(), Peer: n.id.ID.String(), Role: n.cfg.Role, Addrs: n.Addrs()}
	s.LastSeq, _ = n.cfg.Store.LastSeq(ctx)
	if n.cfg.Keys != nil {
		if _, cur, err := n.cfg.Keys.Keyring(); err == nil {
			s.KeyEpoch = cur
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	s.Pairing = n.invite != nil && n.invite.live(time.Now())
	s.Members = n.members.Members()
	for _, m := range s.Members {
		if m.Peer == n.id.ID {
			continue
		}
		ps := *n.status(m.Peer)
		ps.Name, ps.Role = m.Name, m.Role
		s.Peers = append(s.Peers, ps)
	}
	return s
}

// AddPeerAddr records where a member can be reached (a multiaddr ending in
// /p2p/ID), for `cairn sync connect` and tests.
func (n *Node) AddPeerAddr(addr string) error {
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return fmt.Errorf("%q is not a multiaddr ending in /p2p/ID: %w", addr, err)
	}
	var as []string
	for _, a := range ai.Addrs {
		as = append(as, a.String())
	}
	return n.st.update(func(s *stateFile) { s.Addrs[ai.ID.String()] = as })
}

// linked reports whether h has a connection to p, direct or through a
// relay (a relayed connection is "limited" but carries sync all the same).
func linked(h host.Host, p peer.ID) bool {
	c := h.Network().Connectedness(p)
	return c == network.Connected || c == network.Limited
}
