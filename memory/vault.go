package memory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	sqlite3 "github.com/mattn/go-sqlite3"
)

var (
	// ErrNoVault means there is no vault at the path yet.
	ErrNoVault = errors.New("no vault here yet")
	// ErrVaultExists means Create found a vault already.
	ErrVaultExists = errors.New("a vault already exists here")
	// ErrLocked means the operation needs the vault unlocked.
	ErrLocked = errors.New("the vault is locked: unlock it with its passphrase first")
	// ErrWeakPassphrase means a new passphrase was refused.
	ErrWeakPassphrase = errors.New("passphrase too short: use at least 8 characters, ideally a few words")
)

// MinPassphraseLen is the shortest passphrase Create and ChangePassphrase
// accept, in bytes.
const MinPassphraseLen = 8

// Config says where a vault lives and what it works with.
type Config struct {
	// Path is the vault's SQLite file. Its directory is created (mode 0700)
	// by Create.
	Path string
	// Embedder turns text into vectors for semantic search. Nil means
	// keyword search only. Vault.SetEmbedder changes it later.
	Embedder Embedder
	// KDF stretches new passphrases (Create, ChangePassphrase). Zero means
	// DefaultKDF. Existing wraps keep the parameters stored with them.
	KDF KDFParams
	// Logger receives structured logs; never memory text, keys or
	// passphrases. Nil means slog.Default().
	Logger *slog.Logger
}

// Vault is an open vault file. It starts locked (Open) or unlocked
// (Create); while unlocked it holds the vault's subkeys and an int8 copy of
// the embeddings in memory. Safe for concurrent use, and for use by several
// processes on the same file at once.
type Vault struct {
	db       *sql.DB
	path     string
	id       string
	device   string
	embedder atomic.Pointer[embedderRef] // SetEmbedder swaps it while refresh is held
	kdf      KDFParams
	log      *slog.Logger

	mu        sync.RWMutex     // guards the fields below
	keys      *vaultKeys       // nil while locked
	vectors   *vectorIndex     // nil while locked or without an embedder
	missing   map[int64]string // live memories without an embedding: rid -> id
	seen      int64            // greatest seq reflected in vectors and missing
	expect    int              // embeddings counted at unlock, to size the index
	heads     *headIndex       // message heads seen since unlock (messageheads.go)
	headsSeen int64            // greatest seq reflected in heads
	passages  passageVectors   // message passage embeddings (passages_vectors.go)

	refresh    sync.Mutex             // one catch-up at a time
	embedRetry atomic.Int64           // Unix nanoseconds: after the embedder failed, skip it until then
	embedErr   atomic.Pointer[string] // the last embedding failure, nil after a success

	passagesMu    sync.Mutex  // one build of the passage index at a time (passages.go)
	passagesReady atomic.Bool // the passage index holds every message

	// writes is this process's write transactions, committed in groups
	// (groupcommit.go).
	writes *writeGroup
}

// vaultKeys are the subkeys derived from the vault key while unlocked.
type vaultKeys struct {
	records      *sealer
	index        []byte // HMAC key of the memories' blind index
	messageIndex []byte // HMAC key of the messages' blind index
	// memoryTokens and messageTokens remember the tokens of words seen
	// (tokenizer.go), dropped with the keys at Lock.
	memoryTokens, messageTokens *blindTokenizer
	turns                       *turnCache    // recent messages' tokens (passageturns.go)
	queries                     *queryVectors // recent query embeddings (querycache.go)
	common                      *commonTerms  // document counts of common query terms (keywordplan.go)
	vectors                     *sealer
	ring                        *keyring // the record keys of every epoch (sync_keys.go)
}

func newVaultKeys(vaultKey []byte, ring *keyring) *vaultKeys {
	index, messageIndex := deriveKey(vaultKey, "cairn blind index v1"), deriveKey(vaultKey, "cairn message index v1")
	return &vaultKeys{
		records:       ring.sealer(),
		index:         index,
		messageIndex:  messageIndex,
		memoryTokens:  newBlindTokenizer(index),
		messageTokens: newBlindTokenizer(messageIndex),
		turns:         newTurnCache(),
		queries:       &queryVectors{},
		common:        &commonTerms{},
		// Embeddings never leave the device: they stay under the local key
		// and its first epoch whatever the record epoch.
		vectors: newSealer(deriveKey(vaultKey, "cairn embeddings v1"), currentKeyEpoch),
		ring:    ring,
	}
}

const (
	metaVaultID       = "vault_id"
	metaDeviceID      = "device_id"
	metaKeyEpoch      = "key_epoch"
	metaWrapPass      = "wrap_passphrase"
	metaWrapRecovery  = "wrap_recovery"
	currentKeyEpoch   = 1
	fts5MissingAdvice = "this build of cairn lacks SQLite FTS5: build with -tags sqlite_fts5 (make does this)"
)

// driverName is mattn/go-sqlite3 with a connect hook that maps the file
// into memory, so searches read pages without a system call each.
const driverName = "sqlite3_cairn"

