package gym

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the gym's own database
	"golang.org/x/mod/sumdb/tlog"
)

// NodeConfig sets up a gym node.
type NodeConfig struct {
	// Dir holds the node's key (node.key) and database (gym.db).
	Dir         string
	Name        string
	Description string
	Wants       string
	// Formats accepted; empty means all.
	Formats []Format
	License string
	Limits  Limits
	// MaxAge is how old an envelope may be (default 7 days); older ones
	// are refused as stale, so the gym need not remember ids forever to
	// refuse replays.
	MaxAge time.Duration
	// NearDuplicate is the MinHash similarity from which an item is
	// refused as a near-duplicate (default DefaultNearDuplicate; negative:
	// no near-duplicate check).
	NearDuplicate float64
	// Now is the clock (tests set it).
	Now    func() time.Time
	Logger *slog.Logger
}

// Default limits.
var DefaultLimits = Limits{MaxItemBytes: 256 << 10, MaxEnvelopeItems: 500, ItemsPerHour: 1000}

// Node is a gym: it takes contributions, checks them and keeps them, and
// exports what it keeps as training data.
type Node struct {
	cfg  NodeConfig
	key  ed25519.PrivateKey
	id   string
	db   *sql.DB
	log  *slog.Logger
	mu   sync.Mutex // one contribution at a time: rate and duplicate checks see each other
	addr struct {
		sync.Mutex
		p2p []string
		url string
	}
	sets      []TaskSet // published task sets, under addr's lock
	logSigner noteSigner
	// cp is the latest signed checkpoint, published once its items are
	// committed.
	cp struct {
		sync.RWMutex
		note []byte
		tree tlog.Tree
	}
}

// Refusal codes, in answers and errors.
const (
	RefusedSignature = "bad_signature"
	RefusedSchema    = "bad_schema"
	RefusedReplay    = "replay"
	RefusedStale     = "stale"
	RefusedWrongGym  = "wrong_gym"
	RefusedRate      = "rate"
	RefusedTooLarge  = "too_large"
	RefusedNotYours  = "not_yours"
	RefusedLicense   = "license"
	RefusedStamp     = "stamp"
)

// Answer is a gym's reply to a contribution or a revocation: a receipt,
// or a refusal with its reason (a replay carries the first receipt too).
type Answer struct {
	Receipt *Signed `json:"receipt,omitempty"`
	Refused string  `json:"refused,omitempty"`
	Reason  string  `json:"reason,omitempty"`
}

// Refusal is a gym's refusal as an error.
type Refusal struct {
	Code, Reason string
}

func (r *Refusal) Error() string { return "the gym refused it (" + r.Code + "): " + r.Reason }

const nodeSchema = `
CREATE TABLE IF NOT EXISTS items (
	hash TEXT PRIMARY KEY,
	format TEXT NOT NULL,
	raw BLOB NOT NULL,
	contributor TEXT NOT NULL,
	envelope TEXT NOT NULL,
	received INTEGER NOT NULL,
	revoked INTEGER
);
CREATE INDEX IF NOT EXISTS items_by_contributor ON items(contributor, received);
CREATE TABLE IF NOT EXISTS envelopes (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	contributor TEXT NOT NULL,
	received INTEGER NOT NULL,
	receipt BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS contributors (
	key TEXT PRIMARY KEY,
	first_seen INTEGER NOT NULL,
	accepted INTEGER NOT NULL DEFAULT 0,
	duplicates INTEGER NOT NULL DEFAULT 0,
	refused INTEGER NOT NULL DEFAULT 0,
	revoked INTEGER NOT NULL DEFAULT 0
);`

