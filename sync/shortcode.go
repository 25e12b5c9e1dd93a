package sync

import (
	"bufio"
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/schollz/pake/v3"
)

// Pairing with a short code a person can read aloud. The code is too
// short to be a key, so it never is one: a PAKE (SPAKE2, from
// schollz/pake, the one croc uses) turns it into a strong secret that
// only a device knowing the code can share, bound to both devices' peer
// ids, and the usual /cairn/pair/1.0.0 exchange then runs under that
// secret. Whoever does not know the code gets one guess per attempt and
// nothing to test offline; the open code allows PairingAttempts attempts
// in all, then closes. The joining device finds the inviting one on the
// LAN by mDNS (_cairn-pair._udp, announced only while a short code is
// open); across networks the long code, with its addresses, is the way.
const (
	ProtocolPairCode = "/cairn/pair-code/1.0.0"
	mdnsPairService  = "_cairn-pair._udp"
	pakeCurve        = "p256"
	// ShortCodeLen is how many characters a short code has (40 bits).
	ShortCodeLen = 8
	// shortAlphabet is Crockford's base32: no I, L, O or U to misread.
	shortAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

var (
	// ErrWrongShortCode means the inviting device was found but the code
	// did not match its open one.
	ErrWrongShortCode = errors.New("the short code is wrong: check it with the inviting device (after 5 wrong tries its code closes; make a new one with `cairn sync pair`)")
	// ErrNoShortCodePeer means no device on this network showed the code.
	ErrNoShortCodePeer = errors.New("no device on this network is showing a short pairing code: check that both are on the same network and the code is still open, or use the long code (it works across networks)")
)

// newShortCode makes a random short code.
func newShortCode() string {
	b := make([]byte, ShortCodeLen)
	rand.Read(b)
	for i := range b {
		b[i] = shortAlphabet[int(b[i])%len(shortAlphabet)]
	}
	return string(b)
}

// FormatShortCode shows a short code as two groups: 7K3M-9QXA.
func FormatShortCode(c string) string {
	if len(c) != ShortCodeLen {
		return c
	}
	return c[:4] + "-" + c[4:]
}

// NormalizeShortCode reads a short code as a person typed it: any case,
// spaces anywhere, with or without the dash between its two halves, O for
// 0, I and L for 1. ok is false when s is not a short code (a long code,
// or words with dashes elsewhere).
func NormalizeShortCode(s string) (code string, ok bool) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) == ShortCodeLen+1 && s[ShortCodeLen/2] == '-' {
		s = s[:ShortCodeLen/2] + s[ShortCodeLen/2+1:]
	}
	s = strings.NewReplacer("O", "0", "I", "1", "L", "1").Replace(s)
	if len(s) != ShortCodeLen {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(shortAlphabet, r) {
			return "", false
		}
	}
	return s, true
}

// pakePassword binds the code to both peer ids, so that a device in the
// middle (which has its own peer id under Noise) cannot relay the PAKE.
func pakePassword(code string, inviter, joiner peer.ID) []byte {
	pw, _ := hkdf.Key(sha256.New, []byte(code), nil, "cairn pair-code v1\x00"+string(inviter)+"\x00"+string(joiner), 32)
	return pw
}

// announceShortCode makes the inviting device findable on the LAN while
// its short code is open.
func (n *Node) announceShortCode(h host.Host, inv *invite) {
	if n.cfg.NoMDNS {
		return
	}
	svc := mdns.NewMdnsService(h, mdnsPairService, foundNotifee(nil))
	if err := svc.Start(); err != nil {
		n.log.Warn("LAN discovery for the short code did not start: use the long code", "err", err)
		return
	}
	n.mu.Lock()
	closed := n.invite != inv // used or replaced while mDNS started
	if !closed {
		inv.announce = svc
	}
	n.mu.Unlock()
	if closed {
		svc.Close()
		return
	}
	// Close it when the code expires; using or killing it closes it sooner.
	time.AfterFunc(time.Until(inv.expires), func() { n.closeInvite(inv) })
}

// closeInvite stops announcing an invite that ended (used, expired, out
// of tries or replaced); the invite itself stays, to say why it refuses.
func (n *Node) closeInvite(inv *invite) {
	n.mu.Lock()
	svc := inv.announce
	inv.announce = nil
	n.mu.Unlock()
	if svc != nil {
		svc.Close()
	}
}

