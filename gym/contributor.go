package gym

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Contributor is the person's side: the gyms they added, each with its
// own pseudonymous key, the decisions they made in review, an outbox of
// approved contributions and revocations, and the gyms' receipts. It
// keeps them in its own SQLite file (gym.db in the home), apart from the
// vault: only approved, redacted items, keys and receipts are in it.
type Contributor struct {
	db  *sql.DB
	now func() time.Time
	log *slog.Logger
}

// ContributorConfig sets up a Contributor.
type ContributorConfig struct {
	Path   string
	Now    func() time.Time
	Logger *slog.Logger
}

const contributorSchema = `
CREATE TABLE IF NOT EXISTS gyms (
	id TEXT PRIMARY KEY,
	address TEXT NOT NULL,
	manifest BLOB NOT NULL,
	key BLOB NOT NULL,
	license_accepted TEXT NOT NULL DEFAULT '',
	added INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
	gym TEXT NOT NULL,
	hash TEXT NOT NULL,
	decision TEXT NOT NULL,
	feedback TEXT NOT NULL DEFAULT '',
	envelope TEXT NOT NULL DEFAULT '',
	at INTEGER NOT NULL,
	PRIMARY KEY (gym, hash)
);
CREATE TABLE IF NOT EXISTS outbox (
	id TEXT PRIMARY KEY,
	gym TEXT NOT NULL,
	kind TEXT NOT NULL,
	signed BLOB NOT NULL,
	created INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_try INTEGER NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE IF NOT EXISTS receipts (
	id TEXT PRIMARY KEY,
	gym TEXT NOT NULL,
	receipt BLOB NOT NULL,
	received INTEGER NOT NULL
);`

// OpenContributor opens (or creates) the contributor's file.
func OpenContributor(ctx context.Context, cfg ContributorConfig) (*Contributor, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := openSQLite(ctx, cfg.Path, contributorSchema+logCheckSchema+taskDoneSchema+stampSchema)
	if err != nil {
		return nil, err
	}
	return &Contributor{db: db, now: cfg.Now, log: cfg.Logger}, nil
}

// Close closes the file.
func (c *Contributor) Close() error { return c.db.Close() }

// GymInfo is a gym the person added.
type GymInfo struct {
	ID       string   `json:"id"`
	Address  string   `json:"address"`
	Manifest Manifest `json:"manifest"`
	// Contributor is this person's pseudonymous key for this gym alone.
	Contributor     PublicKey `json:"contributor"`
	LicenseAccepted string    `json:"license_accepted,omitempty"`
	Added           time.Time `json:"added"`
	key             ed25519.PrivateKey
}

// ErrNoGym means no added gym matches.
var ErrNoGym = errors.New("no such gym: `cairn gym list` shows the ones added")

// AddGym fetches a gym's manifest from its address, checks its signature,
// and keeps it with a new pseudonymous key made for this gym alone.
// Nothing is sent to the gym but the request for its manifest.
func (c *Contributor) AddGym(ctx context.Context, address string) (GymInfo, error) {
	address = strings.TrimSpace(address)
	t, err := transportFor(address)
	if err != nil {
		return GymInfo{}, err
	}
	resp, err := t.do(ctx, request{Op: "manifest"})
	if err != nil {
		return GymInfo{}, err
	}
	if resp.Manifest == nil {
		return GymInfo{}, fmt.Errorf("gym %s sent no manifest", address)
	}
	m, err := OpenManifest(*resp.Manifest)
	if err != nil {
		return GymInfo{}, err
	}
	if p, ok := t.(*p2pTransport); ok && p.info.ID.String() != m.PeerID {
		return GymInfo{}, fmt.Errorf("the gym at %s signs as %s, not the peer id in its address", address, m.PeerID)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return GymInfo{}, err
	}
	raw, _ := json.Marshal(resp.Manifest)
	_, err = c.db.ExecContext(ctx, `INSERT INTO gyms (id, address, manifest, key, added) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET address = excluded.address, manifest = excluded.manifest`,
		m.PeerID, address, raw, key.Seed(), c.now().UnixMilli())
	if err != nil {
		return GymInfo{}, fmt.Errorf("keep gym %s: %w", m.PeerID, err)
	}
	return c.Gym(ctx, m.PeerID)
}

