package memory

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// A sealed blob is laid out as
//
//	format (1) | key epoch (4, big endian) | schema (2, big endian) | nonce (24) | ciphertext+tag
//
// The header is readable without the key so that a node without it (a backup
// peer) can store and forward records, and so that a record of a newer
// schema can be kept and passed on unchanged. The associated data binds the
// record id, kind, schema and key epoch, so a sealed payload cannot be moved
// to another record or relabelled.
const (
	sealFormat    = 1
	sealHeaderLen = 1 + 4 + 2
	nonceLen      = chacha20poly1305.NonceSizeX
	sealOverhead  = sealHeaderLen + nonceLen + chacha20poly1305.Overhead
)

// ErrCorrupt means a sealed record failed authentication: the file was
// damaged or tampered with. Errors naming the record wrap it as *RecordError.
var ErrCorrupt = errors.New("record is damaged: it failed its integrity check")

// RecordError says which record could not be read and why.
type RecordError struct {
	ID  string
	Err error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %s: %v", e.ID, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// sealer seals and opens record payloads with the record subkey.
type sealer struct {
	epoch uint32
	aead  cipher.AEAD
	// older opens records sealed under earlier key epochs (sync_keys.go).
	older map[uint32]cipher.AEAD
}

func newSealer(vaultKey []byte, epoch uint32) *sealer {
	aead, err := chacha20poly1305.NewX(deriveKey(vaultKey, "cairn record seal v1"))
	if err != nil {
		panic(err) // key size is fixed
	}
	return &sealer{epoch: epoch, aead: aead}
}

func recordAD(id string, kind Kind, schema uint16, epoch uint32) []byte {
	ad := make([]byte, 0, 32+len(id)+len(kind))
	ad = append(ad, "cairn record v1\x00"...)
	ad = append(ad, id...)
	ad = append(ad, 0)
	ad = append(ad, kind...)
	ad = append(ad, 0)
	ad = binary.BigEndian.AppendUint16(ad, schema)
	ad = binary.BigEndian.AppendUint32(ad, epoch)
	return ad
}

func (s *sealer) seal(id string, kind Kind, schema uint16, plaintext []byte) []byte {
	out := make([]byte, sealHeaderLen, sealOverhead+len(plaintext))
	out[0] = sealFormat
	binary.BigEndian.PutUint32(out[1:5], s.epoch)
	binary.BigEndian.PutUint16(out[5:7], schema)
	nonce := randomBytes(nonceLen)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, recordAD(id, kind, schema, s.epoch))
}

func (s *sealer) open(id string, kind Kind, blob []byte) ([]byte, error) {
	return s.openTo(nil, id, kind, blob)
}

// openTo is open, appending the plaintext to dst (which may be a buffer
// reused between records).
func (s *sealer) openTo(dst []byte, id string, kind Kind, blob []byte) ([]byte, error) {
	h, err := parseSealHeader(blob)
	if err != nil {
		return nil, err
	}
	aead := s.aead
	if h.epoch != s.epoch {
		if aead = s.older[h.epoch]; aead == nil {
			return nil, fmt.Errorf("%w: sealed under key epoch %d, this vault's current epoch is %d", ErrUnknownEpoch, h.epoch, s.epoch)
		}
	}
	nonce := blob[sealHeaderLen : sealHeaderLen+nonceLen]
	pt, err := aead.Open(dst, nonce, blob[sealHeaderLen+nonceLen:], recordAD(id, kind, h.schema, h.epoch))
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

type sealHeader struct {
	epoch  uint32
	schema uint16
}

func parseSealHeader(blob []byte) (sealHeader, error) {
	if len(blob) < sealOverhead {
		return sealHeader{}, fmt.Errorf("%w: sealed blob is %d bytes, shorter than its %d-byte envelope", ErrCorrupt, len(blob), sealOverhead)
	}
	if blob[0] != sealFormat {
		return sealHeader{}, fmt.Errorf("%w: unknown seal format %d", ErrCorrupt, blob[0])
	}
	return sealHeader{epoch: binary.BigEndian.Uint32(blob[1:5]), schema: binary.BigEndian.Uint16(blob[5:7])}, nil
}
