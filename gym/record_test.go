package gym

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func intp(i int) *int { return &i }

// takeTasks fetches every task of a set and answers each compare task
// with choose(task), sending the results.
func takeTasks(t *testing.T, c *Contributor, g GymInfo, set string, choose func(Task) int) Receipt {
	t.Helper()
	ctx := context.Background()
	tasks, err := c.FetchTasks(ctx, g, set, MaxTaskBatch)
	if err != nil {
		t.Fatal(err)
	}
	var rs []TaskResult
	for _, task := range tasks {
		rs = append(rs, TaskResult{Task: task.ID, Choice: intp(choose(task)), Reason: "because"})
	}
	cands, err := c.TaskCandidates(ctx, g, rs, Known{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTasks(ctx, g, cands, testLicense); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Send(ctx, false)
	if err != nil || rep.Delivered != 1 {
		t.Fatalf("send results: %+v, %v", rep, err)
	}
	recs, _ := c.Receipts(ctx, g)
	return recs[len(recs)-1].Receipt
}

// TestAccountability: gold tasks mixed in the feed move a key's quota and
// score; a scored export leaves out a key that answers gold wrongly; an
// envelope without a valid stamp, and a near-duplicate, are refused; an
// operator's rejection counts against the key and leaves the export.
func TestAccountability(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{License: testLicense, Limits: Limits{ItemsPerHour: 1000, NewKeyItemsPerHour: 20, StampBits: 10}})
	tf := TaskFile{Sets: []TaskSet{{ID: "cap", Kind: TaskCompare, Title: "Capitals"}}}
	for i, c := range [][2]string{{"Portugal", "Lisbon"}, {"Spain", "Madrid"}, {"France", "Paris"}, {"Italy", "Rome"}} {
		task := GymTask{Task: Task{ID: "cap-" + c[0], Set: "cap", Kind: TaskCompare, Prompt: "What is the capital of " + c[0] + "?", Answers: []string{"Nowhere.", c[1] + "."}}}
		if i < 3 {
			task.Gold = &TaskResult{Choice: intp(1)}
		}
		tf.Tasks = append(tf.Tasks, task)
	}
	if err := gym.PublishTasks(ctx, tf); err != nil {
		t.Fatal(err)
	}
	alice, mallory := newContributor(t), newContributor(t)
	ga, _ := alice.AddGym(ctx, gym.url)
	gm, _ := mallory.AddGym(ctx, gym.p2pAddr)
	if len(ga.Manifest.Tasks) != 1 || ga.Manifest.Limits.StampBits != 10 {
		t.Fatalf("manifest: %+v", ga.Manifest)
	}

	ra := takeTasks(t, alice, ga, "cap", func(Task) int { return 1 })
	rm := takeTasks(t, mallory, gm, "cap", func(task Task) int {
		if task.ID == "cap-Italy" {
			return 1 // agrees with Alice where there is no gold
		}
		return 0
	})
	if ra.Quota <= 20 || rm.Quota >= 20 {
		t.Fatalf("quota after gold tasks: alice %d (want over 20), mallory %d (want under 20)", ra.Quota, rm.Quota)
	}
	recA, _ := gym.Record(ctx, ga.Contributor)
	recM, _ := gym.Record(ctx, gm.Contributor)
	if recA.GoldRight != 3 || recM.GoldWrong != 3 || recA.PeerTotal != 1 || recA.PeerAgree != 1 || recA.Score <= recM.Score {
		t.Fatalf("records: alice %+v, mallory %+v", recA, recM)
	}
	scored, err := gym.ScoredItems(ctx, DPO, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range scored {
		if it.Contributor == gm.Contributor {
			t.Fatalf("a key that fails gold tasks is in the scored export: %+v", it)
		}
	}
	if len(scored) != 4 { // Mallory's Italy item is Alice's, byte for byte
		t.Fatalf("%d scored items, want alice's 4", len(scored))
	}

	// An envelope without a stamp, or with a wrong one, is refused.
	env := Envelope{Schema: SchemaVersion, Gym: gym.ID(), ID: newID(), Created: time.Now(), Contributor: ga.Contributor, License: testLicense, Items: []json.RawMessage{sftItem("unstamped").Item}}
	key := gymKey(t, alice, ga)
	for _, stamp := range []string{"", "not-a-stamp"} {
		env.ID, env.Stamp = newID(), stamp
		s, _ := sign(key, domainEnvelope, env)
		if a, _ := gym.Contribute(ctx, s); a.Refused != RefusedStamp {
			t.Fatalf("stamp %q: %+v", stamp, a)
		}
	}

	// A reworded copy of an item is refused as a near-duplicate.
	long := "The capital of Portugal is Lisbon, a city on the Tagus river known for its hills, trams and old quarters like Alfama."
	first := sftItem(long)
	reworded := sftItem(strings.Replace(long, "known for", "famous for", 1))
	rec := send(t, alice, ga, first, reworded)
	if rec.Items[0].Status != StatusAccepted || rec.Items[1].Status != StatusDuplicate || !strings.Contains(rec.Items[1].Reason, "near-duplicate") {
		t.Fatalf("near-duplicate: %+v", rec.Items)
	}

	// The operator rejects Alice's item: it leaves the data, and counts.
	before, _ := gym.Record(ctx, ga.Contributor)
	if err := gym.Reject(ctx, first.Hash, "copied from a web page"); err != nil {
		t.Fatal(err)
	}
	after, _ := gym.Record(ctx, ga.Contributor)
	if after.Rejected != 1 || after.Score >= before.Score || after.Quota >= before.Quota {
		t.Fatalf("a rejection counts: before %+v, after %+v", before, after)
	}
	if _, ok := gymItems(t, gym)[first.Hash]; ok {
		t.Fatal("a rejected item is still in the gym's data")
	}
	if err := gym.Reject(ctx, first.Hash, ""); err == nil {
		t.Fatal("a rejection without a reason")
	}
}

func gymKey(t *testing.T, c *Contributor, g GymInfo) ed25519.PrivateKey {
	t.Helper()
	got, err := c.Gym(context.Background(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.key
}
