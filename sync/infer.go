package sync

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// ProtocolInfer carries one model request of a member device to this
// device's Ollama: an HTTP/1.1 request and Ollama's own reply (NDJSON when
// streamed), one request per stream, the body ending when the stream does.
// Closing the stream stops the generation on the serving device.
const ProtocolInfer = "/cairn/infer/1.0.0"

// inferRoutes are the Ollama calls a member may make: list, show, chat and
// embed, nothing that pulls, deletes or creates models.
var inferRoutes = map[string]bool{
	"GET /api/version": true,
	"GET /api/tags":    true,
	"POST /api/show":   true,
	"POST /api/chat":   true,
	"POST /api/embed":  true,
}

// Limits of one infer request: the header must arrive quickly; a body (a
// long conversation with its memories, or texts to embed) is bounded.
const (
	inferHeaderTimeout = 30 * time.Second
	maxInferBody       = 32 << 20
)

// ErrDeviceUnreachable means a member device could not be reached over the
// mesh (offline, or not found on the LAN, at its last addresses or through
// the relay).
var ErrDeviceUnreachable = errors.New("device not reachable")

// ErrDeviceRefused means a member device was reached but refused the
// connection: it removed this device from the trusted set.
var ErrDeviceRefused = errors.New("device refused the connection")

// ShareModels turns sharing of this device's models with the person's
// other devices on (upstream is the local Ollama's URL) or off (nil). Off
// is the default; a member asking then gets a clear refusal.
func (n *Node) ShareModels(upstream *url.URL) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.share = upstream
}

// SharesModels reports whether this device's models are offered.
func (n *Node) SharesModels() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.share != nil
}

// trustedDevice is the membership check of the infer protocol: the peer is
// in the signed trusted set, not removed, and a device (a backup node holds
// no vault key and gets no prompts).
func (n *Node) trustedDevice(p peer.ID) (Member, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p == n.id.ID || n.members.Removed(p) {
		return Member{}, false
	}
	m, ok := n.members.Lookup(p)
	return m, ok && m.Role == RoleDevice
}

func (n *Node) removed(p peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.members.Removed(p)
}

// handleInfer serves one request of a member device. Nothing of the
// exchange is stored, and the log has the route and the status only.
func (n *Node) handleInfer(s network.Stream) {
	p := s.Conn().RemotePeer()
	if n.removed(p) {
		// Between the removal and the gater closing the connection: the
		// device is told why.
		writeInferError(s, http.StatusForbidden, n.cfg.Name+" removed this device from your devices: pair it again to use its models")
		s.Close()
		n.emitRefused(p)
		return
	}
	// The check every handler of the trusted set starts with (gater.go),
	// then: a device, not a backup node (which holds no vault key).
	if _, ok := n.trustedStream(s); !ok {
		return
	}
	if _, ok := n.trustedDevice(p); !ok {
		s.Reset()
		n.emitRefused(p)
		return
	}
	defer s.Close()
	start := time.Now()
	s.SetReadDeadline(start.Add(inferHeaderTimeout))
	br := bufio.NewReader(s)
	req, err := http.ReadRequest(br)
	if err != nil {
		s.Reset()
		return
	}
	route := req.Method + " " + req.URL.Path
	status := n.serveInfer(s, br, req, route)
	n.log.Debug("infer request served", "from", p.ShortString(), "route", route, "status", status, "took", time.Since(start).Round(time.Millisecond))
}