var registerDriver sync.Once

func openDB(path string) (*sql.DB, error) {
	registerDriver.Do(func() {
		sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA mmap_size = 1073741824", nil)
			return err
		}})
	})
	db, err := sql.Open(driverName, SQLiteDSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	return db, nil
}

// Create makes a new vault at cfg.Path with a random vault key wrapped by
// the passphrase, and returns it unlocked together with the recovery key:
// a second wrap of the vault key, to be shown to the person once.
func Create(ctx context.Context, cfg Config, passphrase []byte) (*Vault, string, error) {
	if len(passphrase) < MinPassphraseLen {
		return nil, "", ErrWeakPassphrase
	}
	if _, err := os.Stat(cfg.Path); err == nil {
		return nil, "", fmt.Errorf("create vault %s: %w", cfg.Path, ErrVaultExists)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, "", fmt.Errorf("create vault folder: %w", err)
	}
	f, err := os.OpenFile(cfg.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create vault %s: %w", cfg.Path, err)
	}
	f.Close()
	v, recovery, err := create(ctx, cfg, passphrase)
	if err != nil {
		os.Remove(cfg.Path)
		os.Remove(cfg.Path + "-wal")
		os.Remove(cfg.Path + "-shm")
		return nil, "", err
	}
	return v, recovery, nil
}

func create(ctx context.Context, cfg Config, passphrase []byte) (*Vault, string, error) {
	v, err := newVault(cfg)
	if err != nil {
		return nil, "", err
	}
	if err := migrate(ctx, v.db); err != nil {
		v.db.Close()
		return nil, "", v.explain(err)
	}
	vaultKey := randomBytes(keySize)
	passWrap, err := wrapWithPassphrase(passphrase, vaultKey, v.kdf)
	if err != nil {
		v.db.Close()
		return nil, "", err
	}
	recRaw, recShown := newRecoveryKey()
	recWrap, err := wrapKey(recoveryKEK(recRaw), vaultKey, nil)
	if err != nil {
		v.db.Close()
		return nil, "", err
	}
	v.id, v.device = uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	meta := map[string]any{
		metaVaultID: v.id, metaDeviceID: v.device, metaKeyEpoch: currentKeyEpoch,
		metaWrapPass: passWrap, metaWrapRecovery: recWrap,
		passagesMeta: true, // empty: nothing to index (passages.go)
	}
	if err := v.writeMeta(ctx, meta); err != nil {
		v.db.Close()
		return nil, "", fmt.Errorf("create vault: %w", err)
	}
	v.unlocked(vaultKey, newKeyring(vaultKey, currentKeyEpoch, nil))
	if err := v.loadVectors(ctx); err != nil {
		v.db.Close()
		return nil, "", err
	}
	return v, recShown, nil
}

// Open opens an existing vault, locked. It reads and writes nothing beyond
// what SQLite needs to open the file.
func Open(ctx context.Context, cfg Config) (*Vault, error) {
	if _, err := os.Stat(cfg.Path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open vault %s: %w", cfg.Path, ErrNoVault)
	}
	v, err := newVault(cfg)
	if err != nil {
		return nil, err
	}
	if err := v.readIdentity(ctx); err != nil {
		v.db.Close()
		return nil, err
	}
	return v, nil
}

func newVault(cfg Config) (*Vault, error) {
	db, err := openDB(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("open vault %s: %w", cfg.Path, err)
	}
	kdf := cfg.KDF
	if kdf.MemoryKiB == 0 {
		kdf = DefaultKDF
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	v := &Vault{db: db, path: cfg.Path, kdf: kdf, log: log, writes: newWriteGroup()}
	v.embedder.Store(&embedderRef{cfg.Embedder})
	return v, nil
}

func (v *Vault) readIdentity(ctx context.Context) error {
	ver, err := userVersion(ctx, v.db)
	if err != nil {
		return fmt.Errorf("open vault %s: %w (is it a cairn vault?)", v.path, err)
	}
	if ver == 0 {
		return fmt.Errorf("open vault %s: %w", v.path, ErrNoVault)
	}
	var id, dev string
	if err := v.readMeta(ctx, metaVaultID, &id); err != nil {
		return err
	}
	if err := v.readMeta(ctx, metaDeviceID, &dev); err != nil {
		return err
	}
	v.id, v.device = id, dev
	return nil
}

// explain turns low-level errors into advice where there is one.
func (v *Vault) explain(err error) error {
	if err != nil && strings.Contains(err.Error(), "no such module: fts5") {
		return fmt.Errorf("%w: %s", err, fts5MissingAdvice)
	}
	return err
}

// Unlock unwraps the vault key with the passphrase and loads the in-memory
// vector index. A wrong passphrase returns ErrWrongPassphrase and writes
// nothing.
func (v *Vault) Unlock(ctx context.Context, passphrase []byte) error {
	var w keyWrap
	if err := v.readMeta(ctx, metaWrapPass, &w); err != nil {
		return err
	}
	vaultKey, err := w.unwrapWithPassphrase(passphrase)
	if err != nil {
		return fmt.Errorf("unlock vault: %w", err)
	}
	var epoch uint32
	if err := v.readMeta(ctx, metaKeyEpoch, &epoch); err != nil {
		return err
	}
	if err := migrate(ctx, v.db); err != nil {
		return v.explain(fmt.Errorf("unlock vault: %w", err))
	}
	ring, err := v.readKeyring(ctx, vaultKey, epoch)
	if err != nil {
		return fmt.Errorf("unlock vault: %w", err)
	}
	v.unlocked(vaultKey, ring)
	return v.loadVectors(ctx)
}

func (v *Vault) unlocked(vaultKey []byte, ring *keyring) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.keys = newVaultKeys(vaultKey, ring)
	clear(vaultKey)
}

