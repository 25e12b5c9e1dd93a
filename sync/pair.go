package sync

import (
	"bufio"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/crypto/chacha20poly1305"
)

// Pairing limits.
const (
	PairingTTL      = 10 * time.Minute
	PairingAttempts = 5
	secretLen       = 16
	codePrefix      = "CAIRN1-"
)

var (
	// ErrWrongSecret means the joining device did not know the code's secret.
	ErrWrongSecret = errors.New("the pairing code is wrong: check it, or make a new one with `cairn sync pair`")
	// ErrNoInvite means the device has no open pairing code (none made,
	// used already, expired, or killed after too many wrong tries). The
	// errors below say which, and match it too (errors.Is).
	ErrNoInvite = errors.New("this device has no open pairing code (it expired, was used, or had too many wrong tries): make a new one with `cairn sync pair`")
	// ErrCodeUsed means the code paired a device already: a code pairs one.
	ErrCodeUsed error = codeError("this pairing code was used already (a code pairs one device): make a new one with `cairn sync pair` on the other device")
	// ErrCodeExpired means the code's time (PairingTTL) is up.
	ErrCodeExpired error = codeError("this pairing code expired (a code lasts 10 minutes): make a new one with `cairn sync pair` on the other device")
	// ErrCodeLocked means the code was closed after PairingAttempts wrong tries.
	ErrCodeLocked error = codeError("this pairing code was closed after too many wrong tries: make a new one with `cairn sync pair` on the other device, and type it carefully")
)

// codeError is why an inviting device refused a code; each is also an
// ErrNoInvite, for callers that only ask whether the code was refused.
type codeError string

func (e codeError) Error() string        { return string(e) }
func (e codeError) Is(target error) bool { return target == ErrNoInvite }

type invite struct {
	secret   []byte
	short    string // the short code (shortcode.go)
	expires  time.Time
	attempts int
	announce mdns.Service // the short code's LAN announcement, while open
	used     bool
}

func (i *invite) live(now time.Time) bool {
	return now.Before(i.expires) && i.attempts < PairingAttempts && !i.used
}

// answerable says whether the gate still lets an unknown device in to be
// told why the code is refused (used, expired, closed): for a PairingTTL
// after the code's own end, so that a late or second try hears the reason
// instead of "connection failed". Such a device can open nothing but the
// pairing protocol (trustedStream guards the rest).
func (i *invite) answerable(now time.Time) bool {
	return now.Before(i.expires.Add(PairingTTL))
}

// refusal says why a code that is not live is refused.
func (i *invite) refusal(now time.Time) error {
	switch {
	case i == nil:
		return ErrNoInvite
	case i.used:
		return ErrCodeUsed
	case i.attempts >= PairingAttempts:
		return ErrCodeLocked
	case !now.Before(i.expires):
		return ErrCodeExpired
	}
	return nil
}

// refusals are the reasons an inviting device sends back as text, so the
// joining device can return the sentinel for it.
var refusals = []error{ErrWrongSecret, ErrCodeUsed, ErrCodeExpired, ErrCodeLocked, ErrNoInvite}

// Code is what a device shows to be paired with: peer id, addresses and a
// one-time secret, as text (also fit for a QR code's alphanumeric mode).
// Short is the same invitation as a short code to read aloud, good on the
// same network (shortcode.go); it is not part of String.
type Code struct {
	Peer    peer.ID
	Addrs   []ma.Multiaddr
	Secret  []byte
	Short   string
	Expires time.Time
}

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// String is the code as typed or scanned: CAIRN1- and base32 of
//
//	secret (16) | peer id (uvarint length + bytes) | address count (uvarint) | addresses (uvarint length + bytes each)
func (c Code) String() string {
	b := append([]byte{}, c.Secret...)
	id := []byte(c.Peer)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(len(c.Addrs)))
	for _, a := range c.Addrs {
		b = binary.AppendUvarint(b, uint64(len(a.Bytes())))
		b = append(b, a.Bytes()...)
	}
	return codePrefix + codeEncoding.EncodeToString(b)
}

