package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairnlabs/cairn/memory/atomicfile"
)

// Roles of a member.
const (
	RoleDevice = "device" // holds the vault key
	RoleBackup = "backup" // stores and forwards sealed records, no key
)

// Entry is one signed change to the trusted set: a device added (by a
// member) or removed (by a member). Entries only accumulate: a removed
// device never comes back under the same identity.
type Entry struct {
	Op     string    `json:"op"` // "add" or "remove"
	Peer   string    `json:"peer"`
	Device string    `json:"device,omitempty"` // vault device id (origin of its records)
	Name   string    `json:"name,omitempty"`
	Role   string    `json:"role,omitempty"`
	Kex    []byte    `json:"kex,omitempty"` // X25519 public key (devices)
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Sig    []byte    `json:"sig"`
}

func (e Entry) signedBytes() []byte {
	e.Sig = nil
	b, _ := json.Marshal(e)
	return append([]byte("cairn membership v1\x00"), b...)
}

// Membership is the trusted set of a vault's devices: readable without the
// vault key, so a backup node enforces it too. Founder is the device that
// paired first; its self-signed add is the root every other entry chains to.
type Membership struct {
	Founder string  `json:"founder"`
	Entries []Entry `json:"entries"`
}

// Member is a device of the trusted set.
type Member struct {
	Peer    peer.ID   `json:"peer"`
	Device  string    `json:"device,omitempty"`
	Name    string    `json:"name,omitempty"`
	Role    string    `json:"role"`
	Kex     []byte    `json:"-"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

func verifyEntry(e Entry) bool {
	id, err := peer.Decode(e.By)
	if err != nil {
		return false
	}
	pk, err := id.ExtractPublicKey()
	if err != nil {
		return false
	}
	ok, err := pk.Verify(e.signedBytes(), e.Sig)
	return err == nil && ok
}

func signEntry(sk crypto.PrivKey, e Entry) (Entry, error) {
	sig, err := sk.Sign(e.signedBytes())
	if err != nil {
		return e, err
	}
	e.Sig = sig
	return e, nil
}

// resolve works out who is trusted: adds chain to the founder through
// members' signatures; a removal signed by such a member is final; entries
// signed by a removed device count for nothing.
func (m *Membership) resolve() (members map[string]Member, removed map[string]bool) {
	valid := make([]bool, len(m.Entries))
	for i, e := range m.Entries {
		valid[i] = verifyEntry(e)
	}
	removed = map[string]bool{}
	for {
		members = map[string]Member{}
		for changed := true; changed; {
			changed = false
			for i, e := range m.Entries {
				if !valid[i] || e.Op != "add" || removed[e.By] || removed[e.Peer] {
					continue
				}
				if _, ok := members[e.Peer]; ok {
					continue
				}
				root := e.By == m.Founder && e.Peer == m.Founder
				if _, signer := members[e.By]; !root && !signer {
					continue
				}
				id, _ := peer.Decode(e.Peer)
				members[e.Peer] = Member{Peer: id, Device: e.Device, Name: e.Name, Role: e.Role, Kex: e.Kex, AddedBy: e.By, AddedAt: e.At}
				changed = true
			}
		}
		grew := false
		for i, e := range m.Entries {
			if !valid[i] || e.Op != "remove" || removed[e.Peer] {
				continue
			}
			if _, ok := members[e.By]; ok {
				removed[e.Peer], grew = true, true
			}
		}
		if !grew {
			return members, removed
		}
	}
}

// Members lists the trusted devices.
func (m *Membership) Members() []Member {
	ms, _ := m.resolve()
	out := make([]Member, 0, len(ms))
	for _, x := range ms {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b Member) int { return a.AddedAt.Compare(b.AddedAt) })
	return out
}

// Lookup returns the member with that peer id, if it is trusted.
func (m *Membership) Lookup(id peer.ID) (Member, bool) {
	ms, _ := m.resolve()
	x, ok := ms[id.String()]
	return x, ok
}

// Removed reports whether the peer was removed.
func (m *Membership) Removed(id peer.ID) bool {
	_, r := m.resolve()
	return r[id.String()]
}

// Merge adds the entries of o that m lacks. Lists of different founders
// do not merge.
func (m *Membership) Merge(o *Membership) (changed bool, err error) {
	if o == nil || o.Founder == "" {
		return false, nil
	}
	if m.Founder == "" {
		m.Founder = o.Founder
	}
	if m.Founder != o.Founder {
		return false, fmt.Errorf("membership lists of two different vaults (founders %s and %s)", m.Founder, o.Founder)
	}
	for _, e := range o.Entries {
		if !verifyEntry(e) {
			continue
		}
		if !slices.ContainsFunc(m.Entries, func(x Entry) bool { return bytes.Equal(x.Sig, e.Sig) }) {
			m.Entries = append(m.Entries, e)
			changed = true
		}
	}
	return changed, nil
}

func (m *Membership) clone() *Membership {
	return &Membership{Founder: m.Founder, Entries: slices.Clone(m.Entries)}
}

const membershipFile = "membership.json"

// HasTrustedSet reports whether dir holds a trusted set: the device was
// paired (it may since have been left alone). It reads nothing else and
// writes nothing, for callers that start a node only when there are
// devices to reach.
func HasTrustedSet(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, membershipFile))
	return err == nil
}

func loadMembership(dir string) (*Membership, error) {
	b, err := os.ReadFile(filepath.Join(dir, membershipFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Membership{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the trusted devices: %w", err)
	}
	var m Membership
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the trusted devices list %s is damaged: %w", filepath.Join(dir, membershipFile), err)
	}
	return &m, nil
}

// writeFileAtomic replaces path with b (mode 0600) so that a crash leaves
// the old file or the new one, never half of one.
func writeFileAtomic(path string, b []byte) error {
	return atomicfile.Write(path, b, 0o600)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
