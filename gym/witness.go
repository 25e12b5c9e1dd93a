package gym

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// Witnessing: anyone who added a gym (another gym node, a third party)
// can check its latest checkpoint against the last one they saw and, if
// it extends it, cosign it with their own note key and hand the
// cosignature back to the gym, which serves it with the checkpoint.

// Witness checks a gym's log (VerifyLog: the latest checkpoint extends
// the one this contributor kept, and its receipts' items are in it) and
// returns the checkpoint cosigned under name with key. With publish, it
// gives the cosigned checkpoint to the gym too.
func (c *Contributor) Witness(ctx context.Context, g GymInfo, name string, key ed25519.PrivateKey, publish bool) ([]byte, error) {
	if _, err := c.VerifyLog(ctx, g); err != nil {
		return nil, err
	}
	st, _, err := c.LogStatus(ctx, g)
	if err != nil {
		return nil, err
	}
	cosigned, err := Cosign([]byte(st.Checkpoint), name, key)
	if err != nil {
		return nil, err
	}
	if !publish {
		return cosigned, nil
	}
	t, err := transportFor(g.Address)
	if err != nil {
		return nil, err
	}
	resp, err := t.do(ctx, request{Op: "cosign", Note: cosigned})
	if err != nil {
		return cosigned, err
	}
	if resp.Refused != "" {
		return cosigned, fmt.Errorf("gym %s did not take the cosignature (%s): %s", g.Manifest.Name, resp.Refused, resp.Reason)
	}
	return cosigned, nil
}

// AddCosignature takes a witness's cosignature of the gym's current
// checkpoint and serves it with the checkpoint from then on (until the
// next checkpoint; cosignatures are kept in memory). The gym cannot
// check a witness it does not know: whoever trusts a witness checks its
// signature with its key (OpenCheckpoint's witnesses).
func (n *Node) AddCosignature(msg []byte) error {
	vkey, err := NoteKey(LogOrigin(n.id), n.key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	gv, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	got, err := note.Open(msg, note.VerifierList(gv))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	n.cp.Lock()
	defer n.cp.Unlock()
	cur, err := note.Open(n.cp.note, note.VerifierList(gv))
	if err != nil {
		return err
	}
	if got.Text != cur.Text {
		return errors.New("the cosigned checkpoint is not this gym's current one: fetch /checkpoint again and cosign that")
	}
	cur.UnverifiedSigs = append(cur.UnverifiedSigs, got.UnverifiedSigs...)
	merged, err := note.Sign(&note.Note{Text: cur.Text, Sigs: cur.Sigs, UnverifiedSigs: dedupSigs(cur.UnverifiedSigs)})
	if err != nil {
		return err
	}
	n.cp.note = merged
	return nil
}

func dedupSigs(sigs []note.Signature) []note.Signature {
	seen := map[string]bool{}
	var out []note.Signature
	for _, s := range sigs {
		if !seen[s.Base64] {
			seen[s.Base64] = true
			out = append(out, s)
		}
	}
	return out
}
