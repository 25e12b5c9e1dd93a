package gym

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testLicense = "CC-BY-4.0"

// TestContributionEndToEnd runs a gym node on loopback and two
// contributors: one over libp2p, one over HTTP.
func TestContributionEndToEnd(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{Name: "open-gym", License: testLicense, Limits: Limits{MaxItemBytes: 4096, MaxEnvelopeItems: 50, ItemsPerHour: 12}})

	// Alice reaches the gym over libp2p, Bob over HTTP.
	alice, bob := newContributor(t), newContributor(t)
	ga, err := alice.AddGym(ctx, gym.p2pAddr)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := bob.AddGym(ctx, gym.url)
	if err != nil {
		t.Fatal(err)
	}
	if ga.ID != gym.ID() || gb.ID != gym.ID() || ga.Manifest.License != testLicense {
		t.Fatalf("gym ids %s %s, want %s; manifest %+v", ga.ID, gb.ID, gym.ID(), ga.Manifest)
	}
	if ga.Contributor == gb.Contributor {
		t.Fatal("two people share a contributor key")
	}

	// Alice reviews her redacted feedback and approves it all.
	vault := newFeedbackVault(t)
	cands, err := alice.Candidates(ctx, vault, &ga)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 7 {
		t.Fatalf("%d candidates, want 7", len(cands))
	}
	if _, err := alice.Approve(ctx, ga, cands, "something else"); !errors.Is(err, ErrLicense) {
		t.Fatalf("approving without accepting the licence: %v", err)
	}
	if got := gymItems(t, gym); len(got) != 0 {
		t.Fatalf("the gym has %d items before anything was approved", len(got))
	}
	ids, err := alice.Approve(ctx, ga, cands, testLicense)
	if err != nil || len(ids) != 1 {
		t.Fatalf("approve: %v, %v", ids, err)
	}
	rep, err := alice.Send(ctx, false)
	if err != nil || rep.Delivered != 1 {
		t.Fatalf("send: %+v, %v", rep, err)
	}
	// The reviewed payload is, byte for byte, what the gym stores.
	stored := gymItems(t, gym)
	if len(stored) != len(cands) {
		t.Fatalf("gym stores %d items, want %d", len(stored), len(cands))
	}
	for _, c := range cands {
		if !bytes.Equal(stored[c.Hash], c.Item) {
			t.Errorf("gym stores other bytes for %s:\nreviewed %s\nstored   %s", c.Hash, c.Item, stored[c.Hash])
		}
	}
	// The receipt is signed by the gym and lists every item as accepted.
	recs, err := alice.Receipts(ctx, ga)
	if err != nil || len(recs) != 1 || len(recs[0].Items) != len(cands) {
		t.Fatalf("receipts: %+v, %v", recs, err)
	}
	for _, r := range recs[0].Items {
		if r.Status != StatusAccepted {
			t.Errorf("item %s: %s (%s)", r.Hash, r.Status, r.Reason)
		}
	}
	// Reviewed items are not offered again.
	if again, _ := alice.Candidates(ctx, vault, &ga); len(again) != 0 {
		t.Errorf("%d items offered again after approval", len(again))
	}

	// A replayed envelope is refused, and nothing is stored twice.
	env := pendingSigned(t, alice, ids[0])
	a, err := gym.Contribute(ctx, env)
	if err != nil || a.Refused != RefusedReplay || a.Receipt == nil {
		t.Fatalf("replay: %+v, %v", a, err)
	}
	// A forged signature is refused: an item changed after signing, and a
	// body signed by another key than the one it names.
	forged := env
	forged.Body = bytes.Replace(env.Body, []byte("[EMAIL]"), []byte("[PHONE]"), 1)
	if a, _ := gym.Contribute(ctx, forged); a.Refused != RefusedSignature {
		t.Fatalf("altered envelope: %+v", a)
	}
	_, other, _ := ed25519.GenerateKey(nil)
	fresh := Envelope{Schema: SchemaVersion, Gym: gym.ID(), ID: newID(), Created: time.Now(), Contributor: ga.Contributor, License: testLicense, Items: []json.RawMessage{sftItem("forged").Item}}
	s, _ := sign(other, domainEnvelope, fresh)
	if a, _ := gym.Contribute(ctx, s); a.Refused != RefusedSignature || !strings.Contains(a.Reason, "signature") {
		t.Fatalf("envelope signed by another key: %+v", a)
	}

	// Bob: an oversized item is refused with a reason, the rest accepted.
	big := sftItem(strings.Repeat("long answer ", 500))
	small := sftItem("short answer")
	_, err = bob.Approve(ctx, gb, []Candidate{big, small}, testLicense)
	if err != nil {
		t.Fatal(err)
	}
	if rep, _ := bob.Send(ctx, false); rep.Delivered != 1 {
		t.Fatalf("bob's send: %+v", rep)
	}
	recs, _ = bob.Receipts(ctx, gb)
	if len(recs) != 1 || recs[0].Items[0].Status != StatusRefused || !strings.Contains(recs[0].Items[0].Reason, "byte limit") || recs[0].Items[1].Status != StatusAccepted {
		t.Fatalf("bob's receipt: %+v", recs)
	}

	// Over the rate: 12 items an hour; Bob has 1, 12 more are refused.
	var many []Candidate
	for i := range 12 {
		many = append(many, sftItem("item "+strings.Repeat("x", i)))
	}
	rateIDs, _ := bob.Approve(ctx, gb, many, testLicense)
	rep, _ = bob.Send(ctx, false)
	if rep.Failed != 1 || !strings.Contains(strings.Join(rep.Errors, ""), "(rate)") {
		t.Fatalf("over-rate send: %+v", rep)
	}
	if e := outboxEntry(t, bob, rateIDs[0]); e.State != OutboxPending || !e.NextTry.After(time.Now().Add(50*time.Minute)) {
		t.Fatalf("an over-rate envelope stays in the outbox for an hour: %+v", e)
	}

	// The export validates as TRL rows of each format.
	for _, f := range Formats {
		lines := exportLines(t, gym.Node, f)
		if len(lines) == 0 {
			t.Errorf("no %s rows exported", f)
		}
		for _, l := range lines {
			checkTRLRow(t, f, l)
		}
	}
	stats, _ := gym.Contributors(ctx)
	if len(stats) != 2 || stats[0].Accepted != 7 || stats[1].Accepted != 1 || stats[1].Refused != 13 {
		t.Errorf("contributor stats: %+v", stats)
	}

	// Revocation: Bob cannot withdraw Alice's items, nor sign for her key.
	victim := cands[0].Hash
	bobRev, _ := bob.Revoke(ctx, gb, []string{victim})
	if rep, _ := bob.Send(ctx, false); rep.Refused != 1 || !strings.Contains(rep.Errors[0], RefusedNotYours) {
		t.Fatalf("bob revoking alice's item: %+v", rep)
	}
	if e := outboxEntry(t, bob, bobRev); e.State != OutboxRefused {
		t.Fatalf("a refused revocation is final: %+v", e)
	}
	rv := Revocation{Schema: SchemaVersion, Gym: gym.ID(), ID: newID(), Created: time.Now(), Contributor: ga.Contributor, Items: []string{victim}}
	s, _ = sign(other, domainRevocation, rv)
	if a, _ := gym.Revoke(ctx, s); a.Refused != RefusedSignature {
		t.Fatalf("revocation signed by another key: %+v", a)
	}
	if !slices.ContainsFunc(exportLines(t, gym.Node, cands[0].Format), func(l string) bool { return rowOf(t, cands[0]) == l }) {
		t.Fatal("a refused revocation removed the item")
	}
	// Alice withdraws it: the next export leaves it out.
	if _, err := alice.Revoke(ctx, ga, []string{victim}); err != nil {
		t.Fatal(err)
	}
	if rep, _ := alice.Send(ctx, false); rep.Delivered != 1 {
		t.Fatalf("alice's revocation: %+v", rep)
	}
	if slices.ContainsFunc(exportLines(t, gym.Node, cands[0].Format), func(l string) bool { return rowOf(t, cands[0]) == l }) {
		t.Fatal("a revoked item is still exported")
	}
}

