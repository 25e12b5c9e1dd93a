package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnlabs/cairn/memory/atomicfile"
)

// Scopes a token may hold. admin implies every other. They compose: a
// chat turn recalls memories only with memory:read, offers the model the
// remember and forget tools only with memory:write, and extracts memories
// only with memory:learn (README's scope table).
const (
	ScopeChat        = "chat"
	ScopeMemoryRead  = "memory:read"
	ScopeMemoryWrite = "memory:write"
	ScopeMemoryLearn = "memory:learn"
	// ScopeConversationsWrite renames and deletes conversations: chat
	// alone adds to them, never takes away.
	ScopeConversationsWrite = "conversations:write"
	ScopeAdmin              = "admin"
)

// AllScopes lists the scopes, for help texts and validation.
// ErrTokensDamaged means tokens.json cannot be read as a token list;
// rotating the default token starts a new one.
var ErrTokensDamaged = errors.New("damaged")

var AllScopes = []string{ScopeChat, ScopeMemoryRead, ScopeMemoryWrite, ScopeMemoryLearn, ScopeConversationsWrite, ScopeAdmin}

// DefaultTokenName names the token in api-token.
const DefaultTokenName = "default"

// Token is a named token as stored: its hash, never the token itself.
type Token struct {
	Name      string    `json:"name"`
	Hash      string    `json:"sha256"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	// Session marks a browser session acting for a token; never stored.
	Session bool `json:"-"`
}

// Has reports whether the token grants scope.
func (t Token) Has(scope string) bool {
	return slices.Contains(t.Scopes, ScopeAdmin) || slices.Contains(t.Scopes, scope)
}

// Tokens are a home's API tokens: the default one in api-token (mode
// 0600, so `cairn token` can show it) and the hashes of all of them in
// tokens.json, outside the vault, so a locked server can still tell who
// is asking.
type Tokens struct {
	dir string

	mu   sync.Mutex
	list []Token
	mod  time.Time
}

// OpenTokens reads the token hashes of a home (none yet is fine).
func OpenTokens(dir string) (*Tokens, error) {
	t := &Tokens{dir: dir}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tokens) listPath() string { return filepath.Join(t.dir, "tokens.json") }

// DefaultTokenPath is where the default token is kept.
func DefaultTokenPath(dir string) string { return filepath.Join(dir, "api-token") }

// reload rereads tokens.json when another process changed it (a
// `cairn token revoke` while the server runs takes effect at once).
func (t *Tokens) reload() error {
	fi, err := os.Stat(t.listPath())
	if errors.Is(err, fs.ErrNotExist) {
		t.list, t.mod = nil, time.Time{}
		return nil
	}
	if err != nil {
		return err
	}
	if fi.ModTime().Equal(t.mod) && t.list != nil {
		return nil
	}
	b, err := os.ReadFile(t.listPath())
	if err != nil {
		return err
	}
	var list []Token
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%s is %w (%v): run `cairn token --rotate` to start a new list", t.listPath(), ErrTokensDamaged, err)
	}
	t.list, t.mod = list, fi.ModTime()
	return nil
}

func (t *Tokens) save() error {
	b, err := json.MarshalIndent(t.list, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(t.listPath(), append(b, '\n')); err != nil {
		return err
	}
	if fi, err := os.Stat(t.listPath()); err == nil {
		t.mod = fi.ModTime()
	}
	return nil
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "cairn_" + hex.EncodeToString(b)
}

// Check returns the token that tok is, comparing hashes in constant time.
func (t *Tokens) Check(tok string) (Token, bool) {
	if tok == "" {
		return Token{}, false
	}
	h := []byte(hashToken(tok))
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil {
		return Token{}, false
	}
	var found Token
	ok := 0
	for _, x := range t.list {
		// Compare against every entry, so timing does not say which matched.
		if subtle.ConstantTimeCompare(h, []byte(x.Hash)) == 1 {
			found, ok = x, 1
		}
	}
	return found, ok == 1
}

// DefaultHash is the hash of the default token, "" when there is none.
func (t *Tokens) DefaultHash() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil {
		return ""
	}
	for _, x := range t.list {
		if x.Name == DefaultTokenName {
			return x.Hash
		}
	}
	return ""
}

// Live reports whether a token with hash h exists: it was not rotated or
// revoked (by this process or another: tokens.json is reread).
func (t *Tokens) Live(h string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil {
		return false
	}
	return slices.ContainsFunc(t.list, func(x Token) bool { return x.Hash == h })
}

// EnsureDefault makes the default admin token when the home has none and
// returns it, with whether it is new.
func (t *Tokens) EnsureDefault() (string, bool, error) {
	b, err := os.ReadFile(DefaultTokenPath(t.dir))
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if _, ok := t.Check(tok); ok {
			return tok, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	tok, err := t.Rotate()
	return tok, true, err
}

// Rotate replaces the default token: the old one stops working at once.
func (t *Tokens) Rotate() (string, error) {
	tok := newToken()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil && !errors.Is(err, ErrTokensDamaged) {
		return "", err
	}
	t.list = slices.DeleteFunc(t.list, func(x Token) bool { return x.Name == DefaultTokenName })
	t.list = append([]Token{{Name: DefaultTokenName, Hash: hashToken(tok), Scopes: []string{ScopeAdmin}, CreatedAt: time.Now().UTC()}}, t.list...)
	if err := writeFileAtomic(DefaultTokenPath(t.dir), []byte(tok+"\n")); err != nil {
		return "", err
	}
	return tok, t.save()
}

// Create makes a named token with scopes and returns it; only its hash is
// kept, so it is shown once.
func (t *Tokens) Create(name string, scopes []string) (string, error) {
	if name == "" || name == DefaultTokenName || strings.ContainsAny(name, " /\t\n") || len(name) > 64 {
		return "", fmt.Errorf("token name %q: use up to 64 letters, digits, '-' or '_', not %q", name, DefaultTokenName)
	}
	if len(scopes) == 0 {
		return "", fmt.Errorf("token %s needs at least one scope: %s", name, strings.Join(AllScopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(AllScopes, s) {
			return "", fmt.Errorf("unknown scope %q: use %s", s, strings.Join(AllScopes, ", "))
		}
	}
	tok := newToken()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil {
		return "", err
	}
	if slices.ContainsFunc(t.list, func(x Token) bool { return x.Name == name }) {
		return "", fmt.Errorf("a token named %s exists: revoke it first (`cairn token revoke %s`) or pick another name", name, name)
	}
	t.list = append(t.list, Token{Name: name, Hash: hashToken(tok), Scopes: slices.Clone(scopes), CreatedAt: time.Now().UTC()})
	return tok, t.save()
}

// Revoke deletes a named token; it stops working at once.
func (t *Tokens) Revoke(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil {
		return err
	}
	n := len(t.list)
	t.list = slices.DeleteFunc(t.list, func(x Token) bool { return x.Name == name })
	if len(t.list) == n {
		return fmt.Errorf("no token named %s: `cairn token list` shows them", name)
	}
	if name == DefaultTokenName {
		os.Remove(DefaultTokenPath(t.dir))
	}
	return t.save()
}

// List returns the tokens (hashes, names, scopes).
func (t *Tokens) List() ([]Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(); err != nil {
		return nil, err
	}
	return slices.Clone(t.list), nil
}

// writeFileAtomic writes a file readable by its owner only, replacing any
// old one in one step.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}