func (n *Node) serveInfer(s network.Stream, br *bufio.Reader, req *http.Request, route string) int {
	n.mu.Lock()
	upstream := n.share
	n.mu.Unlock()
	if upstream == nil {
		return writeInferError(s, http.StatusForbidden, fmt.Sprintf("%s does not share its models: turn it on there with `cairn models share on` (or in Settings)", n.cfg.Name))
	}
	if !inferRoutes[route] {
		return writeInferError(s, http.StatusNotFound, route+" is not offered to other devices: they may list, show, chat and embed")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxInferBody+1))
	if err != nil {
		s.Reset()
		return 0
	}
	if len(body) > maxInferBody {
		return writeInferError(s, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is over %d MiB: send a shorter conversation or fewer texts", maxInferBody>>20))
	}
	s.SetReadDeadline(time.Time{})
	// The asking device closes the stream when it stops (Esc, Ctrl-C, a
	// cancelled request): the read below then ends, and so does Ollama's
	// generation.
	ctx, cancel := context.WithCancel(n.ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, br)
		cancel()
	}()
	up, err := http.NewRequestWithContext(ctx, req.Method, upstream.JoinPath(req.URL.Path).String(), bytes.NewReader(body))
	if err != nil {
		return writeInferError(s, http.StatusInternalServerError, err.Error())
	}
	up.Header.Set("Content-Type", "application/json")
	resp, err := inferClient.Do(up)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return writeInferError(s, http.StatusBadGateway, fmt.Sprintf("Ollama on %s does not answer: start it there with `ollama serve`", n.cfg.Name))
	}
	defer resp.Body.Close()
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nConnection: close\r\n\r\n", resp.StatusCode, http.StatusText(resp.StatusCode), resp.Header.Get("Content-Type"))
	if _, err := io.WriteString(s, head); err != nil {
		return 0
	}
	if _, err := io.Copy(s, resp.Body); err != nil {
		s.Reset()
	}
	return resp.StatusCode
}

// inferClient calls the local Ollama; no timeout, as replies stream for
// as long as they take, bounded by the asking device's stream.
var inferClient = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute}}

// writeInferError answers in Ollama's error shape, which its client shows.
func writeInferError(w io.Writer, status int, msg string) int {
	b := []byte(`{"error":` + strconv.Quote(msg) + "}\n")
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, http.StatusText(status), len(b))
	w.Write(b)
	return status
}

// InferTransport carries HTTP requests to member p's Ollama over
// ProtocolInfer, a stream per request: give it to an Ollama client. The
// URL's host is not used.
func (n *Node) InferTransport(p peer.ID) http.RoundTripper {
	return &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return n.dialInfer(ctx, p)
		},
	}
}

func (n *Node) dialInfer(ctx context.Context, p peer.ID) (net.Conn, error) {
	m, ok := n.trustedDevice(p)
	if !ok {
		return nil, fmt.Errorf("%s is not one of your trusted devices (removed, or never paired): pair it again with `cairn sync pair`", p.ShortString())
	}
	h := n.Host()
	if h == nil {
		return nil, fmt.Errorf("%w: sync is off on this device", ErrDeviceUnreachable)
	}
	if !linked(h, p) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := h.Connect(cctx, n.memberAddrs(p))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: %s is offline or out of reach (not on the LAN, not at its last addresses, not through a relay): %v", ErrDeviceUnreachable, m.Name, err)
		}
	}
	s, err := h.NewStream(network.WithAllowLimitedConn(ctx, "infer"), p, ProtocolInfer)
	if err != nil {
		// It was reached (the handshake proved who it is), then it hung up:
		// its gater no longer admits this device.
		return nil, fmt.Errorf("%w: %s answered, then closed the connection (%v): it no longer counts this device among yours (was it removed there? `cairn sync devices` on %s shows), or it is shutting down", ErrDeviceRefused, m.Name, err, m.Name)
	}
	return inferConn{s}, nil
}

// memberAddrs is where member p may be reached: its last known addresses
// and, through each configured relay, a circuit.
func (n *Node) memberAddrs(p peer.ID) peer.AddrInfo {
	ai := peer.AddrInfo{ID: p}
	for _, s := range n.st.addrs(p.String()) {
		if a, err := ma.NewMultiaddr(s); err == nil {
			ai.Addrs = append(ai.Addrs, a)
		}
	}
	for _, r := range n.relays {
		if a, err := ma.NewMultiaddr("/p2p/" + r.ID.String() + "/p2p-circuit"); err == nil && r.ID != p && len(r.Addrs) > 0 {
			ai.Addrs = append(ai.Addrs, r.Addrs[0].Encapsulate(a))
		}
	}
	return ai
}

// inferConn is a libp2p stream as a net.Conn, for net/http.
type inferConn struct{ network.Stream }

func (c inferConn) LocalAddr() net.Addr  { return streamAddr(c.Conn().LocalPeer()) }
func (c inferConn) RemoteAddr() net.Addr { return streamAddr(c.Conn().RemotePeer()) }

type streamAddr peer.ID

func (a streamAddr) Network() string { return "libp2p" }
func (a streamAddr) String() string  { return peer.ID(a).String() }
