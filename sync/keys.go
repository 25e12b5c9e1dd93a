package sync

import (
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Keys is what sync needs of a vault's key ring (memory.Vault has it). A
// backup node has none: it never holds a vault key.
type Keys interface {
	Keyring() (map[uint32][]byte, uint32, error)
	AdoptKeyring(ctx context.Context, keys map[uint32][]byte, current uint32) error
	AddEpochKey(ctx context.Context, epoch uint32, key []byte) error
	RotateKey(ctx context.Context) (uint32, []byte, error)
}

// KeyEnvelope carries a new epoch key to one member, sealed to its X25519
// key with an ephemeral key (ECDH, HKDF, XChaCha20-Poly1305). Every node
// stores and forwards envelopes, the backup node included; only the
// member it is addressed to can open it.
type KeyEnvelope struct {
	Epoch  uint32 `json:"epoch"`
	To     string `json:"to"`
	From   string `json:"from"`
	Eph    []byte `json:"eph"`
	Sealed []byte `json:"sealed"` // nonce | ciphertext+tag
}

func envelopeAD(e *KeyEnvelope) []byte {
	ad := []byte("cairn epoch key v1\x00")
	ad = binary.BigEndian.AppendUint32(ad, e.Epoch)
	ad = append(ad, e.To...)
	ad = append(ad, 0)
	return append(ad, e.From...)
}

func envelopeKey(shared, eph, to []byte) ([]byte, error) {
	salt := append(append([]byte{}, eph...), to...)
	return hkdf.Key(sha256.New, shared, salt, "cairn epoch key v1", chacha20poly1305.KeySize)
}

func sealEnvelope(from, to string, toKex []byte, epoch uint32, key []byte) (KeyEnvelope, error) {
	pub, err := ecdh.X25519().NewPublicKey(toKex)
	if err != nil {
		return KeyEnvelope{}, fmt.Errorf("member %s has no valid key-agreement key: %w", to, err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return KeyEnvelope{}, err
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		return KeyEnvelope{}, err
	}
	k, err := envelopeKey(shared, eph.PublicKey().Bytes(), toKex)
	if err != nil {
		return KeyEnvelope{}, err
	}
	aead, _ := chacha20poly1305.NewX(k)
	e := KeyEnvelope{Epoch: epoch, To: to, From: from, Eph: eph.PublicKey().Bytes()}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	e.Sealed = aead.Seal(nonce, nonce, key, envelopeAD(&e))
	return e, nil
}

func (id *Identity) openEnvelope(e *KeyEnvelope) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(e.Eph)
	if err != nil {
		return nil, err
	}
	shared, err := id.kex.ECDH(pub)
	if err != nil {
		return nil, err
	}
	k, err := envelopeKey(shared, e.Eph, id.KexPublic())
	if err != nil {
		return nil, err
	}
	aead, _ := chacha20poly1305.NewX(k)
	if len(e.Sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("epoch key envelope is too short")
	}
	key, err := aead.Open(nil, e.Sealed[:aead.NonceSize()], e.Sealed[aead.NonceSize():], envelopeAD(e))
	if err != nil {
		return nil, errors.New("epoch key envelope failed its integrity check")
	}
	return key, nil
}
