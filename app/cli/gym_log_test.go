package cli

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/gym"
)

// servedGym is a gym node on a loopback HTTP address that can be
// replaced by another node on the same address.
type servedGym struct {
	addr string
	srv  *http.Server
	node *gym.Node
}

func serveGymAt(t *testing.T, dir, addr string) *servedGym {
	t.Helper()
	n, err := gym.OpenNode(context.Background(), gym.NodeConfig{Dir: dir, Name: "log-gym", License: "CC-BY-4.0"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &servedGym{addr: ln.Addr().String(), srv: &http.Server{Handler: n.HTTPHandler()}, node: n}
	go s.srv.Serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *servedGym) stop() {
	s.srv.Close()
	s.node.Close()
}

// contribute sends items to a gym through the contributor file at path.
func contribute(t *testing.T, path, ref string, texts ...string) {
	t.Helper()
	ctx := context.Background()
	gc, err := gym.OpenContributor(ctx, gym.ContributorConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	g, err := gc.Gym(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var cands []gym.Candidate
	for _, text := range texts {
		it := gym.Item{Format: gym.SFT, Messages: []gym.Turn{{Role: "user", Content: "Say " + text}, {Role: "assistant", Content: text}}}
		raw := it.Encode()
		cands = append(cands, gym.Candidate{Hash: gym.Hash(raw), Format: gym.SFT, Item: raw})
	}
	if _, err := gc.Approve(ctx, g, cands, g.Manifest.License); err != nil {
		t.Fatal(err)
	}
	if rep, err := gc.Send(ctx, true); err != nil || rep.Delivered != 1 {
		t.Fatalf("send: %+v, %v", rep, err)
	}
}

// TestGymVerifyCatchesRewrite: `cairn gym verify` passes on an honest
// gym, and when the gym (same key, same address) comes back with another
// history, it says so plainly and the outbox shows it.
func TestGymVerifyCatchesRewrite(t *testing.T) {
	home := newHome(t)
	dir := filepath.Join(t.TempDir(), "gym")
	honest := serveGymAt(t, dir, "127.0.0.1:0")
	url := "http://" + honest.addr
	if r := cairn(t, home, nil, "gym", "add", url); r.code != 0 {
		t.Fatalf("gym add: %+v", r)
	}
	contribute(t, owner.Home{Dir: home}.GymPath(), "log-gym", "one", "two")
	r := cairn(t, home, nil, "gym", "verify", "log-gym")
	if r.code != 0 || !strings.Contains(r.stdout, "checks out: 2 items") || !strings.Contains(r.stdout, "2 of your items in 1 receipts") {
		t.Fatalf("verify an honest gym: %+v", r)
	}

	// The gym's operator starts over with the same key: a log without
	// this person's items, grown past the size they kept.
	honest.stop()
	forked := filepath.Join(t.TempDir(), "forked")
	os.MkdirAll(forked, 0o700)
	key, err := os.ReadFile(filepath.Join(dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(forked, "node.key"), key, 0o600)
	serveGymAt(t, forked, honest.addr)
	other := filepath.Join(t.TempDir(), "other.db")
	otherGC, _ := gym.OpenContributor(context.Background(), gym.ContributorConfig{Path: other})
	if _, err := otherGC.AddGym(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	otherGC.Close()
	contribute(t, other, "log-gym", "three", "four", "five")

	r = cairn(t, home, nil, "gym", "verify", "log-gym")
	if r.code == 0 || !strings.Contains(r.stderr, "rewrote its log") || !strings.Contains(r.stderr, "dropped or changed history") {
		t.Fatalf("verify a gym that rewrote its log: %+v", r)
	}
	if r := cairn(t, home, nil, "gym", "verify", "log-gym", "--json"); !strings.Contains(r.stdout, `"evidence"`) || !strings.Contains(r.stdout, "cairn-gym/") {
		t.Fatalf("verify --json keeps the evidence: %+v", r)
	}
	contributeLater := func() {
		gc, _ := gym.OpenContributor(context.Background(), gym.ContributorConfig{Path: owner.Home{Dir: home}.GymPath()})
		defer gc.Close()
		g, _ := gc.Gym(context.Background(), "log-gym")
		it := gym.Item{Format: gym.SFT, Messages: []gym.Turn{{Role: "user", Content: "Say six"}, {Role: "assistant", Content: "six"}}}
		raw := it.Encode()
		gc.Approve(context.Background(), g, []gym.Candidate{{Hash: gym.Hash(raw), Format: gym.SFT, Item: raw}}, g.Manifest.License)
	}
	contributeLater()
	if r := cairn(t, home, nil, "gym", "outbox"); !strings.Contains(r.stdout, `"log_problem"`) {
		t.Fatalf("the outbox shows the problem: %+v", r)
	}
	if r := cairn(t, home, nil, "gym", "send"); !strings.Contains(r.stderr, "0 delivered") || !strings.Contains(r.stderr, "rewrote its log") {
		t.Fatalf("send to the rewritten gym: %+v", r)
	}
}
