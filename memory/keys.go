package memory

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KDFParams are the Argon2id parameters that stretch a passphrase into the
// key that wraps the vault key. They are stored in the vault so that a vault
// created with other parameters still opens.
type KDFParams struct {
	// MemoryKiB is the memory cost in KiB (RFC 9106 second recommended
	// option: 64 MiB).
	MemoryKiB uint32 `json:"memory_kib"`
	// Passes is the time cost.
	Passes uint32 `json:"passes"`
	// Parallelism is the number of lanes.
	Parallelism uint8 `json:"parallelism"`
	// Salt is 16 random bytes, new for every wrap.
	Salt []byte `json:"salt"`
}

// DefaultKDF is RFC 9106's second recommended option: 64 MiB, 3 passes,
// 4 lanes.
var DefaultKDF = KDFParams{MemoryKiB: 64 * 1024, Passes: 3, Parallelism: 4}

const (
	keySize     = 32
	saltSize    = 16
	minMemKiB   = 8 * 1024
	maxMemKiB   = 4 * 1024 * 1024
	wrapVersion = 1
)

var (
	// ErrWrongPassphrase means the passphrase does not unwrap the vault key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrWrongRecoveryKey means the recovery key does not unwrap the vault key.
	ErrWrongRecoveryKey = errors.New("wrong recovery key")
)

func (p KDFParams) validate() error {
	if p.MemoryKiB < minMemKiB || p.MemoryKiB > maxMemKiB {
		return fmt.Errorf("argon2id memory %d KiB is outside %d..%d", p.MemoryKiB, minMemKiB, maxMemKiB)
	}
	if p.Passes < 1 || p.Passes > 64 {
		return fmt.Errorf("argon2id passes %d is outside 1..64", p.Passes)
	}
	if p.Parallelism < 1 {
		return fmt.Errorf("argon2id parallelism must be at least 1")
	}
	if len(p.Salt) != saltSize {
		return fmt.Errorf("argon2id salt must be %d bytes", saltSize)
	}
	return nil
}

func (p KDFParams) derive(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, p.Salt, p.Passes, p.MemoryKiB, p.Parallelism, keySize)
}

// keyWrap is the vault key sealed under a key-encryption key.
type keyWrap struct {
	Version int        `json:"v"`
	KDF     *KDFParams `json:"kdf,omitempty"` // nil for the recovery wrap
	Nonce   []byte     `json:"nonce"`
	Sealed  []byte     `json:"sealed"`
}

const wrapAD = "cairn vault key wrap v1"

func wrapKey(kek, vaultKey []byte, kdf *KDFParams) (keyWrap, error) {
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return keyWrap{}, err
	}
	nonce := randomBytes(aead.NonceSize())
	return keyWrap{Version: wrapVersion, KDF: kdf, Nonce: nonce, Sealed: aead.Seal(nil, nonce, vaultKey, []byte(wrapAD))}, nil
}

func (w keyWrap) unwrap(kek []byte) ([]byte, bool) {
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil || len(w.Nonce) != aead.NonceSize() {
		return nil, false
	}
	key, err := aead.Open(nil, w.Nonce, w.Sealed, []byte(wrapAD))
	if err != nil || len(key) != keySize {
		return nil, false
	}
	return key, true
}

// wrapWithPassphrase stretches the passphrase with fresh salt and wraps the
// vault key under it.
func wrapWithPassphrase(passphrase, vaultKey []byte, params KDFParams) (keyWrap, error) {
	params.Salt = randomBytes(saltSize)
	if err := params.validate(); err != nil {
		return keyWrap{}, err
	}
	return wrapKey(params.derive(passphrase), vaultKey, &params)
}

func (w keyWrap) unwrapWithPassphrase(passphrase []byte) ([]byte, error) {
	if w.KDF == nil {
		return nil, errors.New("passphrase wrap has no KDF parameters")
	}
	if err := w.KDF.validate(); err != nil {
		return nil, fmt.Errorf("vault key wrap: %w", err)
	}
	key, ok := w.unwrap(w.KDF.derive(passphrase))
	if !ok {
		return nil, ErrWrongPassphrase
	}
	return key, nil
}

// The recovery key is 32 random bytes shown once as base32 in groups of
// four. It has full entropy, so a fast KDF (HKDF) is enough to derive its
// key-encryption key.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRecoveryKey() (raw []byte, shown string) {
	raw = randomBytes(keySize)
	return raw, formatRecoveryKey(raw)
}

func formatRecoveryKey(raw []byte) string {
	s := recoveryEncoding.EncodeToString(raw)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// parseRecoveryKey accepts the shown form with any case, spaces or dashes.
func parseRecoveryKey(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
	raw, err := recoveryEncoding.DecodeString(clean)
	if err != nil || len(raw) != keySize {
		return nil, fmt.Errorf("%w: it should be 52 letters and digits in groups of four, as printed by cairn init", ErrWrongRecoveryKey)
	}
	return raw, nil
}

func recoveryKEK(raw []byte) []byte {
	return deriveKey(raw, "cairn recovery key wrap v1")
}

// deriveKey derives a 32-byte subkey from a root key with HKDF-SHA256, one
// purpose per info string, so that a key is never used for two jobs.
func deriveKey(root []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, root, nil, info, keySize)
	if err != nil {
		panic(fmt.Sprintf("hkdf: %v", err)) // only fails for absurd lengths
	}
	return k
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // crypto/rand never fails on Linux
	}
	return b
}