// ParseCode reads a pairing code, ignoring case, spaces and line breaks.
func ParseCode(s string) (Code, error) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	bad := func(why string) (Code, error) {
		return Code{}, fmt.Errorf("this is not a cairn pairing code (%s): copy all of what `cairn sync pair` printed, starting with %s", why, codePrefix)
	}
	if !strings.HasPrefix(s, codePrefix) {
		return bad("wrong prefix")
	}
	raw, err := codeEncoding.DecodeString(strings.TrimPrefix(s, codePrefix))
	if err != nil || len(raw) < secretLen+2 {
		return bad("damaged")
	}
	d := &decoder{b: raw[secretLen:]}
	c := Code{Secret: raw[:secretLen]}
	idb := d.bytes(d.uvarint("peer"), "peer")
	if d.err != nil {
		return bad("damaged peer id")
	}
	if c.Peer, err = peer.IDFromBytes(idb); err != nil {
		return bad("damaged peer id")
	}
	count := d.uvarint("addresses")
	for i := uint64(0); i < count && i < 32 && d.err == nil; i++ {
		ab := d.bytes(d.uvarint("address"), "address")
		if a, err := ma.NewMultiaddrBytes(ab); err == nil && d.err == nil {
			c.Addrs = append(c.Addrs, a)
		}
	}
	if d.err != nil || len(c.Addrs) == 0 {
		return bad("no addresses")
	}
	return c, nil
}

func pairKeys(secret []byte, inviter, joiner peer.ID) (mac, seal []byte) {
	info := "cairn pair v1\x00" + string(inviter) + "\x00" + string(joiner)
	mac, _ = hkdf.Key(sha256.New, secret, nil, info+"\x00mac", 32)
	seal, _ = hkdf.Key(sha256.New, secret, nil, info+"\x00keyring", 32)
	return mac, seal
}

func tag(key []byte, label string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	for _, p := range parts {
		m.Write(binary.AppendUvarint(nil, uint64(len(p))))
		m.Write(p)
	}
	return m.Sum(nil)
}

type joinMsg struct {
	Role   string `json:"role"`
	Device string `json:"device,omitempty"`
	Name   string `json:"name,omitempty"`
	Kex    []byte `json:"kex,omitempty"`
}

type pairReply struct {
	Membership *Membership `json:"membership"`
	Keyring    []byte      `json:"keyring,omitempty"` // sealed under the pairing secret
	Mac        []byte      `json:"mac"`
}

type keyringMsg struct {
	Current uint32            `json:"current"`
	Keys    map[uint32][]byte `json:"keys"`
}

// Pair opens a pairing code, good once for PairingTTL and PairingAttempts
// tries, replacing any open one. Sync turns on so that the other device can
// reach this one; the pairing completes in the background.
func (n *Node) Pair(ctx context.Context) (Code, error) {
	if n.cfg.Keys == nil {
		return Code{}, errors.New("a backup node cannot invite devices: make the code on a device, then run `cairn sync backup-node --join CODE` here")
	}
	if err := n.start(); err != nil {
		return Code{}, err
	}
	secret := make([]byte, secretLen)
	rand.Read(secret)
	inv := &invite{secret: secret, short: newShortCode(), expires: time.Now().Add(PairingTTL)}
	n.mu.Lock()
	old := n.invite
	n.invite = inv
	h := n.host
	n.mu.Unlock()
	if old != nil {
		n.closeInvite(old)
	}
	n.announceShortCode(h, inv)
	c := Code{Peer: h.ID(), Secret: secret, Short: inv.short, Expires: inv.expires}
	for _, a := range h.Addrs() {
		if len(c.Addrs) < 8 {
			c.Addrs = append(c.Addrs, a)
		}
	}
	n.emit(Event{Type: "sync.pairing", Detail: "code open until " + inv.expires.UTC().Format(time.RFC3339)})
	return c, nil
}

