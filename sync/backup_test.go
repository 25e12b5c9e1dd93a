package sync

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairnlabs/cairn/memory"
)

type backupNode struct {
	dir    string
	store  *BackupStore
	node   *Node
	events *eventLog
}

func newBackup(t testing.TB) *backupNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backup")
	st, err := OpenBackupStore(context.Background(), filepath.Join(dir, "records.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, events := testConfig("backup"), &eventLog{}
	cfg.Dir, cfg.Store, cfg.Role, cfg.Events = filepath.Join(dir, "sync"), st, RoleBackup, events.record
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); st.Close() })
	return &backupNode{dir: dir, store: st, node: n, events: events}
}

func TestBackupNodeRelaysWhileDevicesNeverMeet(t *testing.T) {
	ctx := context.Background()
	a, c := newDevice(t, "a"), newDevice(t, "c")
	k := newBackup(t)
	code, err := a.node.Pair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.node.Join(ctx, code.String()); err != nil {
		t.Fatalf("backup joins: %v", err)
	}
	pair(t, a, c)
	// c learns where the backup node is from a, then goes offline before
	// a writes anything.
	eventually(t, "c knows the backup node's address", func() bool { return len(c.node.st.addrs(k.node.ID().String())) > 0 })
	c.stop()

	secret := "the combination of the garden shed is 4-7-1-1"
	it := a.add(secret)
	a.edit(it.ID, secret+" (changed in May)")
	eventually(t, "the backup node holds a's writes", converged(t, a.vault, k.store))
	a.stop()

	c.start()
	eventually(t, "c gets a's writes from the backup node alone", converged(t, k.store, c.vault))
	if got := texts(t, c.vault); !slices.Equal(got, []string{secret + " (changed in May)"}) {
		t.Fatalf("c holds %q", got)
	}
	revs, _ := c.vault.Revisions(ctx, it.ID)
	if len(revs) != 1 || revs[0].Text != secret {
		t.Fatalf("c's revisions: %+v", revs)
	}

	k.store.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	filepath.Walk(k.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, needle := range []string{"garden shed", "4-7-1-1", "changed in May"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("backup node file %s holds plaintext %q", path, needle)
			}
		}
		return nil
	})
}

func TestRemovedDeviceGetsNothingNewAndCannotOpenIt(t *testing.T) {
	ctx := context.Background()
	a, b, d := newDevice(t, "a"), newDevice(t, "b"), newDevice(t, "d")
	k := newBackup(t)
	code, _ := a.node.Pair(ctx)
	if err := k.node.Join(ctx, code.String()); err != nil {
		t.Fatal(err)
	}
	pair(t, a, b)
	pair(t, a, d)
	a.add("before the removal")
	eventually(t, "everyone has the first memory", converged(t, a.vault, b.vault, d.vault, k.store))
	for _, x := range []peer.ID{a.node.ID(), b.node.ID(), k.node.ID()} {
		eventually(t, "d knows where "+x.ShortString()+" is", func() bool { return len(d.node.st.addrs(x.String())) > 0 })
	}
	eventually(t, "d is connected to a, b and the backup node", func() bool {
		return linked(a.node.Host(), d.node.ID()) && linked(b.node.Host(), d.node.ID()) && linked(k.node.Host(), d.node.ID())
	})

	if err := a.node.Remove(ctx, d.node.ID().String()); err != nil {
		t.Fatal(err)
	}
	// The removal is applied on a when Remove returns: d's connections are
	// closed by then, not some time later.
	if linked(a.node.Host(), d.node.ID()) {
		t.Fatal("a is still connected to d after removing it")
	}
	if ep, _ := a.vault.KeyEpoch(); ep != 2 {
		t.Fatalf("a's key epoch after the removal is %d, want 2", ep)
	}
	after := a.add("after the removal")
	eventually(t, "b and the backup node get the new memory", converged(t, a.vault, b.vault, k.store))
	if ep, _ := b.vault.KeyEpoch(); ep != 2 {
		t.Fatalf("b's key epoch is %d, want 2: the new key did not reach it", ep)
	}
	b.add("b writes under the new key")
	eventually(t, "a gets b's new write", converged(t, a.vault, b.vault, k.store))
	peers := []struct {
		name   string
		node   *Node
		events *eventLog
	}{{"a", a.node, a.events}, {"b", b.node, b.events}, {"the backup node", k.node, k.events}}
	for _, x := range peers {
		// sync.dropped comes once d's connections to x are closed; from
		// then on x's gate refuses d, which keeps redialling every 200 ms.
		eventually(t, x.name+" applies d's removal", func() bool { return x.events.saw("sync.dropped", d.node.ID(), "") })
		if linked(x.node.Host(), d.node.ID()) {
			t.Fatalf("%s reported d dropped but is still connected to it", x.name)
		}
		eventually(t, x.name+" refuses a connection from d at its gate", func() bool {
			return x.events.saw("sync.refused", d.node.ID(), "a removed device")
		})
	}
	for _, x := range peers {
		if linked(x.node.Host(), d.node.ID()) {
			t.Fatalf("%s let the removed device d connect again", x.name)
		}
	}
	if got := texts(t, d.vault); !slices.Equal(got, []string{"before the removal"}) {
		t.Fatalf("the removed device holds %q", got)
	}
	// Even with the sealed record in hand, d cannot open it.
	entries, err := a.vault.SyncFeed(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Record.ID != after.ID {
			continue
		}
		if err := d.vault.CheckRecord(&e.Record); !errors.Is(err, memory.ErrUnknownEpoch) {
			t.Fatalf("d opening a record sealed after its removal: %v, want ErrUnknownEpoch", err)
		}
		if _, err := d.vault.Apply(ctx, e.Record); err == nil {
			t.Fatal("d applied a record sealed after its removal")
		}
	}
}

// A forget on one device wipes the record's revisions on every device and
// on the backup node.
func TestForgetWipesRevisionsEverywhere(t *testing.T) {
	ctx := context.Background()
	a, b := newDevice(t, "a"), newDevice(t, "b")
	k := newBackup(t)
	code, _ := a.node.Pair(ctx)
	if err := k.node.Join(ctx, code.String()); err != nil {
		t.Fatal(err)
	}
	pair(t, a, b)
	it := a.add("my old address is 12 Elm Street")
	a.edit(it.ID, "my address is 3 Oak Lane")
	eventually(t, "everyone has the memory and its revision", converged(t, a.vault, b.vault, k.store))
	if err := b.vault.Forget(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	b.node.Notify()
	eventually(t, "the forget reaches everyone", converged(t, a.vault, b.vault, k.store))
	for _, v := range []*memory.Vault{a.vault, b.vault} {
		if revs, _ := v.Revisions(ctx, it.ID); len(revs) != 0 {
			t.Fatalf("a device kept %d revisions of a forgotten memory", len(revs))
		}
	}
	var n int
	k.store.db.QueryRow("SELECT count(*) FROM revisions WHERE id = ?", it.ID).Scan(&n)
	if n != 0 {
		t.Fatalf("the backup node kept %d revisions of a forgotten memory", n)
	}
}