// Lock forgets the keys, the in-memory index and the message heads.
func (v *Vault) Lock() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.keys, v.vectors, v.missing, v.seen, v.heads, v.headsSeen = nil, nil, nil, 0, nil, 0
	v.passages = passageVectors{}
}

// Locked reports whether the vault is locked.
func (v *Vault) Locked() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.keys == nil
}

// Close locks the vault and closes the file.
func (v *Vault) Close() error {
	v.Lock()
	return v.db.Close()
}

// ID is the vault's id, the same on every device that shares it.
func (v *Vault) ID() string { return v.id }

// DeviceID is this device's id, the origin of the records it writes.
func (v *Vault) DeviceID() string { return v.device }

// Path is the vault file.
func (v *Vault) Path() string { return v.path }

// ChangePassphrase rewraps the vault key under a new passphrase. Only the
// wrap changes: every record's ciphertext stays byte for byte the same.
func (v *Vault) ChangePassphrase(ctx context.Context, old, new []byte) error {
	var w keyWrap
	if err := v.readMeta(ctx, metaWrapPass, &w); err != nil {
		return err
	}
	vaultKey, err := w.unwrapWithPassphrase(old)
	if err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	return v.rewrap(ctx, vaultKey, new)
}

// ResetPassphrase sets a new passphrase using the recovery key shown at
// creation. A wrong recovery key returns ErrWrongRecoveryKey and changes
// nothing.
func (v *Vault) ResetPassphrase(ctx context.Context, recoveryKey string, new []byte) error {
	raw, err := parseRecoveryKey(recoveryKey)
	if err != nil {
		return err
	}
	var w keyWrap
	if err := v.readMeta(ctx, metaWrapRecovery, &w); err != nil {
		return err
	}
	vaultKey, ok := w.unwrap(recoveryKEK(raw))
	if !ok {
		return ErrWrongRecoveryKey
	}
	return v.rewrap(ctx, vaultKey, new)
}

func (v *Vault) rewrap(ctx context.Context, vaultKey, passphrase []byte) error {
	defer clear(vaultKey)
	if len(passphrase) < MinPassphraseLen {
		return ErrWeakPassphrase
	}
	w, err := wrapWithPassphrase(passphrase, vaultKey, v.kdf)
	if err != nil {
		return err
	}
	if err := v.writeMeta(ctx, map[string]any{metaWrapPass: w}); err != nil {
		return fmt.Errorf("save new passphrase wrap: %w", err)
	}
	return nil
}

func (v *Vault) readMeta(ctx context.Context, key string, dst any) error {
	var raw []byte
	err := v.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("vault %s has no %s: it is incomplete or not a cairn vault", v.path, key)
	}
	if err != nil {
		return fmt.Errorf("read vault %s: %w", v.path, err)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("read vault %s: %s is malformed: %w", v.path, key, err)
	}
	return nil
}

func (v *Vault) writeMeta(ctx context.Context, kv map[string]any) error {
	return v.withTx(ctx, func(tx *sql.Tx) error {
		for k, val := range kv {
			raw, err := json.Marshal(val)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", k, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// withTx runs fn in a write transaction (BEGIN IMMEDIATE, so concurrent
// writers of other processes queue on SQLite's busy timeout instead of
// failing). This process's concurrent writers share one commit
// (groupcommit.go).
func (v *Vault) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if v.writes == nil { // only in the benchmark of the old way
		return v.soloTx(ctx, fn)
	}
	return v.writes.run(ctx, v, fn)
}

// soloTx is one writer's transaction of its own.
func (v *Vault) soloTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := v.db.BeginTx(ctx, nil)
	if err != nil {
		return v.explain(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Checkpoint moves everything in the write-ahead log into the vault file and
// truncates the log, so that no superseded page lingers in it.
func (v *Vault) Checkpoint(ctx context.Context) error {
	var busy, logged, moved int
	if err := v.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &moved); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: another process is reading the vault; try again when it is idle")
	}
	return nil
}

// SQLiteVersion is the version of the SQLite library built in.
func SQLiteVersion() string {
	v, _, _ := sqlite3.Version()
	return v
}