// handlePair is the inviting side of /cairn/pair/1.0.0.
func (n *Node) handlePair(s network.Stream) {
	defer s.Close()
	p := s.Conn().RemotePeer()
	n.mu.Lock()
	inv := n.invite
	n.mu.Unlock()
	if now := time.Now(); inv == nil || !inv.live(now) {
		writeFrame(s, frameError, []byte(inv.refusal(now).Error()))
		return
	}
	s.SetDeadline(time.Now().Add(helloTimeout))
	typ, body, err := readFrame(bufio.NewReader(s), 64<<10)
	if err != nil || typ != framePair || len(body) < 32 {
		s.Reset()
		return
	}
	n.admitJoin(s, inv, inv.secret, p, body, true)
}

// admitJoin checks a join message (its MAC under secret, the long code's
// or the one a short code's PAKE made) and admits the device. countWrong
// counts a wrong MAC as a try (the short code's PAKE counted it already).
func (n *Node) admitJoin(s network.Stream, inv *invite, secret []byte, p peer.ID, body []byte, countWrong bool) {
	macKey, sealKey := pairKeys(secret, n.id.ID, p)
	mac, raw := body[:32], body[32:]
	if !hmac.Equal(mac, tag(macKey, "join", raw)) {
		n.mu.Lock()
		if countWrong {
			inv.attempts++
		}
		tries, dead := inv.attempts, inv.attempts >= PairingAttempts
		n.mu.Unlock()
		if dead {
			n.closeInvite(inv)
		}
		n.emit(Event{Type: "sync.pair_failed", Peer: p.String(), Detail: fmt.Sprintf("wrong code (%d of %d tries)", tries, PairingAttempts)})
		writeFrame(s, frameError, []byte(ErrWrongSecret.Error()))
		return
	}
	var jm joinMsg
	if err := json.Unmarshal(raw, &jm); err != nil || (jm.Role != RoleDevice && jm.Role != RoleBackup) {
		writeFrame(s, frameError, []byte("malformed join message"))
		return
	}
	n.mu.Lock()
	now := time.Now()
	// The short code's PAKE counted this attempt already: its last try is
	// still one to answer.
	lastShortTry := !countWrong && inv.attempts == PairingAttempts && !inv.used && now.Before(inv.expires)
	if n.invite != inv || !(inv.live(now) || lastShortTry) { // a new code replaced it, or another join took it meanwhile
		why := ErrNoInvite
		if n.invite == inv {
			why = inv.refusal(now)
		}
		n.mu.Unlock()
		writeFrame(s, frameError, []byte(why.Error()))
		return
	}
	inv.used = true
	n.mu.Unlock()
	n.closeInvite(inv)
	reply, err := n.admit(p, jm, sealKey)
	if err != nil {
		n.log.Warn("pairing failed", "err", err)
		writeFrame(s, frameError, []byte("pairing failed on the inviting device: "+err.Error()))
		return
	}
	mj, _ := json.Marshal(reply.Membership)
	reply.Mac = tag(macKey, "invite", mac, mj, reply.Keyring)
	if err := writeJSONFrame(s, framePair, reply); err != nil {
		return
	}
	n.st.update(func(st *stateFile) { st.Enabled = true })
	n.emit(Event{Type: "sync.paired", Peer: p.String(), Detail: jm.Name})
	n.onConnected(p)
}

// admit adds the joining device to the trusted set (founding it if this
// is the first pairing) and seals the key ring for it.
func (n *Node) admit(p peer.ID, jm joinMsg, sealKey []byte) (pairReply, error) {
	now := time.Now().UTC()
	m := n.membersCopy()
	var add []Entry
	if m.Founder == "" {
		m.Founder = n.id.ID.String()
		self, err := signEntry(n.id.Key, Entry{Op: "add", Peer: m.Founder, Device: n.cfg.Store.DeviceID(), Name: n.cfg.Name, Role: n.cfg.Role, Kex: n.id.KexPublic(), By: m.Founder, At: now})
		if err != nil {
			return pairReply{}, err
		}
		add = append(add, self)
	}
	e, err := signEntry(n.id.Key, Entry{Op: "add", Peer: p.String(), Device: jm.Device, Name: jm.Name, Role: jm.Role, Kex: jm.Kex, By: n.id.ID.String(), At: now})
	if err != nil {
		return pairReply{}, err
	}
	m.Entries = append(m.Entries, append(add, e)...)
	if err := n.mergeMembership(m); err != nil {
		return pairReply{}, err
	}
	reply := pairReply{Membership: n.membersCopy()}
	if jm.Role == RoleDevice {
		keys, cur, err := n.cfg.Keys.Keyring()
		if err != nil {
			return pairReply{}, fmt.Errorf("read the vault keys (is the vault unlocked?): %w", err)
		}
		plain, _ := json.Marshal(keyringMsg{Current: cur, Keys: keys})
		aead, _ := chacha20poly1305.NewX(sealKey)
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		reply.Keyring = aead.Seal(nonce, nonce, plain, []byte("cairn pair keyring v1"))
		clear(plain)
	}
	return reply, nil
}