// TestOutboxRetriesAcrossRestart: an approved contribution waits in the
// outbox while the gym is down, and arrives exactly once, even when the
// gym took it but its receipt was lost.
func TestOutboxRetriesAcrossRestart(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense})
	c := newContributor(t)
	g, err := c.AddGym(ctx, gym.url)
	if err != nil {
		t.Fatal(err)
	}
	gym.stop()
	ids, err := c.Approve(ctx, g, []Candidate{sftItem("one"), sftItem("two")}, testLicense)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := c.Send(ctx, false)
	if rep.Failed != 1 || rep.Delivered != 0 {
		t.Fatalf("send to a stopped gym: %+v", rep)
	}
	if e := outboxEntry(t, c, ids[0]); e.State != OutboxPending || e.Attempts != 1 || e.LastError == "" {
		t.Fatalf("outbox after a failed send: %+v", e)
	}
	// Not due yet: a plain send waits for the backoff.
	if rep, _ := c.Send(ctx, false); rep.Failed+rep.Delivered != 0 {
		t.Fatalf("send before the retry is due: %+v", rep)
	}
	gym.restart(t)
	// The gym got the envelope, but the answer was lost on the way back.
	if a, err := gym.Contribute(ctx, pendingSigned(t, c, ids[0])); err != nil || a.Receipt == nil {
		t.Fatalf("direct delivery: %+v, %v", a, err)
	}
	rep, _ = c.Send(ctx, true)
	if rep.Delivered != 1 {
		t.Fatalf("retry after the restart: %+v", rep)
	}
	if n := len(gymItems(t, gym)); n != 2 {
		t.Fatalf("gym holds %d items, want 2 (exactly once)", n)
	}
	if recs, _ := c.Receipts(ctx, g); len(recs) != 1 || recs[0].Items[0].Status != StatusAccepted {
		t.Fatalf("receipts: %+v", recs)
	}
	// Nothing left to send.
	if rep, _ := c.Send(ctx, true); rep.Delivered+rep.Failed+rep.Refused != 0 {
		t.Fatalf("a second send did something: %+v", rep)
	}
}