// Gyms lists the gyms added, oldest first.
func (c *Contributor) Gyms(ctx context.Context) ([]GymInfo, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT id, address, manifest, key, license_accepted, added FROM gyms ORDER BY added, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []GymInfo{}
	for rows.Next() {
		var g GymInfo
		var manifest, seed []byte
		var added int64
		if err := rows.Scan(&g.ID, &g.Address, &manifest, &seed, &g.LicenseAccepted, &added); err != nil {
			return nil, err
		}
		var s Signed
		if err := json.Unmarshal(manifest, &s); err != nil {
			return nil, fmt.Errorf("gym %s: stored manifest: %w", g.ID, err)
		}
		if g.Manifest, err = OpenManifest(s); err != nil {
			return nil, fmt.Errorf("gym %s: stored manifest: %w", g.ID, err)
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("gym %s: stored key is damaged", g.ID)
		}
		g.key = ed25519.NewKeyFromSeed(seed)
		g.Contributor = EncodeKey(g.key.Public().(ed25519.PublicKey))
		g.Added = time.UnixMilli(added).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// Gym finds an added gym by id, a unique prefix of it, or its name.
func (c *Contributor) Gym(ctx context.Context, ref string) (GymInfo, error) {
	gyms, err := c.Gyms(ctx)
	if err != nil {
		return GymInfo{}, err
	}
	var found []GymInfo
	for _, g := range gyms {
		if g.ID == ref {
			return g, nil
		}
		if ref != "" && (strings.HasPrefix(g.ID, ref) || strings.EqualFold(g.Manifest.Name, ref)) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return GymInfo{}, fmt.Errorf("gym %q: %w", ref, ErrNoGym)
	case 1:
		return found[0], nil
	}
	return GymInfo{}, fmt.Errorf("gym %q is ambiguous: %d gyms match; give more of the id", ref, len(found))
}

// RemoveGym forgets a gym, its key and its outbox; receipts stay, as the
// proof of what was given.
func (c *Contributor) RemoveGym(ctx context.Context, ref string) error {
	g, err := c.Gym(ctx, ref)
	if err != nil {
		return err
	}
	for _, q := range []string{"DELETE FROM gyms WHERE id = ?", "DELETE FROM outbox WHERE gym = ? AND state = 'pending'"} {
		if _, err := c.db.ExecContext(ctx, q, g.ID); err != nil {
			return err
		}
	}
	return nil
}

// Candidate is an item up for review: its exact bytes, as they would be
// signed, sent and stored.
type Candidate struct {
	Hash   string          `json:"hash"`
	Format Format          `json:"format"`
	Item   json.RawMessage `json:"item"`
	// Feedback is the feedback record it came from (stays here), or Task
	// the gym task it answers.
	Feedback string `json:"feedback"`
	Task     string `json:"task,omitempty"`
}

// Candidates builds the redacted items of the given formats (all the
// gym takes when none are given) from the vault. With a gym, items
// already approved or declined for it are left out.
func (c *Contributor) Candidates(ctx context.Context, v Vault, gym *GymInfo, formats ...Format) ([]Candidate, error) {
	if len(formats) == 0 {
		formats = Formats
		if gym != nil {
			formats = gym.Manifest.Formats
		}
	}
	known, err := KnownFromVault(ctx, v)
	if err != nil {
		return nil, err
	}
	red := NewRedactor(known)
	decided := map[string]bool{}
	if gym != nil {
		if decided, err = c.decided(ctx, gym.ID); err != nil {
			return nil, err
		}
	}
	out := []Candidate{}
	for _, f := range formats {
		if gym != nil && !slices.Contains(gym.Manifest.Formats, f) {
			continue
		}
		exs, err := Examples(ctx, v, f)
		if err != nil {
			return nil, err
		}
		for _, ex := range exs {
			it := red.Item(ex.Item)
			raw := it.Encode()
			h := Hash(raw)
			if decided[h] {
				continue
			}
			decided[h] = true // one candidate per content
			out = append(out, Candidate{Hash: h, Format: f, Item: raw, Feedback: ex.Feedback})
		}
	}
	return out, nil
}

func (c *Contributor) decided(ctx context.Context, gymID string) (map[string]bool, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT hash FROM decisions WHERE gym = ?", gymID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out[h] = true
	}
	return out, rows.Err()
}

// ErrLicense means the gym's licence was not accepted.
var ErrLicense = errors.New("the gym's licence was not accepted")

// Approve signs the chosen candidates into envelopes for the gym and puts
// them in the outbox; Send delivers them. license must be the licence the
// gym's manifest asks for: the person's acceptance of it.
func (c *Contributor) Approve(ctx context.Context, g GymInfo, items []Candidate, license string) ([]string, error) {
	if license != g.Manifest.License {
		return nil, fmt.Errorf("%w: gym %s asks for %q; approve with that licence to accept it", ErrLicense, g.Manifest.Name, g.Manifest.License)
	}
	if len(items) == 0 {
		return nil, nil
	}
	per := max(g.Manifest.Limits.MaxEnvelopeItems, 1)
	stamp, err := c.stamp(ctx, g)
	if err != nil {
		return nil, err
	}
	var ids []string
	err = c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE gyms SET license_accepted = ? WHERE id = ?", license, g.ID); err != nil {
			return err
		}
		for chunk := range slices.Chunk(items, per) {
			env := Envelope{Schema: SchemaVersion, Gym: g.ID, ID: newID(), Created: c.now().UTC().Truncate(time.Millisecond), Contributor: g.Contributor, License: license, Stamp: stamp}
			for _, it := range chunk {
				env.Items = append(env.Items, it.Item)
			}
			if err := c.enqueue(ctx, tx, g.ID, "contribute", env.ID, domainEnvelope, g.key, env); err != nil {
				return err
			}
			for _, it := range chunk {
				if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO decisions (gym, hash, decision, feedback, envelope, at) VALUES (?, ?, 'approved', ?, ?, ?)",
					g.ID, it.Hash, it.Feedback, env.ID, c.now().UnixMilli()); err != nil {
					return err
				}
			}
			ids = append(ids, env.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approve items for gym %s: %w", g.ID, err)
	}
	return ids, nil
}