// OpenNode opens (or creates) a gym node in cfg.Dir.
func OpenNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Dir == "" {
		return nil, errors.New("gym node: no folder given")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if len(cfg.Formats) == 0 {
		cfg.Formats = Formats
	}
	if cfg.Limits.MaxItemBytes == 0 {
		cfg.Limits.MaxItemBytes = DefaultLimits.MaxItemBytes
	}
	if cfg.Limits.MaxEnvelopeItems == 0 {
		cfg.Limits.MaxEnvelopeItems = DefaultLimits.MaxEnvelopeItems
	}
	if cfg.Limits.ItemsPerHour == 0 {
		cfg.Limits.ItemsPerHour = DefaultLimits.ItemsPerHour
	}
	if cfg.Name == "" {
		cfg.Name = "cairn gym"
	}
	if cfg.NearDuplicate == 0 {
		cfg.NearDuplicate = DefaultNearDuplicate
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.Dir, "node.key"))
	if err != nil {
		return nil, err
	}
	id, err := peerIDOf(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	db, err := openSQLite(ctx, filepath.Join(cfg.Dir, "gym.db"), nodeSchema+logSchema+taskSchema+recordSchema+nearSchema)
	if err != nil {
		return nil, err
	}
	// Gyms made before items kept their licence: those rows read as ''.
	if err := addColumn(ctx, db, "items", "license", "TEXT NOT NULL DEFAULT ''"); err != nil {
		db.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, key: key, id: id, db: db, log: cfg.Logger}
	if n.logSigner, err = newNoteSigner(LogOrigin(id), key); err != nil {
		db.Close()
		return nil, err
	}
	if err := n.publishCheckpoint(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := n.loadTaskSets(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return n, nil
}

// loadOrCreateKey reads an Ed25519 seed, or makes one (mode 0600).
func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s is not a 32-byte key: move it away to make a new one (the gym's id changes)", path)
		}
		return ed25519.NewKeyFromSeed(b), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key.Seed(), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// ID is the gym's id: its peer id.
func (n *Node) ID() string { return n.id }

// Close closes the database.
func (n *Node) Close() error { return n.db.Close() }

// Manifest is the node's signed manifest.
func (n *Node) Manifest() Signed {
	n.addr.Lock()
	m := Manifest{
		Schema: SchemaVersion, Name: n.cfg.Name, Description: n.cfg.Description, Wants: n.cfg.Wants,
		Formats: n.cfg.Formats, License: n.cfg.License, Limits: n.cfg.Limits, PeerID: n.id,
		PublicKey: EncodeKey(n.key.Public().(ed25519.PublicKey)), Addrs: n.addr.p2p, URL: n.addr.url,
		LogOrigin: LogOrigin(n.id), Tasks: n.sets,
	}
	m.LogKey, _ = NoteKey(m.LogOrigin, n.key.Public().(ed25519.PublicKey))
	n.addr.Unlock()
	s, _ := sign(n.key, domainManifest, m)
	return s
}

func refuse(code, format string, args ...any) Answer {
	return Answer{Refused: code, Reason: fmt.Sprintf(format, args...)}
}

// Contribute checks an envelope and keeps its acceptable items.
func (n *Node) Contribute(ctx context.Context, s Signed) (Answer, error) {
	var env Envelope
	if err := openSigned(&s, domainEnvelope, &env, func() PublicKey { return env.Contributor }); err != nil {
		if errors.Is(err, ErrBadSignature) {
			return refuse(RefusedSignature, "the envelope's signature does not verify under its contributor key"), nil
		}
		return refuse(RefusedSchema, "%v", err), nil
	}
	now := n.cfg.Now().UTC()
	switch {
	case env.Schema != SchemaVersion:
		return refuse(RefusedSchema, "schema %d: this gym reads schema %d", env.Schema, SchemaVersion), nil
	case env.Gym != n.id:
		return refuse(RefusedWrongGym, "the envelope is for gym %s, not this one (%s)", env.Gym, n.id), nil
	case len(env.ID) < 16 || len(env.ID) > 64:
		return refuse(RefusedSchema, "envelope id %.70q must be 16-64 characters", env.ID), nil
	case now.Sub(env.Created) > n.cfg.MaxAge || env.Created.Sub(now) > 10*time.Minute:
		return refuse(RefusedStale, "the envelope was made %s, outside the %s this gym accepts: make a new one", env.Created.Format(time.RFC3339), n.cfg.MaxAge), nil
	case env.License != n.cfg.License:
		return refuse(RefusedLicense, "the envelope grants licence %q; this gym asks for %q", env.License, n.cfg.License), nil
	case len(env.Items) == 0:
		return refuse(RefusedSchema, "the envelope has no items"), nil
	case len(env.Items) > n.cfg.Limits.MaxEnvelopeItems:
		return refuse(RefusedTooLarge, "%d items, over the %d one envelope may carry", len(env.Items), n.cfg.Limits.MaxEnvelopeItems), nil
	case n.cfg.Limits.StampBits > 0 && !ValidStamp(n.id, env.Contributor, env.Stamp, n.cfg.Limits.StampBits):
		return refuse(RefusedStamp, "this gym asks each key for a registration stamp of %d bits (proof of work), and this envelope's does not check: update cairn, which makes one", n.cfg.Limits.StampBits), nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if prev, ok, err := n.receiptFor(ctx, env.ID); err != nil || ok {
		if err != nil {
			return Answer{}, err
		}
		return Answer{Refused: RefusedReplay, Reason: "envelope " + env.ID + " was received before: nothing stored again (its receipt is attached)", Receipt: &prev}, nil
	}
	var recent int
	if err := n.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE contributor = ? AND received > ?", env.Contributor, now.Add(-time.Hour).UnixMilli()).Scan(&recent); err != nil {
		return Answer{}, err
	}
	standing, err := record(ctx, n.db, env.Contributor, n.cfg.Limits)
	if err != nil {
		return Answer{}, err
	}
	if recent+len(env.Items) > standing.Quota {
		n.count(ctx, env.Contributor, now, "refused", len(env.Items))
		return refuse(RefusedRate, "this key had %d items accepted in the last hour; %d more would pass its quota of %d an hour (a key's quota follows its record): try again later", recent, len(env.Items), standing.Quota), nil
	}
	rec := Receipt{Schema: SchemaVersion, Gym: n.id, For: env.ID, Contributor: env.Contributor, Received: now}
	var accepted, dups, refused int
	var cp []byte
	var tree tlog.Tree
	err = n.tx(ctx, func(tx *sql.Tx) error {
		log := logStore{ctx, tx}
		for _, raw := range env.Items {
			res := ItemResult{Hash: Hash(raw)}
			it, err := DecodeItem(raw)
			switch {
			case len(raw) > n.cfg.Limits.MaxItemBytes:
				res.Status, res.Reason = StatusRefused, fmt.Sprintf("the item is %d bytes, over this gym's %d-byte limit", len(raw), n.cfg.Limits.MaxItemBytes)
			case err != nil:
				res.Status, res.Reason = StatusRefused, err.Error()
			case !slices.Contains(n.cfg.Formats, it.Format) && it.Task == "":
				res.Status, res.Reason = StatusRefused, fmt.Sprintf("this gym does not take %s items", it.Format)
			}
			var gold *string
			if res.Status == "" && it.Task != "" {
				var why string
				if gold, why, err = checkTaskItem(ctx, tx, it); err != nil {
					return err
				}
				if why != "" {
					res.Status, res.Reason = StatusRefused, why
				}
			}
			if res.Status == "" {
				why, err := n.checkNear(ctx, tx, it, res.Hash)
				if err != nil {
					return err
				}
				if why != "" {
					res.Status, res.Reason = StatusDuplicate, why
				}
			}
			if res.Status == "" {
				r, err := tx.ExecContext(ctx, "INSERT INTO items (hash, format, raw, contributor, envelope, received, license) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
					res.Hash, it.Format, []byte(raw), env.Contributor, env.ID, now.UnixMilli(), env.License)
				if err != nil {
					return err
				}
				res.Status = StatusAccepted
				if k, _ := r.RowsAffected(); k == 0 {
					res.Status, res.Reason = StatusDuplicate, "the gym has this item already"
				} else if sig, ok := signature(it); ok && it.Task == "" && n.cfg.NearDuplicate >= 0 {
					if err := keepSignature(ctx, tx, res.Hash, &sig); err != nil {
						return err
					}
				}
				if it.Task != "" {
					if err := recordResult(ctx, tx, it, env.Contributor, res.Hash, gold, now.UnixMilli()); err != nil {
						return err
					}
				}
				idx, err := log.indexOf(res.Hash)
				if err == nil && idx < 0 {
					idx, err = log.append(res.Hash)
				}
				if err != nil {
					return err
				}
				res.LogIndex = &idx
			}
			switch res.Status {
			case StatusAccepted:
				accepted++
			case StatusDuplicate:
				dups++
			default:
				refused++
			}
			rec.Items = append(rec.Items, res)
		}
		if err := countTx(ctx, tx, env.Contributor, now, accepted, dups, refused, 0); err != nil {
			return err
		}
		after, err := record(ctx, tx, env.Contributor, n.cfg.Limits)
		if err != nil {
			return err
		}
		rec.Quota = after.Quota
		if cp, tree, err = n.proveReceipt(log, &rec); err != nil {
			return err
		}
		signed, err := sign(n.key, domainReceipt, rec)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(signed)
		_, err = tx.ExecContext(ctx, "INSERT INTO envelopes (id, kind, contributor, received, receipt) VALUES (?, 'envelope', ?, ?, ?)", env.ID, env.Contributor, now.UnixMilli(), b)
		return err
	})
	if err != nil {
		return Answer{}, fmt.Errorf("store envelope %s: %w", env.ID, err)
	}
	n.setCheckpoint(cp, tree)
	prev, _, err := n.receiptFor(ctx, env.ID)
	if err != nil {
		return Answer{}, err
	}
	n.log.Info("contribution", "envelope", env.ID, "accepted", accepted, "duplicates", dups, "refused", refused)
	return Answer{Receipt: &prev}, nil
}

// Revoke withdraws items, when the revocation is signed by the key that
// contributed them.
func (n *Node) Revoke(ctx context.Context, s Signed) (Answer, error) {
	var rv Revocation
	if err := openSigned(&s, domainRevocation, &rv, func() PublicKey { return rv.Contributor }); err != nil {
		if errors.Is(err, ErrBadSignature) {
			return refuse(RefusedSignature, "the revocation's signature does not verify under its contributor key"), nil
		}
		return refuse(RefusedSchema, "%v", err), nil
	}
	now := n.cfg.Now().UTC()
	switch {
	case rv.Schema != SchemaVersion:
		return refuse(RefusedSchema, "schema %d: this gym reads schema %d", rv.Schema, SchemaVersion), nil
	case rv.Gym != n.id:
		return refuse(RefusedWrongGym, "the revocation is for gym %s, not this one", rv.Gym), nil
	case len(rv.ID) < 16 || len(rv.ID) > 64:
		return refuse(RefusedSchema, "revocation id must be 16-64 characters"), nil
	case now.Sub(rv.Created) > n.cfg.MaxAge || rv.Created.Sub(now) > 10*time.Minute:
		return refuse(RefusedStale, "the revocation was made %s, outside the %s this gym accepts", rv.Created.Format(time.RFC3339), n.cfg.MaxAge), nil
	case len(rv.Items) == 0 || len(rv.Items) > 10000:
		return refuse(RefusedSchema, "a revocation names 1 to 10000 items"), nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if prev, ok, err := n.receiptFor(ctx, rv.ID); err != nil || ok {
		if err != nil {
			return Answer{}, err
		}
		return Answer{Refused: RefusedReplay, Reason: "revocation " + rv.ID + " was received before (its receipt is attached)", Receipt: &prev}, nil
	}
	// Every item must be this key's: a revocation is all or nothing.
	for _, h := range rv.Items {
		var who string
		err := n.db.QueryRowContext(ctx, "SELECT contributor FROM items WHERE hash = ?", h).Scan(&who)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && who != string(rv.Contributor)) {
			return refuse(RefusedNotYours, "item %.16s… was not contributed by this key: only the key that sent an item can withdraw it", h), nil
		}
		if err != nil {
			return Answer{}, err
		}
	}
	rec := Receipt{Schema: SchemaVersion, Gym: n.id, For: rv.ID, Contributor: rv.Contributor, Received: now}
	err := n.tx(ctx, func(tx *sql.Tx) error {
		for _, h := range rv.Items {
			if _, err := tx.ExecContext(ctx, "UPDATE items SET revoked = ? WHERE hash = ? AND revoked IS NULL", now.UnixMilli(), h); err != nil {
				return err
			}
			rec.Items = append(rec.Items, ItemResult{Hash: h, Status: StatusRevoked})
		}
		signed, err := sign(n.key, domainReceipt, rec)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(signed)
		if _, err := tx.ExecContext(ctx, "INSERT INTO envelopes (id, kind, contributor, received, receipt) VALUES (?, 'revocation', ?, ?, ?)", rv.ID, rv.Contributor, now.UnixMilli(), b); err != nil {
			return err
		}
		return countTx(ctx, tx, rv.Contributor, now, 0, 0, 0, len(rv.Items))
	})
	if err != nil {
		return Answer{}, fmt.Errorf("store revocation %s: %w", rv.ID, err)
	}
	prev, _, err := n.receiptFor(ctx, rv.ID)
	return Answer{Receipt: &prev}, err
}

func (n *Node) receiptFor(ctx context.Context, id string) (Signed, bool, error) {
	var b []byte
	err := n.db.QueryRowContext(ctx, "SELECT receipt FROM envelopes WHERE id = ?", id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return Signed{}, false, nil
	}
	if err != nil {
		return Signed{}, false, err
	}
	var s Signed
	return s, true, json.Unmarshal(b, &s)
}

func (n *Node) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (n *Node) count(ctx context.Context, who PublicKey, now time.Time, what string, k int) {
	err := n.tx(ctx, func(tx *sql.Tx) error {
		return countTx(ctx, tx, who, now, 0, 0, k, 0)
	})
	if err != nil {
		n.log.Warn("counting a "+what+" contribution failed", "err", err)
	}
}

func countTx(ctx context.Context, tx *sql.Tx, who PublicKey, now time.Time, accepted, dups, refused, revoked int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO contributors (key, first_seen, accepted, duplicates, refused, revoked) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET accepted = accepted + excluded.accepted, duplicates = duplicates + excluded.duplicates,
		refused = refused + excluded.refused, revoked = revoked + excluded.revoked`, who, now.UnixMilli(), accepted, dups, refused, revoked)
	return err
}

// ContributorStats is what a gym knows of one contributor key.
type ContributorStats struct {
	Key        PublicKey `json:"key"`
	FirstSeen  time.Time `json:"first_seen"`
	Accepted   int       `json:"accepted"`
	Duplicates int       `json:"duplicates"`
	Refused    int       `json:"refused"`
	Revoked    int       `json:"revoked"`
}

// Contributors lists each contributor key's acceptance.
func (n *Node) Contributors(ctx context.Context) ([]ContributorStats, error) {
	rows, err := n.db.QueryContext(ctx, "SELECT key, first_seen, accepted, duplicates, refused, revoked FROM contributors ORDER BY first_seen, key")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ContributorStats
	for rows.Next() {
		var c ContributorStats
		var first int64
		if err := rows.Scan(&c.Key, &first, &c.Accepted, &c.Duplicates, &c.Refused, &c.Revoked); err != nil {
			return nil, err
		}
		c.FirstSeen = time.UnixMilli(first).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