func TestPseudonymsPerGym(t *testing.T) {
	ctx := testCtx(t)
	one, two := startGym(t, NodeConfig{Name: "one"}), startGym(t, NodeConfig{Name: "two"})
	c := newContributor(t)
	g1, err := c.AddGym(ctx, one.url)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := c.AddGym(ctx, two.p2pAddr)
	if err != nil {
		t.Fatal(err)
	}
	if g1.Contributor == g2.Contributor {
		t.Fatal("two gyms see the same contributor key")
	}
	// An envelope for one gym is refused by another.
	ids, _ := c.Approve(ctx, g1, []Candidate{sftItem("x")}, "")
	if a, _ := two.Contribute(ctx, pendingSigned(t, c, ids[0])); a.Refused != RefusedWrongGym {
		t.Fatalf("envelope for another gym: %+v", a)
	}
	if _, err := c.AddGym(ctx, "ftp://nowhere"); err == nil {
		t.Fatal("an address that is neither a URL nor a multiaddr was accepted")
	}
}

func TestStaleEnvelopeRefused(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense})
	c := newContributor(t)
	g, _ := c.AddGym(ctx, gym.url)
	_, key, _ := ed25519.GenerateKey(nil)
	env := Envelope{Schema: SchemaVersion, Gym: g.ID, ID: newID(), Created: time.Now().Add(-30 * 24 * time.Hour), Contributor: EncodeKey(key.Public().(ed25519.PublicKey)), License: testLicense, Items: []json.RawMessage{sftItem("old").Item}}
	s, _ := sign(key, domainEnvelope, env)
	if a, _ := gym.Contribute(ctx, s); a.Refused != RefusedStale {
		t.Fatalf("a month-old envelope: %+v", a)
	}
	// An item that is not canonical JSON is refused, by item.
	env.Created, env.ID = time.Now(), newID()
	env.Items = []json.RawMessage{json.RawMessage(`{"format":"sft","messages":[{"content":"hi","role":"user"},{"role":"assistant","content":"yo"}]}`)}
	s, _ = sign(key, domainEnvelope, env)
	a, _ := gym.Contribute(ctx, s)
	rec, err := OpenReceipt(*a.Receipt, g.Manifest.PublicKey)
	if err != nil || rec.Items[0].Status != StatusRefused || !strings.Contains(rec.Items[0].Reason, "canonical") {
		t.Fatalf("non-canonical item: %+v, %v", rec, err)
	}
}

func gymItems(t *testing.T, g *testGym) map[string][]byte {
	t.Helper()
	items, err := g.Items(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, it := range items {
		out[it.Hash] = it.Raw
	}
	return out
}

func outboxEntry(t *testing.T, c *Contributor, id string) OutboxEntry {
	t.Helper()
	entries, _ := c.Outbox(context.Background())
	for _, e := range entries {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no outbox entry %s", id)
	return OutboxEntry{}
}

func rowOf(t *testing.T, c Candidate) string {
	it, err := DecodeItem(c.Item)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(it.Row())
	return string(b)
}

// The retry loop delivers an approved contribution once the gym is back
// and the backoff has passed, without anyone asking.
func TestRetryLoopDeliversWhenDue(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense})
	var now atomic.Int64
	now.Store(time.Now().UnixMilli())
	c, err := OpenContributor(ctx, ContributorConfig{Path: t.TempDir() + "/gym.db", Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g, err := c.AddGym(ctx, gym.url)
	if err != nil {
		t.Fatal(err)
	}
	gym.stop()
	ids, _ := c.Approve(ctx, g, []Candidate{sftItem("later")}, testLicense)
	if rep, _ := c.Send(ctx, false); rep.Failed != 1 {
		t.Fatalf("send to a stopped gym: %+v", rep)
	}
	gym.restart(t)
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.RetryLoop(loop, 10*time.Millisecond); close(done) }()
	defer func() { stop(); <-done }()
	time.Sleep(100 * time.Millisecond)
	if e := outboxEntry(t, c, ids[0]); e.State != OutboxPending || e.Attempts != 1 {
		t.Fatalf("retried before the backoff passed: %+v", e)
	}
	now.Add(time.Minute.Milliseconds())
	for deadline := time.Now().Add(30 * time.Second); outboxEntry(t, c, ids[0]).State != OutboxDelivered; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %+v", outboxEntry(t, c, ids[0]))
		}
	}
	if n := len(gymItems(t, gym)); n != 1 {
		t.Fatalf("gym holds %d items", n)
	}
}
