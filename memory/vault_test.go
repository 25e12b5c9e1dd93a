package memory

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCreateOpenUnlock(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	it := mustAdd(t, v, "I grow tomatoes on the balcony")
	v.Close()

	v2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if !v2.Locked() {
		t.Fatal("a freshly opened vault should be locked")
	}
	if _, err := v2.Get(ctx, it.ID); !errors.Is(err, ErrLocked) {
		t.Fatalf("Get on a locked vault: got %v, want ErrLocked", err)
	}
	if err := v2.Unlock(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	got, err := v2.Get(ctx, it.ID)
	if err != nil || got.Text != it.Text {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
	v2.Lock()
	if _, err := v2.Search(ctx, Query{Text: "tomatoes"}); !errors.Is(err, ErrLocked) {
		t.Fatalf("search after Lock: %v, want ErrLocked", err)
	}
}

func TestCreateRefusesExistingVaultAndWeakPassphrase(t *testing.T) {
	ctx := context.Background()
	_, cfg := newTestVault(t)
	if _, _, err := Create(ctx, cfg, testPass); !errors.Is(err, ErrVaultExists) {
		t.Fatalf("second create: %v, want ErrVaultExists", err)
	}
	cfg2 := testConfig(t, nil)
	if _, _, err := Create(ctx, cfg2, []byte("short")); !errors.Is(err, ErrWeakPassphrase) {
		t.Fatalf("weak passphrase: %v", err)
	}
	if _, err := os.Stat(cfg2.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused create left a file behind")
	}
	if _, err := Open(ctx, cfg2); !errors.Is(err, ErrNoVault) {
		t.Fatalf("open of nothing: %v, want ErrNoVault", err)
	}
}

func TestVaultFilesArePrivate(t *testing.T) {
	_, cfg := newTestVault(t)
	for _, p := range []string{cfg.Path, filepath.Dir(cfg.Path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group or others", p, perm)
		}
	}
}

func TestWrongPassphraseWritesNothing(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	mustAdd(t, v, "something private")
	v.Close()
	home := filepath.Dir(cfg.Path)
	before := snapshotDir(t, home)

	v2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = v2.Unlock(ctx, []byte("not the passphrase"))
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	v2.Close()

	after := snapshotDir(t, home)
	if len(before) != len(after) {
		t.Fatalf("files before %d, after %d", len(before), len(after))
	}
	for p, b := range before {
		if !bytes.Equal(b, after[p]) {
			t.Errorf("%s changed after a wrong passphrase", p)
		}
	}
}

func TestDefaultKDFIsRFC9106(t *testing.T) {
	if DefaultKDF.MemoryKiB != 64*1024 || DefaultKDF.Passes != 3 || DefaultKDF.Parallelism != 4 {
		t.Fatalf("DefaultKDF = %+v, want 64 MiB, 3 passes, 4 lanes", DefaultKDF)
	}
	ctx := context.Background()
	cfg := testConfig(t, nil)
	cfg.KDF = KDFParams{}
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var w keyWrap
	if err := v.readMeta(ctx, metaWrapPass, &w); err != nil {
		t.Fatal(err)
	}
	if w.KDF.MemoryKiB != DefaultKDF.MemoryKiB || w.KDF.Passes != 3 || w.KDF.Parallelism != 4 || len(w.KDF.Salt) != 16 {
		t.Fatalf("stored KDF %+v, want the defaults with a 16-byte salt", w.KDF)
	}
}

// recordBlobs reads every sealed blob in the vault, by id.
func recordBlobs(t *testing.T, v *Vault) map[string][]byte {
	t.Helper()
	rows, err := v.db.Query("SELECT id, sealed FROM records UNION ALL SELECT id || '@' || clock, sealed FROM revisions")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	return out
}

func TestChangePassphraseKeepsCiphertext(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	a := mustAdd(t, v, "first memory")
	mustAdd(t, v, "second memory")
	text := "first memory, edited"
	if _, err := v.Edit(ctx, a.ID, Patch{Text: &text}); err != nil {
		t.Fatal(err)
	}
	before := recordBlobs(t, v)

	newPass := []byte("a completely new passphrase")
	if err := v.ChangePassphrase(ctx, []byte("wrong old passphrase"), newPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("change with wrong old passphrase: %v", err)
	}
	if err := v.ChangePassphrase(ctx, testPass, newPass); err != nil {
		t.Fatal(err)
	}
	after := recordBlobs(t, v)
	if len(before) != len(after) || len(before) != 3 {
		t.Fatalf("record count changed: %d -> %d", len(before), len(after))
	}
	for id, b := range before {
		if !bytes.Equal(b, after[id]) {
			t.Errorf("ciphertext of %s changed with the passphrase", id)
		}
	}
	v.Close()

	v2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if err := v2.Unlock(ctx, testPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after change: %v, want ErrWrongPassphrase", err)
	}
	if err := v2.Unlock(ctx, newPass); err != nil {
		t.Fatalf("new passphrase: %v", err)
	}
	if got, err := v2.Get(ctx, a.ID); err != nil || got.Text != text {
		t.Fatalf("read after change: %+v %v", got, err)
	}
}

func TestRecoveryKeyResetsPassphrase(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, nil)
	v, recovery, err := Create(ctx, cfg, testPass)
	if err != nil {
		t.Fatal(err)
	}
	it := mustAdd(t, v, "the name of my first dog was Rex")
	v.Close()

	v2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	home := filepath.Dir(cfg.Path)
	before := snapshotDir(t, home)
	wrong := formatRecoveryKey(randomBytes(keySize))
	for _, bad := range []string{wrong, "not-a-key", ""} {
		if err := v2.ResetPassphrase(ctx, bad, []byte("new passphrase here")); !errors.Is(err, ErrWrongRecoveryKey) {
			t.Fatalf("reset with %q: %v, want ErrWrongRecoveryKey", bad, err)
		}
	}
	if err := v2.Unlock(ctx, testPass); err != nil {
		t.Fatalf("old passphrase must still work after failed resets: %v", err)
	}
	v2.Lock()
	for p, b := range before {
		if now, _ := os.ReadFile(p); filepath.Base(p) == "vault.db" && !bytes.Equal(b, now) {
			t.Fatal("a wrong recovery key changed the vault file")
		}
	}

	// Typed by a person: lower case, spaces instead of dashes.
	typed := bytes.ToLower(bytes.ReplaceAll([]byte(recovery), []byte("-"), []byte(" ")))
	newPass := []byte("recovered passphrase")
	if err := v2.ResetPassphrase(ctx, string(typed), newPass); err != nil {
		t.Fatalf("reset with the recovery key: %v", err)
	}
	if err := v2.Unlock(ctx, testPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after reset: %v", err)
	}
	if err := v2.Unlock(ctx, newPass); err != nil {
		t.Fatal(err)
	}
	if got, err := v2.Get(ctx, it.ID); err != nil || got.Text != it.Text {
		t.Fatalf("memory after recovery: %+v %v", got, err)
	}
}

func TestClockOrdering(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	c := nextClock(0, now)
	if c.Time() != now.UTC() || c.Counter() != 0 {
		t.Fatalf("nextClock(0) = %v", c)
	}
	// The wall clock went backwards: still after what was seen.
	if c2 := nextClock(c, now.Add(-time.Hour)); c2 <= c {
		t.Fatalf("clock went backwards: %v then %v", c, c2)
	}
	if c3 := nextClock(c, now); c3 != c+1 {
		t.Fatalf("same millisecond: %v, want counter+1", c3)
	}
}
