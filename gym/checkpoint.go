package gym

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A checkpoint is the log's size and root hash, in the C2SP
// tlog-checkpoint body ("ORIGIN\nSIZE\nBASE64-ROOT\n"), signed in Go's
// signed-note format by the gym's key under the note name ORIGIN; a
// witness adds its own signature line to the same note.

// LogOrigin is the origin line (and note key name) of a gym's log.
func LogOrigin(gymID string) string { return "cairn-gym/" + gymID }

// Checkpoint is a parsed, verified checkpoint.
type Checkpoint struct {
	Origin string
	tlog.Tree
	// Note is the signed note, as received: the evidence to keep.
	Note []byte
}

// formatCheckpoint is the checkpoint body for a tree.
func formatCheckpoint(origin string, t tlog.Tree) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, t.N, t.Hash)
}

// parseCheckpoint reads a checkpoint body (extension lines are allowed and
// ignored, as C2SP says).
func parseCheckpoint(text string) (string, tlog.Tree, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return "", tlog.Tree{}, errors.New("the checkpoint has fewer than three lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint size %q is not a number", lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint root %q is not a base64 hash", lines[2])
	}
	return lines[0], tlog.Tree{N: n, Hash: h}, nil
}

// noteSigner signs notes with an Ed25519 key (note.Signer).
type noteSigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
}

func (s noteSigner) Name() string                    { return s.name }
func (s noteSigner) KeyHash() uint32                 { return s.hash }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

// NoteKey is the signed-note verifier key ("NAME+HASH+KEY") for an
// Ed25519 public key under a name.
func NoteKey(name string, pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(name, pub)
}

func newNoteSigner(name string, key ed25519.PrivateKey) (noteSigner, error) {
	vkey, err := NoteKey(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		return noteSigner{}, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return noteSigner{}, err
	}
	return noteSigner{name: name, hash: v.KeyHash(), key: key}, nil
}

// signCheckpoint signs a tree as the gym's checkpoint.
func signCheckpoint(s noteSigner, t tlog.Tree) ([]byte, error) {
	return note.Sign(&note.Note{Text: formatCheckpoint(s.name, t)}, s)
}

// logVerifier is the verifier of a gym's checkpoints, from its manifest.
func logVerifier(m Manifest) (note.Verifier, error) {
	pub, err := m.PublicKey.Key()
	if err != nil {
		return nil, err
	}
	vkey, err := NoteKey(LogOrigin(m.PeerID), pub)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// ErrBadCheckpoint means a checkpoint is malformed or not signed by the
// key it must be signed by.
var ErrBadCheckpoint = errors.New("the checkpoint does not verify")

// OpenCheckpoint checks a signed checkpoint: the gym's signature under
// its manifest key, the origin, and every witness named (by verifier
// key) having signed it too.
func OpenCheckpoint(m Manifest, msg []byte, witnesses ...string) (Checkpoint, error) {
	gv, err := logVerifier(m)
	if err != nil {
		return Checkpoint{}, err
	}
	vs := []note.Verifier{gv}
	for _, w := range witnesses {
		v, err := note.NewVerifier(w)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("witness key %q: %w", w, err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	signed := map[string]bool{}
	for _, s := range n.Sigs {
		signed[s.Name+"+"+strconv.FormatUint(uint64(s.Hash), 16)] = true
	}
	for _, v := range vs {
		if !signed[v.Name()+"+"+strconv.FormatUint(uint64(v.KeyHash()), 16)] {
			return Checkpoint{}, fmt.Errorf("%w: it carries no signature by %s", ErrBadCheckpoint, v.Name())
		}
	}
	origin, tree, err := parseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	if origin != LogOrigin(m.PeerID) {
		return Checkpoint{}, fmt.Errorf("%w: it is for log %q, not %q", ErrBadCheckpoint, origin, LogOrigin(m.PeerID))
	}
	return Checkpoint{Origin: origin, Tree: tree, Note: bytes.Clone(msg)}, nil
}

// ErrNotIncluded means an inclusion proof does not prove the item is in
// the log the checkpoint describes.
var ErrNotIncluded = errors.New("the inclusion proof does not verify")

// VerifyInclusion checks that an item (by hash) is leaf index of the tree.
func VerifyInclusion(t tlog.Tree, index int64, itemHash string, proof tlog.RecordProof) error {
	if index < 0 || index >= t.N {
		return fmt.Errorf("%w: leaf %d is outside a log of %d", ErrNotIncluded, index, t.N)
	}
	if err := tlog.CheckRecord(proof, t.N, t.Hash, index, tlog.RecordHash(LogRecord(itemHash))); err != nil {
		return fmt.Errorf("%w: item %.16s… at leaf %d of %d: %v", ErrNotIncluded, itemHash, index, t.N, err)
	}
	return nil
}

// Cosign adds a witness's signature to a checkpoint note. The witness's
// note name is its own (say "witness.example/alice"); its verifier key
// is NoteKey(name, key.Public()). Check the checkpoint (OpenCheckpoint,
// and consistency with what the witness saw before: Witness) first: a
// cosignature says "I saw this, and it extends what I saw".
func Cosign(msg []byte, name string, key ed25519.PrivateKey) ([]byte, error) {
	s, err := newNoteSigner(name, key)
	if err != nil {
		return nil, err
	}
	n, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		n, err = unverified.Note, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	// Sign carries the signatures already present over, as they were, and
	// adds ours after them.
	return note.Sign(n, s)
}