// handlePairCode is the inviting side of /cairn/pair-code/1.0.0.
func (n *Node) handlePairCode(s network.Stream) {
	defer s.Close()
	p := s.Conn().RemotePeer()
	n.mu.Lock()
	inv := n.invite
	now := time.Now()
	live := inv != nil && inv.short != "" && inv.live(now)
	var why error = ErrNoInvite
	if live {
		// Each attempt is one guess, counted before it is answered.
		inv.attempts++
	} else if inv != nil && inv.short != "" {
		why = inv.refusal(now)
	}
	n.mu.Unlock()
	if !live {
		writeFrame(s, frameError, []byte(why.Error()))
		return
	}
	// The last try closes the code, whatever its outcome.
	defer func() {
		n.mu.Lock()
		dead := !inv.live(time.Now())
		n.mu.Unlock()
		if dead {
			n.closeInvite(inv)
		}
	}()
	s.SetDeadline(time.Now().Add(helloTimeout))
	br := bufio.NewReader(s)
	typ, body, err := readFrame(br, 64<<10)
	if err != nil || typ != framePake {
		s.Reset()
		return
	}
	b, err := pake.InitCurve(pakePassword(inv.short, n.id.ID, p), 1, pakeCurve)
	if err == nil {
		err = b.Update(body)
	}
	key, kerr := b.SessionKey()
	if err != nil || kerr != nil {
		writeFrame(s, frameError, []byte("malformed pairing message"))
		return
	}
	if err := writeFrame(s, framePake, b.Bytes()); err != nil {
		return
	}
	typ, body, err = readFrame(br, 64<<10)
	if err != nil || typ != framePair || len(body) < 32 {
		s.Reset()
		return
	}
	n.admitJoin(s, inv, key, p, body, false)
}

// JoinShort pairs this device with the one showing the short code: it
// looks for devices announcing a short code on the LAN (and at the
// addresses in at, each with /p2p/ID, if given), and runs the PAKE with
// each until one accepts the code.
func (n *Node) JoinShort(ctx context.Context, code string, at []ma.Multiaddr) error {
	c, ok := NormalizeShortCode(code)
	if !ok {
		return fmt.Errorf("%q is not a short pairing code (%d letters and digits, like 7K3M-9QXA)", code, ShortCodeLen)
	}
	if err := n.readyToJoin(); err != nil {
		return err
	}
	if err := n.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h := n.Host()
	found := make(chan peer.AddrInfo, 16)
	for _, a := range at {
		ai, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return fmt.Errorf("address %s: %w (it needs /p2p/ID at the end)", a, err)
		}
		found <- *ai
	}
	if !n.cfg.NoMDNS {
		svc := mdns.NewMdnsService(h, mdnsPairService, foundNotifee(found))
		if err := svc.Start(); err != nil {
			n.log.Warn("LAN discovery for the short code did not start", "err", err)
		} else {
			defer svc.Close()
		}
	}
	tried := map[peer.ID]bool{h.ID(): true}
	var last error
	for {
		if n.cfg.NoMDNS && len(found) == 0 {
			// Only the given addresses, all tried.
			return cmp.Or(last, ErrNoShortCodePeer)
		}
		select {
		case <-ctx.Done():
			return ErrNoShortCodePeer
		case ai := <-found:
			if tried[ai.ID] {
				continue
			}
			tried[ai.ID] = true
			err := n.joinShortAt(ctx, c, ai)
			if errors.Is(err, ErrNoInvite) || errors.Is(err, errUnreachable) {
				last = err
				continue // not the inviting device, or gone: look on
			}
			return err
		}
	}
}

var errUnreachable = errors.New("unreachable")

type foundNotifee chan<- peer.AddrInfo

func (f foundNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if f == nil { // the inviting side only announces
		return
	}
	select {
	case f <- ai:
	default:
	}
}

func (n *Node) joinShortAt(ctx context.Context, code string, ai peer.AddrInfo) error {
	n.setJoining(ai.ID)
	defer n.setJoining("")
	h := n.Host()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.Connect(actx, ai); err != nil {
		return fmt.Errorf("%w: %v", errUnreachable, err)
	}
	s, err := h.NewStream(actx, ai.ID, ProtocolPairCode)
	if err != nil {
		return fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	a, err := pake.InitCurve(pakePassword(code, ai.ID, n.id.ID), 0, pakeCurve)
	if err != nil {
		return err
	}
	if err := writeFrame(s, framePake, a.Bytes()); err != nil {
		return fmt.Errorf("pair with %s: %w", ai.ID, err)
	}
	br := bufio.NewReader(s)
	typ, body, err := readFrame(br, maxJSONFrame)
	if err != nil {
		return fmt.Errorf("pair with %s: %w", ai.ID, err)
	}
	if typ == frameError {
		return refusal(body)
	}
	if typ != framePake || a.Update(body) != nil {
		return fmt.Errorf("pair with %s: %w", ai.ID, protocolf("malformed pairing message"))
	}
	key, err := a.SessionKey()
	if err != nil {
		return err
	}
	err = n.joinExchange(ctx, s, br, ai.ID, key)
	if errors.Is(err, ErrWrongSecret) {
		return ErrWrongShortCode
	}
	if err != nil {
		return err
	}
	n.joined(ai.ID, ai.Addrs)
	return nil
}
