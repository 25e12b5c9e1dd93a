package sync

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/cairnlabs/cairn/memory"
)

var testKDF = memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}

// device is a real vault and a real node on 127.0.0.1.
type device struct {
	t     testing.TB
	name  string
	dir   string
	vault *memory.Vault
	node  *Node
	cfg   Config
	mu    gosync.Mutex // guards node for goroutines other than the test's
	// events holds every event of the device's node, across restarts.
	events *eventLog
}

// eventLog records a node's events (Config.Events), so a test can wait on
// what a node reports rather than on time.
type eventLog struct {
	mu gosync.Mutex
	ev []Event
}

func (l *eventLog) record(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ev = append(l.ev, e)
}

// saw reports whether an event of type typ about peer p was recorded
// (with that detail, unless detail is empty).
func (l *eventLog) saw(typ string, p peer.ID, detail string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.ev, func(e Event) bool {
		return e.Type == typ && e.Peer == p.String() && (detail == "" || e.Detail == detail)
	})
}

func (d *device) current() *Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.node
}

func testConfig(name string) Config {
	return Config{Name: name, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true,
		RedialEvery: 200 * time.Millisecond, PollEvery: 100 * time.Millisecond}
}

func newDevice(t testing.TB, name string) *device {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	v, _, err := memory.Create(context.Background(), memory.Config{Path: filepath.Join(dir, "vault.db"), KDF: testKDF}, []byte("correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, name: name, dir: dir, vault: v, cfg: testConfig(name), events: &eventLog{}}
	d.cfg.Events = d.events.record
	d.start()
	t.Cleanup(func() {
		if d.node != nil {
			d.node.Close()
		}
		d.vault.Close()
	})
	return d
}

func (d *device) start() {
	d.t.Helper()
	cfg := d.cfg
	cfg.Dir, cfg.Store, cfg.Keys, cfg.Role = filepath.Join(d.dir, "sync"), d.vault, d.vault, RoleDevice
	n, err := New(context.Background(), cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	d.mu.Lock()
	d.node = n
	d.mu.Unlock()
}

func (d *device) stop() {
	d.node.Close()
	d.mu.Lock()
	d.node = nil
	d.mu.Unlock()
}

func (d *device) restart() {
	d.stop()
	d.start()
}

func (d *device) add(text string) memory.Item {
	d.t.Helper()
	it, err := d.vault.Add(context.Background(), memory.NewItem{Kind: memory.Fact, Text: text})
	if err != nil {
		d.t.Fatal(err)
	}
	if d.node != nil {
		d.node.Notify()
	}
	return it
}

func (d *device) edit(id, text string) {
	d.t.Helper()
	if _, err := d.vault.Edit(context.Background(), id, memory.Patch{Text: &text}); err != nil {
		d.t.Fatal(err)
	}
	if d.node != nil {
		d.node.Notify()
	}
}

func pair(t testing.TB, inviter, joiner *device) {
	t.Helper()
	code, err := inviter.node.Pair(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := joiner.node.Join(context.Background(), code.String()); err != nil {
		t.Fatalf("%s joins %s: %v", joiner.name, inviter.name, err)
	}
}

// dump is a vault's records and revisions as stored, sealed bytes hashed:
// two vaults with the same dump hold the same records, the same winners and
// the same revisions.
func dump(t testing.TB, s Store) string {
	t.Helper()
	entries, err := s.SyncFeed(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		line := recLine(e.Record)
		for _, r := range e.Revisions {
			line += "\n  rev " + recLine(r)
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func recLine(r memory.Record) string {
	return fmt.Sprintf("%s %s %d %s %v %x", r.ID, r.Kind, r.Clock, r.Origin, r.Deleted, sha256.Sum256(r.Sealed))
}

// eventually waits (up to two minutes: the CPU is shared, and -race is
// slow) for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func converged(t testing.TB, stores ...Store) func() bool {
	return func() bool {
		first := dump(t, stores[0])
		for _, s := range stores[1:] {
			if dump(t, s) != first {
				return false
			}
		}
		return true
	}
}

func texts(t testing.TB, v *memory.Vault) []string {
	t.Helper()
	items, err := v.List(context.Background(), memory.ListOptions{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Text)
	}
	slices.Sort(out)
	return out
}

func hostInfo(h interface {
	ID() peer.ID
	Addrs() []ma.Multiaddr
}) *peer.AddrInfo {
	return &peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
}
