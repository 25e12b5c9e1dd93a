package sync

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// identityFile holds the device's libp2p identity (Ed25519), mode 0600,
// in the sync folder beside the vault. It names the device to its peers;
// it is not the vault key and opens no record.
const identityFile = "identity.key"

// Identity is a device's libp2p key and the X25519 key derived from it,
// with which peers seal new epoch keys for it (keys.go).
type Identity struct {
	Key crypto.PrivKey
	ID  peer.ID
	kex *ecdh.PrivateKey
}

// LoadIdentity reads the identity in dir, making one (and dir, 0700) the
// first time.
func LoadIdentity(dir string) (*Identity, error) {
	path := filepath.Join(dir, identityFile)
	raw, err := os.ReadFile(path)
	var sk crypto.PrivKey
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create sync folder: %w", err)
		}
		sk, _, err = crypto.GenerateEd25519Key(nil)
		if err != nil {
			return nil, err
		}
		b, err := crypto.MarshalPrivateKey(sk)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("save the device identity: %w", err)
		}
		_, werr := f.Write(b)
		if err := f.Close(); werr != nil || err != nil {
			return nil, fmt.Errorf("save the device identity %s: %w", path, errors.Join(werr, err))
		}
	case err != nil:
		return nil, fmt.Errorf("read the device identity: %w", err)
	default:
		if sk, err = crypto.UnmarshalPrivateKey(raw); err != nil {
			return nil, fmt.Errorf("the device identity %s is damaged (%v): move it away to make a new one, then pair again", path, err)
		}
	}
	return newIdentity(sk)
}

func newIdentity(sk crypto.PrivKey) (*Identity, error) {
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	raw, err := sk.Raw()
	if err != nil {
		return nil, err
	}
	seed, err := hkdf.Key(sha256.New, raw, nil, "cairn kex v1", 32)
	if err != nil {
		return nil, err
	}
	kex, err := ecdh.X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, err
	}
	return &Identity{Key: sk, ID: id, kex: kex}, nil
}

// KexPublic is the public X25519 key peers seal epoch keys to.
func (i *Identity) KexPublic() []byte { return i.kex.PublicKey().Bytes() }
