package gym

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// send approves items for a gym and delivers them, failing the test
// unless they all arrive.
func send(t *testing.T, c *Contributor, g GymInfo, items ...Candidate) Receipt {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Approve(ctx, g, items, testLicense); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Send(ctx, false)
	if err != nil || rep.Delivered != 1 || len(rep.Errors) != 0 {
		t.Fatalf("send: %+v, %v", rep, err)
	}
	recs, err := c.Receipts(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	return recs[len(recs)-1].Receipt
}

// TestLogInclusionProofs: every receipt carries the gym's signed
// checkpoint and an inclusion proof per item; the proofs verify, and a
// changed proof or item does not; anyone can rebuild the root from the
// tiles served over plain HTTP.
func TestLogInclusionProofs(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense})
	alice, bob := newContributor(t), newContributor(t)
	ga, err := alice.AddGym(ctx, gym.p2pAddr)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := bob.AddGym(ctx, gym.url)
	if err != nil {
		t.Fatal(err)
	}
	rec := send(t, alice, ga, sftItem("one"), sftItem("two"), sftItem("three"))
	cp, err := OpenCheckpoint(ga.Manifest, []byte(rec.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	if cp.N != 3 {
		t.Fatalf("checkpoint after three items has size %d", cp.N)
	}
	for i, it := range rec.Items {
		if it.LogIndex == nil || *it.LogIndex != int64(i) {
			t.Fatalf("item %d: log index %v", i, it.LogIndex)
		}
		if err := VerifyInclusion(cp.Tree, *it.LogIndex, it.Hash, it.Proof); err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
	it := rec.Items[1]
	bad := append(tlog.RecordProof(nil), it.Proof...)
	bad[0][0] ^= 1
	if err := VerifyInclusion(cp.Tree, *it.LogIndex, it.Hash, bad); !errors.Is(err, ErrNotIncluded) {
		t.Errorf("a changed proof: %v", err)
	}
	if err := VerifyInclusion(cp.Tree, *it.LogIndex, rec.Items[0].Hash, it.Proof); !errors.Is(err, ErrNotIncluded) {
		t.Errorf("another item's hash at this leaf: %v", err)
	}
	// A checkpoint signed by another key does not pass for the gym's.
	_, other, _ := ed25519.GenerateKey(nil)
	forger, _ := newNoteSigner(LogOrigin(gym.ID()), other)
	forged, _ := signCheckpoint(forger, cp.Tree)
	if _, err := OpenCheckpoint(ga.Manifest, forged); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("a checkpoint signed by another key: %v", err)
	}

	// Bob's items extend the log; Alice's next check proves the new tree
	// begins with the one she kept, and her items are still in it.
	send(t, bob, gb, sftItem("four"), sftItem("five"))
	rep, err := alice.VerifyLog(ctx, ga)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Previous != 3 || rep.Size != 5 || rep.Receipts != 1 || rep.Items != 3 {
		t.Fatalf("verify: %+v", rep)
	}

	// A mirror needs nothing of Cairn: GET /checkpoint and the tiles.
	body := httpGet(t, gym.url+"/checkpoint")
	mirror, err := OpenCheckpoint(ga.Manifest, body)
	if err != nil || mirror.N != 5 {
		t.Fatalf("served checkpoint: %+v, %v", mirror, err)
	}
	root, err := tlog.TreeHash(mirror.N, tlog.TileHashReader(mirror.Tree, httpTiles{t, gym.url}))
	if err != nil || root != mirror.Hash {
		t.Fatalf("the root rebuilt from tiles: %v, %v; want %v", root, err, mirror.Hash)
	}
	data := string(httpGet(t, gym.url+"/"+tlog.Tile{H: LogTileHeight, L: -1, N: 0, W: 5}.Path()))
	if lines := strings.Split(strings.TrimSpace(data), "\n"); len(lines) != 5 || lines[0] != rec.Items[0].Hash {
		t.Fatalf("data tile: %q", data)
	}
	if strings.Contains(data, "one") {
		t.Fatal("the log shows item content")
	}
}

// TestLogRewriteDetected: a gym that drops an accepted item from its log
// and signs the new history is caught by the next check, the evidence is
// kept, the outbox shows it and sends it nothing more.
func TestLogRewriteDetected(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense})
	alice, bob := newContributor(t), newContributor(t)
	ga, _ := alice.AddGym(ctx, gym.url)
	gb, _ := bob.AddGym(ctx, gym.url)
	a := []Candidate{sftItem("a1"), sftItem("a2"), sftItem("a3")}
	send(t, alice, ga, a...)
	send(t, bob, gb, sftItem("b1"))
	if _, err := alice.VerifyLog(ctx, ga); err != nil {
		t.Fatal(err)
	}

	// The gym rewrites its log without Alice's second item, then takes
	// more from Carol (new here: she has nothing to compare with), so that
	// the log is longer than what Alice kept.
	rewriteLog(t, gym.Node, a[0].Hash, a[2].Hash, sftItem("b1").Hash)
	carol := newContributor(t)
	gc, _ := carol.AddGym(ctx, gym.url)
	send(t, carol, gc, sftItem("c1"), sftItem("c2"))

	_, err := alice.VerifyLog(ctx, ga)
	if !errors.Is(err, ErrLogRewritten) || !strings.Contains(err.Error(), "dropped or changed history") {
		t.Fatalf("verify after a rewrite: %v", err)
	}
	st, _, _ := alice.LogStatus(ctx, ga)
	if st.Problem == "" || strings.Count(st.Evidence, "— "+LogOrigin(gym.ID())) != 2 {
		t.Fatalf("the evidence is two signed checkpoints: %+v", st)
	}
	// It stays caught, and nothing more is sent to it.
	if _, err := alice.VerifyLog(ctx, ga); !errors.Is(err, ErrLogRewritten) {
		t.Fatalf("second verify: %v", err)
	}
	ids, _ := alice.Approve(ctx, ga, []Candidate{sftItem("a4")}, testLicense)
	rep, _ := alice.Send(ctx, false)
	if rep.Delivered != 0 || rep.Failed != 1 || !strings.Contains(strings.Join(rep.Errors, ""), "rewrote its log") {
		t.Fatalf("send to a gym caught rewriting: %+v", rep)
	}
	if e := outboxEntry(t, alice, ids[0]); e.State != OutboxPending || e.LogProblem == "" {
		t.Fatalf("the outbox shows it: %+v", e)
	}
	if _, ok := gymItems(t, gym)[sftItem("a4").Hash]; ok {
		t.Fatal("an item reached a gym caught rewriting its log")
	}

	// Bob's next delivery catches it by itself: its receipt's checkpoint
	// does not extend the one his last receipt carried.
	bob.Approve(ctx, gb, []Candidate{sftItem("b2")}, testLicense)
	if rep, _ := bob.Send(ctx, false); !strings.Contains(strings.Join(rep.Errors, ""), "rewrote its log") {
		t.Fatalf("bob's send after the rewrite: %+v", rep)
	}
}

