package gym

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// SchemaVersion is the version of the envelope, receipt, revocation and
// manifest bodies this build writes and reads.
const SchemaVersion = 1

// ProtocolID is the libp2p protocol a gym node speaks.
const ProtocolID = "/cairn/gym/1.0.0"

// Domains separate what a key signs, so that a signature over one kind of
// body can never pass for another.
const (
	domainEnvelope   = "cairn-gym-envelope-v1\n"
	domainReceipt    = "cairn-gym-receipt-v1\n"
	domainRevocation = "cairn-gym-revocation-v1\n"
	domainManifest   = "cairn-gym-manifest-v1\n"
)

// Signed is a body with an Ed25519 signature over its exact bytes (after
// a domain string). The body travels as raw JSON, so what was signed is
// what is checked and stored, byte for byte.
type Signed struct {
	Body json.RawMessage `json:"body"`
	// Sig is the signature, base64 in JSON.
	Sig []byte `json:"sig"`
}

func sign(key ed25519.PrivateKey, domain string, body any) (Signed, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Body: b, Sig: ed25519.Sign(key, append([]byte(domain), b...))}, nil
}

// ErrBadSignature means a signature does not verify under the key it
// names.
var ErrBadSignature = errors.New("the signature does not verify")

func (s *Signed) verify(pub ed25519.PublicKey, domain string) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, append([]byte(domain), s.Body...), s.Sig) {
		return ErrBadSignature
	}
	return nil
}

// PublicKey is an Ed25519 public key, unpadded base64url in JSON.
type PublicKey string

// EncodeKey names a public key.
func EncodeKey(pub ed25519.PublicKey) PublicKey {
	return PublicKey(base64.RawURLEncoding.EncodeToString(pub))
}

// Key decodes a public key.
func (k PublicKey) Key() (ed25519.PublicKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(string(k))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %.60q is not an Ed25519 key in base64url", string(k))
	}
	return ed25519.PublicKey(b), nil
}

// Envelope is a contribution: approved items for one gym, under the
// person's pseudonymous key for that gym.
type Envelope struct {
	Schema int `json:"schema"`
	// Gym is the gym's id (its peer id): an envelope is for one gym only.
	Gym string `json:"gym"`
	// ID is random; a gym takes an envelope once.
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Contributor is the pseudonymous public key that signs.
	Contributor PublicKey `json:"contributor"`
	// License is the licence the gym's manifest asks for, which the person
	// accepted when they approved the items.
	License string `json:"license"`
	// Items are the items' exact bytes (see Item.Encode).
	Items []json.RawMessage `json:"items"`
	// Stamp is the key's registration stamp for this gym, when the gym
	// asks for one (Limits.StampBits).
	Stamp string `json:"stamp,omitempty"`
}

// ItemResult is what a gym did with one item.
type ItemResult struct {
	Hash string `json:"hash"`
	// Status is accepted, duplicate (the gym has it already) or refused.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// LogIndex is the item's leaf in the gym's transparency log (accepted
	// and duplicate items), and Proof its inclusion proof in the tree of
	// the receipt's Checkpoint.
	LogIndex *int64           `json:"log_index,omitempty"`
	Proof    tlog.RecordProof `json:"proof,omitempty"`
}

// Item statuses in a receipt.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusRefused   = "refused"
	StatusRevoked   = "revoked"
)

// Receipt is a gym's signed answer to an envelope or a revocation: what it
// did with each item, by hash, so a contributor can prove what was taken.
type Receipt struct {
	Schema int    `json:"schema"`
	Gym    string `json:"gym"`
	// For is the id of the envelope or revocation answered.
	For         string       `json:"for"`
	Contributor PublicKey    `json:"contributor"`
	Received    time.Time    `json:"received"`
	Items       []ItemResult `json:"items"`
	// Checkpoint is the gym's signed log checkpoint (a signed note) after
	// this envelope's items were appended; every item's Proof is against it.
	Checkpoint string `json:"checkpoint,omitempty"`
	// Quota is the items an hour this key may have accepted now: it
	// follows the key's record.
	Quota int `json:"quota,omitempty"`
}