// Decline records that items are not to be offered to the gym again.
func (c *Contributor) Decline(ctx context.Context, g GymInfo, hashes []string) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO decisions (gym, hash, decision, at) VALUES (?, ?, 'declined', ?)", g.ID, h, c.now().UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
}

// Revoke signs a revocation of items sent to the gym and puts it in the
// outbox.
func (c *Contributor) Revoke(ctx context.Context, g GymInfo, hashes []string) (string, error) {
	if len(hashes) == 0 {
		return "", errors.New("name the items to withdraw, by hash (`cairn gym receipts` lists them)")
	}
	rv := Revocation{Schema: SchemaVersion, Gym: g.ID, ID: newID(), Created: c.now().UTC().Truncate(time.Millisecond), Contributor: g.Contributor, Items: hashes}
	err := c.tx(ctx, func(tx *sql.Tx) error {
		return c.enqueue(ctx, tx, g.ID, "revoke", rv.ID, domainRevocation, g.key, rv)
	})
	return rv.ID, err
}

func (c *Contributor) enqueue(ctx context.Context, tx *sql.Tx, gymID, kind, id, domain string, key ed25519.PrivateKey, body any) error {
	s, err := sign(key, domain, body)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(s)
	now := c.now().UnixMilli()
	_, err = tx.ExecContext(ctx, "INSERT INTO outbox (id, gym, kind, signed, created, next_try) VALUES (?, ?, ?, ?, ?, ?)", id, gymID, kind, b, now, now)
	return err
}

func (c *Contributor) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