func (n *Node) membersCopy() *Membership {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.members.clone()
}

// Join pairs this device with the one that showed code: both prove they
// know the code's secret, bound to both peer ids, over the Noise channel;
// the inviter sends the trusted set and (to a device, not a backup node)
// the vault's keys sealed under a key derived from the secret.
func (n *Node) Join(ctx context.Context, code string) error {
	if short, ok := NormalizeShortCode(code); ok {
		return n.JoinShort(ctx, short, nil)
	}
	c, err := ParseCode(code)
	if err != nil {
		return err
	}
	if err := n.readyToJoin(); err != nil {
		return err
	}
	n.setJoining(c.Peer)
	defer n.setJoining("")
	if err := n.start(); err != nil {
		return err
	}
	h := n.Host()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.Connect(ctx, peer.AddrInfo{ID: c.Peer, Addrs: c.Addrs}); err != nil {
		return fmt.Errorf("reach the inviting device at %v: %w (is it on and on this network? A code used or expired more than 10 minutes ago is refused this way too: make a new one with `cairn sync pair`)", c.Addrs, err)
	}
	s, err := h.NewStream(ctx, c.Peer, ProtocolPair)
	if err != nil {
		return fmt.Errorf("open pairing with %s: %w", c.Peer, err)
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	if err := n.joinExchange(ctx, s, bufio.NewReader(s), c.Peer, c.Secret); err != nil {
		return err
	}
	n.joined(c.Peer, c.Addrs)
	return nil
}

func (n *Node) readyToJoin() error {
	if n.cfg.Keys != nil {
		if _, _, err := n.cfg.Keys.Keyring(); err != nil {
			return fmt.Errorf("unlock this device's vault before joining: %w", err)
		}
	}
	return nil
}

// setJoining lets the gater admit the device being joined ("" for none).
func (n *Node) setJoining(p peer.ID) {
	n.mu.Lock()
	n.joining = p
	n.mu.Unlock()
}

// refusal is the error an inviting device's error frame stands for.
func refusal(body []byte) error {
	for _, e := range refusals {
		if string(body) == e.Error() {
			return e
		}
	}
	return fmt.Errorf("the inviting device refused: %s", body)
}

// joinExchange is the joining side of the pairing exchange under secret:
// prove it, get the trusted set and (a device) the vault's keys. What is
// already in this vault stays: the keys are added to its key ring, and
// sync then merges the two vaults' records.
func (n *Node) joinExchange(ctx context.Context, s network.Stream, br *bufio.Reader, inviter peer.ID, secret []byte) error {
	macKey, sealKey := pairKeys(secret, inviter, n.id.ID)
	jm := joinMsg{Role: n.cfg.Role, Device: n.cfg.Store.DeviceID(), Name: n.cfg.Name}
	if n.cfg.Role == RoleDevice {
		jm.Kex = n.id.KexPublic()
	}
	raw, _ := json.Marshal(jm)
	mac := tag(macKey, "join", raw)
	if err := writeFrame(s, framePair, append(append([]byte{}, mac...), raw...)); err != nil {
		return fmt.Errorf("pair with %s: %w", inviter, err)
	}
	typ, body, err := readFrame(br, maxJSONFrame)
	if err != nil {
		return fmt.Errorf("pair with %s: %w", inviter, err)
	}
	if typ == frameError {
		return refusal(body)
	}
	var reply pairReply
	if typ != framePair || json.Unmarshal(body, &reply) != nil || reply.Membership == nil {
		return fmt.Errorf("pair with %s: %w", inviter, protocolf("malformed pairing reply"))
	}
	mj, _ := json.Marshal(reply.Membership)
	if !hmac.Equal(reply.Mac, tag(macKey, "invite", mac, mj, reply.Keyring)) {
		return fmt.Errorf("the inviting device did not prove it knows the code: is someone in between? (%w)", ErrWrongSecret)
	}
	if _, ok := reply.Membership.Lookup(n.id.ID); !ok {
		return errors.New("the inviting device did not add this one to its trusted devices")
	}
	if n.cfg.Role == RoleDevice {
		aead, _ := chacha20poly1305.NewX(sealKey)
		if len(reply.Keyring) < aead.NonceSize() {
			return errors.New("the inviting device sent no vault keys")
		}
		plain, err := aead.Open(nil, reply.Keyring[:aead.NonceSize()], reply.Keyring[aead.NonceSize():], []byte("cairn pair keyring v1"))
		if err != nil {
			return errors.New("the vault keys from the inviting device failed their integrity check")
		}
		var km keyringMsg
		err = json.Unmarshal(plain, &km)
		clear(plain)
		if err != nil {
			return errors.New("the vault keys from the inviting device are malformed")
		}
		if err := n.cfg.Keys.AdoptKeyring(ctx, km.Keys, km.Current); err != nil {
			return err
		}
	}
	return n.mergeMembership(reply.Membership)
}

// joined records the inviting device's addresses and starts syncing.
func (n *Node) joined(inviter peer.ID, at []ma.Multiaddr) {
	var addrs []string
	for _, a := range at {
		addrs = append(addrs, a.String())
	}
	n.st.update(func(st *stateFile) { st.Enabled = true; st.Addrs[inviter.String()] = addrs })
	n.emit(Event{Type: "sync.paired", Peer: inviter.String()})
	n.onConnected(inviter)
	n.Notify()
}

// Remove takes a device out of the trusted set: every peer that learns of
// it (the backup node included) stops talking to it, and the vault key
// rotates so that records written from now on are sealed under a key it
// never had. The new key is sealed to each remaining device.
func (n *Node) Remove(ctx context.Context, target string) error {
	if n.cfg.Keys == nil {
		return errors.New("a backup node cannot remove devices: run `cairn sync remove` on a device")
	}
	m := n.membersCopy()
	var victim *Member
	for _, x := range m.Members() {
		if x.Peer.String() == target || x.Name == target || x.Device == target {
			if victim != nil {
				return fmt.Errorf("%q names more than one device: use its peer id (cairn sync devices)", target)
			}
			victim = &x
		}
	}
	if victim == nil {
		return fmt.Errorf("no trusted device %q (cairn sync devices lists them)", target)
	}
	if victim.Peer == n.id.ID {
		return errors.New("this device cannot remove itself: remove it from another device")
	}
	e, err := signEntry(n.id.Key, Entry{Op: "remove", Peer: victim.Peer.String(), By: n.id.ID.String(), At: time.Now().UTC()})
	if err != nil {
		return err
	}
	m.Entries = append(m.Entries, e)
	if err := n.mergeMembership(m); err != nil {
		return err
	}
	epoch, key, err := n.cfg.Keys.RotateKey(ctx)
	if err != nil {
		return fmt.Errorf("rotate the vault key (the device is removed, but records are still sealed under a key it had): %w", err)
	}
	defer clear(key)
	var envs []KeyEnvelope
	for _, x := range n.membersCopy().Members() {
		if x.Peer == n.id.ID || x.Role != RoleDevice {
			continue
		}
		env, err := sealEnvelope(n.id.ID.String(), x.Peer.String(), x.Kex, epoch, key)
		if err != nil {
			return err
		}
		envs = append(envs, env)
	}
	if _, err := n.st.addEnvelopes(envs); err != nil {
		return err
	}
	n.emit(Event{Type: "sync.removed", Peer: victim.Peer.String(), Detail: victim.Name, Count: int(epoch)})
	n.Notify()
	return nil
}

// Members lists the trusted devices.
func (n *Node) Members() []Member { return n.membersCopy().Members() }