// Revocation withdraws items a contributor sent, by hash. Only the key
// that contributed them can.
type Revocation struct {
	Schema      int       `json:"schema"`
	Gym         string    `json:"gym"`
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	Contributor PublicKey `json:"contributor"`
	Items       []string  `json:"items"`
}

// Limits are what a gym accepts.
type Limits struct {
	MaxItemBytes     int `json:"max_item_bytes"`
	MaxEnvelopeItems int `json:"max_envelope_items"`
	// ItemsPerHour is how many items one contributor may have accepted in
	// an hour.
	ItemsPerHour int `json:"items_per_hour"`
	// NewKeyItemsPerHour, when set, is a new key's hourly quota: it grows
	// with the key's record up to ItemsPerHour and falls with gold tasks
	// answered wrongly and rejections (see Record).
	NewKeyItemsPerHour int `json:"new_key_items_per_hour,omitempty"`
	// StampBits, when set, is the proof of work each key's envelopes
	// carry (see ValidStamp).
	StampBits int `json:"stamp_bits,omitempty"`
}

// Manifest is what a gym publishes about itself, signed with its key.
type Manifest struct {
	Schema      int    `json:"schema"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Wants says in words what data the gym is after.
	Wants   string   `json:"wants,omitempty"`
	Formats []Format `json:"formats"`
	// License is the licence every contribution is given under.
	License string `json:"license"`
	Limits  Limits `json:"limits"`
	// PeerID is the gym's libp2p peer id, also its gym id.
	PeerID    string    `json:"peer_id"`
	PublicKey PublicKey `json:"public_key"`
	Addrs     []string  `json:"addrs,omitempty"`
	URL       string    `json:"url,omitempty"`
	// LogOrigin names the gym's transparency log, and LogKey is the
	// signed-note verifier key its checkpoints are signed with (the same
	// Ed25519 key as PublicKey), for anyone who mirrors the log.
	LogOrigin string `json:"log_origin,omitempty"`
	LogKey    string `json:"log_key,omitempty"`
	// Tasks are the task sets anyone may take (`cairn gym tasks`).
	Tasks []TaskSet `json:"tasks,omitempty"`
}

// MaxEnvelopeBytes bounds what a gym reads of one request.
const MaxEnvelopeBytes = 16 << 20

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openSigned decodes a signed body whose key is inside it (envelopes,
// revocations): it decodes, then checks the signature under the named key.
func openSigned(s *Signed, domain string, body any, key func() PublicKey) error {
	if err := json.Unmarshal(s.Body, body); err != nil {
		return fmt.Errorf("body does not decode: %v", err)
	}
	pub, err := key().Key()
	if err != nil {
		return err
	}
	return s.verify(pub, domain)
}

// OpenManifest checks a signed manifest: it verifies under the key it
// names, and that key is the one its peer id stands for.
func OpenManifest(s Signed) (Manifest, error) {
	var m Manifest
	if err := openSigned(&s, domainManifest, &m, func() PublicKey { return m.PublicKey }); err != nil {
		return m, fmt.Errorf("gym manifest: %w", err)
	}
	if m.Schema != SchemaVersion {
		return m, fmt.Errorf("gym manifest has schema %d; this build reads %d: update cairn", m.Schema, SchemaVersion)
	}
	pub, _ := m.PublicKey.Key()
	id, err := peerIDOf(pub)
	if err != nil || id != m.PeerID {
		return m, fmt.Errorf("gym manifest: peer id %s is not that of its public key", m.PeerID)
	}
	return m, nil
}

// OpenReceipt checks a receipt against the gym's key.
func OpenReceipt(s Signed, gymKey PublicKey) (Receipt, error) {
	var r Receipt
	if err := openSigned(&s, domainReceipt, &r, func() PublicKey { return gymKey }); err != nil {
		return r, fmt.Errorf("receipt: %w", err)
	}
	return r, nil
}