// TestWitnessCosignature: a third party checks the gym's log and cosigns
// its checkpoint; the gym serves the cosignature, which verifies under
// the witness's key, and the witness will not cosign a rewritten log.
func TestWitnessCosignature(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense})
	alice, witness := newContributor(t), newContributor(t)
	ga, _ := alice.AddGym(ctx, gym.url)
	gw, err := witness.AddGym(ctx, gym.p2pAddr)
	if err != nil {
		t.Fatal(err)
	}
	send(t, alice, ga, sftItem("w1"), sftItem("w2"))
	_, wkey, _ := ed25519.GenerateKey(nil)
	const wname = "witness.example/w"
	wvkey, _ := NoteKey(wname, wkey.Public().(ed25519.PublicKey))
	cosigned, err := witness.Witness(ctx, gw, wname, wkey, true)
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := OpenCheckpoint(gw.Manifest, cosigned, wvkey); err != nil || cp.N != 2 {
		t.Fatalf("cosigned checkpoint: %+v, %v", cp, err)
	}
	served := httpGet(t, gym.url+"/checkpoint")
	if _, err := OpenCheckpoint(ga.Manifest, served, wvkey); err != nil {
		t.Fatalf("the gym serves the cosignature: %v\n%s", err, served)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	otherVKey, _ := NoteKey(wname, otherKey.Public().(ed25519.PublicKey))
	if _, err := OpenCheckpoint(ga.Manifest, served, otherVKey); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("a witness that did not sign: %v", err)
	}
	// Contributors' checks are not disturbed by the extra signature.
	if _, err := alice.VerifyLog(ctx, ga); err != nil {
		t.Fatal(err)
	}

	rewriteLog(t, gym.Node, sftItem("w2").Hash)
	carol := newContributor(t)
	gc, _ := carol.AddGym(ctx, gym.url)
	send(t, carol, gc, sftItem("w3"), sftItem("w4"))
	if _, err := witness.Witness(ctx, gw, wname, wkey, true); !errors.Is(err, ErrLogRewritten) {
		t.Fatalf("witnessing a rewritten log: %v", err)
	}
}

// rewriteLog replaces a node's log with one of the given items, signed,
// as a dishonest gym would.
func rewriteLog(t *testing.T, n *Node, items ...string) {
	t.Helper()
	ctx := context.Background()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, q := range []string{"DELETE FROM log_hashes", "DELETE FROM log_leaves"} {
		if _, err := n.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	store := logStore{ctx, n.db}
	for _, h := range items {
		if _, err := store.append(h); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := store.tree()
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := signCheckpoint(n.logSigner, tree)
	n.cp.Lock()
	n.cp.note, n.cp.tree = cp, tree
	n.cp.Unlock()
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return b
}

// httpTiles reads tiles with plain HTTP GETs, as any mirror would.
type httpTiles struct {
	t   *testing.T
	url string
}

func (h httpTiles) Height() int { return LogTileHeight }
func (h httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, tile := range tiles {
		resp, err := http.Get(h.url + "/" + tile.Path())
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("tile %s: %s", tile.Path(), resp.Status)
		}
		out = append(out, b)
	}
	return out, nil
}
func (h httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}
