package sync

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// mergeStore is what both merge paths offer: the vault (import and device
// sync) and the backup store (records held without the key).
type mergeStore interface {
	ApplyBatch(ctx context.Context, rs []memory.Record) ([]memory.Outcome, error)
	SyncFeed(ctx context.Context, after int64, limit int) ([]memory.SyncEntry, error)
}

// storeState is every record and revision of a store, as sorted text.
func storeState(t *testing.T, s mergeStore) []string {
	t.Helper()
	feed, err := s.SyncFeed(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	line := func(what string, r memory.Record) string {
		return fmt.Sprint(what, " ", r.ID, " ", r.Kind, " ", uint64(r.Clock), " ", r.Origin, " ", r.Deleted, " ", hex.EncodeToString(r.Sealed))
	}
	for _, e := range feed {
		out = append(out, line("rec", e.Record))
		for _, r := range e.Revisions {
			out = append(out, line("rev", r))
		}
	}
	slices.Sort(out)
	return out
}

// sealedVersions writes a few memories on a vault and edits each of them,
// returning for every id the sealed payloads its versions had. A payload is
// bound to its id, kind and schema, not to its clock or origin, so the test
// can give each one the clock and origin of any device.
func sealedVersions(t *testing.T, v *memory.Vault, ids, edits int) map[string][][]byte {
	t.Helper()
	ctx := context.Background()
	var after int64
	out := map[string][][]byte{}
	collect := func() {
		changes, err := v.Changes(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			after = c.Seq
			if !c.Deleted {
				out[c.ID] = append(out[c.ID], c.Sealed)
			}
		}
	}
	for i := range ids {
		it, err := v.Add(ctx, memory.NewItem{Kind: memory.Fact, Text: fmt.Sprintf("memory %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		collect()
		for e := range edits {
			text := fmt.Sprintf("memory %d, edit %d", i, e)
			if _, err := v.Edit(ctx, it.ID, memory.Patch{Text: &text}); err != nil {
				t.Fatal(err)
			}
			collect()
		}
	}
	return out
}

// randomHistory is a random set of versions of each record, from three
// devices with clocks that collide often, tombstones among them, shuffled.
// (clock, origin) is unique per record, as a hybrid logical clock makes it.
func randomHistory(rng *rand.Rand, pool map[string][][]byte, base memory.Clock) []memory.Record {
	origins := []string{"dev-a", "dev-b", "dev-c"}
	var out []memory.Record
	for _, id := range slices.Sorted(maps.Keys(pool)) {
		used := map[string]bool{}
		for range 1 + rng.IntN(6) {
			r := memory.Record{ID: id, Kind: memory.KindMemory, Clock: base + memory.Clock(rng.IntN(4)), Origin: origins[rng.IntN(len(origins))]}
			if key := fmt.Sprint(r.Clock, r.Origin); used[key] {
				continue
			} else {
				used[key] = true
			}
			if rng.IntN(5) == 0 {
				r.Deleted = true
			} else {
				r.Sealed = pool[id][rng.IntN(len(pool[id]))]
			}
			out = append(out, r)
			if rng.IntN(4) == 0 { // the same version arriving twice
				out = append(out, r)
			}
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// applyInBatches applies records in order through ApplyBatch, cut into
// random batches, and returns the outcome of each.
func applyInBatches(t *testing.T, rng *rand.Rand, s mergeStore, rs []memory.Record) []memory.Outcome {
	t.Helper()
	var outs []memory.Outcome
	for len(rs) > 0 {
		n := min(len(rs), 1+rng.IntN(4))
		got, err := s.ApplyBatch(context.Background(), rs[:n])
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, got...)
		rs = rs[n:]
	}
	return outs
}

// TestMergeSamePathsSameVault applies random histories, in random orders,
// through the vault (one record at a time, as an import does) and through
// the backup store's sync path, and requires the same outcome at every
// step, the same vault at the end, and the same vault for every order.
func TestMergeSamePathsSameVault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pass := []byte("correct horse battery")
	author, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(dir, "author.db"), KDF: testKDF}, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer author.Close()
	pool := sealedVersions(t, author, 3, 3)
	keys, epoch, err := author.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	base := memory.Clock(uint64(time.Now().Add(-time.Hour).UnixMilli()) << 16)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	trials := 12
	if testing.Short() {
		trials = 3
	}
	n := 0
	newVault := func() *memory.Vault {
		n++
		v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(dir, fmt.Sprintf("vault%d.db", n)), KDF: testKDF}, pass)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		if err := v.AdoptKeyring(ctx, keys, epoch); err != nil {
			t.Fatal(err)
		}
		return v
	}
	newBackup := func() *BackupStore {
		n++
		b, err := OpenBackupStore(ctx, filepath.Join(dir, fmt.Sprintf("backup%d.db", n)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	for trial := range trials {
		history := randomHistory(rng, pool, base)
		var want []string
		for order := range 3 {
			rs := slices.Clone(history)
			rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			vault, backup := newVault(), newBackup()
			for i, r := range rs {
				got, err := vault.Apply(ctx, r)
				if err != nil {
					t.Fatalf("trial %d order %d: import of step %d: %v", trial, order, i, err)
				}
				synced := applyInBatches(t, rng, backup, rs[i:i+1])
				if synced[0] != got {
					t.Fatalf("trial %d order %d step %d (%s %v %s deleted=%v): import says %v, sync says %v",
						trial, order, i, r.ID, r.Clock, r.Origin, r.Deleted, got, synced[0])
				}
			}
			imported, synced := storeState(t, vault), storeState(t, backup)
			if !slices.Equal(imported, synced) {
				t.Fatalf("trial %d order %d: the import and sync paths disagree:\nimport %v\nsync   %v", trial, order, imported, synced)
			}
			// The sync path in batches, as replication applies it, agrees too.
			batched := newBackup()
			applyInBatches(t, rng, batched, rs)
			if got := storeState(t, batched); !slices.Equal(got, synced) {
				t.Fatalf("trial %d order %d: batches end elsewhere than one by one:\n%v\n%v", trial, order, got, synced)
			}
			if want == nil {
				want = imported
			} else if !slices.Equal(want, imported) {
				t.Fatalf("trial %d: order %d ends in another vault:\n%v\nvs\n%v", trial, order, imported, want)
			}
		}
	}
}
