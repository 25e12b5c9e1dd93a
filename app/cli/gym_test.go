package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
)

// startBackground runs a cairn command until the test ends and waits for
// a line of its standard error that matches re; it returns the match's
// first group.
func startBackground(t *testing.T, home string, re *regexp.Regexp, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--home", home}, args...)...)
	cmd.Env = append(cleanEnv(), execMainEnv+"=1")
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	})
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			return m[1]
		}
		select {
		case <-done:
			t.Fatalf("%v exited: %s", args, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%v did not start: %s", args, errb.String())
	return ""
}

// conversationWithBranches stores a question, a bad reply and its
// regeneration in the home's vault, and returns the replies' ids.
func conversationWithBranches(t *testing.T, home string) (bad, good string) {
	t.Helper()
	ctx := context.Background()
	v, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock(ctx, []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	conv, _ := v.CreateConversation(ctx, memory.NewConversation{Title: "capitals"})
	q, _ := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: "Where does Anna live? Her mail is anna@example.com"})
	b, _ := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "In Porto."})
	g, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "She lives in Lisbon."})
	if err != nil {
		t.Fatal(err)
	}
	return b.ID, g.ID
}

func TestGymCommandsEndToEnd(t *testing.T) {
	home := newHome(t)
	bad, good := conversationWithBranches(t, home)
	ok := func(r result) result {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		return r
	}
	ok(cairn(t, home, withPass, "memory", "add", "My sister Anna lives in Lisbon."))
	ok(cairn(t, home, withPass, "gym", "feedback", bad, "--down", "--reason", "wrong city", "--correct", "Anna lives in Lisbon."))
	ok(cairn(t, home, withPass, "gym", "feedback", good, "--up"))
	ok(cairn(t, home, withPass, "gym", "feedback", good, "--prefer"))
	if r := cairn(t, home, withPass, "gym", "feedback", good); r.code != exitUsage {
		t.Fatalf("feedback without a judgement: %+v", r)
	}

	// The person's own dataset, unredacted.
	own := filepath.Join(t.TempDir(), "dpo.jsonl")
	ok(cairn(t, home, withPass, "gym", "dataset", "--format", "dpo", "--out", own))
	b, _ := os.ReadFile(own)
	if n := strings.Count(string(b), "\n"); n != 2 || !strings.Contains(string(b), `"chosen"`) || !strings.Contains(string(b), "Lisbon") {
		t.Fatalf("own DPO dataset (%d rows):\n%s", n, b)
	}

	// No gyms until one is added.
	if r := ok(cairn(t, home, nil, "gym", "list")); r.stdout != "" || !strings.Contains(r.stderr, "No gyms") {
		t.Fatalf("gym list with none: %+v", r)
	}
	gymDir := filepath.Join(t.TempDir(), "gym")
	addr := startBackground(t, home, regexp.MustCompile(`libp2p: (\S+)`), "gym", "serve", "--dir", gymDir, "--name", "test-gym", "--license", "CC-BY-4.0", "--p2p", "/ip4/127.0.0.1/tcp/0")
	if r := ok(cairn(t, home, nil, "gym", "add", addr)); !strings.Contains(r.stdout, "Nothing has been sent") || !strings.Contains(r.stdout, "CC-BY-4.0") {
		t.Fatalf("gym add: %s", r.stdout)
	}

	// Review without a terminal lists the exact items and decides nothing.
	r := ok(cairn(t, home, withPass, "gym", "review", "test-gym"))
	if strings.Contains(r.stdout, "Anna") || strings.Contains(r.stdout, "Lisbon") || strings.Contains(r.stdout, "anna@") || !strings.Contains(r.stdout, "[NAME]") {
		t.Fatalf("review shows unredacted data:\n%s", r.stdout)
	}
	var reviewed struct {
		Items []gym.Candidate `json:"items"`
	}
	if err := json.Unmarshal([]byte(ok(cairn(t, home, withPass, "gym", "review", "test-gym", "--json")).stdout), &reviewed); err != nil || len(reviewed.Items) != 7 {
		t.Fatalf("review --json: %d items, %v", len(reviewed.Items), err)
	}
	if r := cairn(t, home, withPass, "gym", "review", "test-gym", "--approve", "all"); r.code == 0 || !strings.Contains(r.stderr, "licence") {
		t.Fatalf("approval without accepting the licence: %+v", r)
	}
	decline := reviewed.Items[0].Hash
	ok(cairn(t, home, withPass, "gym", "review", "test-gym", "--decline", decline[:12]))
	r = ok(cairn(t, home, withPass, "gym", "review", "test-gym", "--approve", "all", "--accept-license", "CC-BY-4.0"))
	if !strings.Contains(r.stderr, "Approved 6 items") || !strings.Contains(r.stderr, "1 delivered") {
		t.Fatalf("approve: %s", r.stderr)
	}

	// The gym exports what it accepted; the declined item never left.
	exported := map[string]string{}
	for _, f := range gym.Formats {
		out := filepath.Join(t.TempDir(), string(f)+".jsonl")
		ok(cairn(t, home, nil, "gym", "export", "--dir", gymDir, "--format", string(f), "--out", out))
		b, _ := os.ReadFile(out)
		exported[string(f)] = string(b)
	}
	all := exported["sft"] + exported["dpo"] + exported["kto"]
	if n := strings.Count(all, "\n"); n != 6 {
		t.Fatalf("gym exported %d rows, want 6:\n%s", n, all)
	}
	declined, _ := gym.DecodeItem(reviewed.Items[0].Item)
	row, _ := json.Marshal(declined.Row())
	if strings.Contains(all, string(row)) {
		t.Fatal("a declined item reached the gym")
	}

	// Receipts name every item; revoking one drops it from the next export.
	var recs []gym.KeptReceipt
	json.Unmarshal([]byte(ok(cairn(t, home, nil, "gym", "receipts", "test-gym")).stdout), &recs)
	if len(recs) != 1 || len(recs[0].Items) != 6 {
		t.Fatalf("receipts: %+v", recs)
	}
	gone := recs[0].Items[0].Hash
	if r := ok(cairn(t, home, nil, "gym", "revoke", "test-gym", gone)); !strings.Contains(r.stderr, "1 delivered") {
		t.Fatalf("revoke: %s", r.stderr)
	}
	r = ok(cairn(t, home, nil, "gym", "export", "--dir", gymDir, "--contributors"))
	if !strings.Contains(r.stdout, `"accepted": 6`) || !strings.Contains(r.stdout, `"revoked": 1`) {
		t.Fatalf("contributors: %s", r.stdout)
	}
}

// With an owner serving the home, feedback goes through its API: no
// passphrase needed.
func TestGymFeedbackThroughTheOwner(t *testing.T) {
	home := newHome(t)
	_, good := conversationWithBranches(t, home)
	startServe(t, home, withOllama("127.0.0.1:1"))
	if r := cairn(t, home, nil, "gym", "feedback", good, "--prefer", "--up", "--reason", "clear"); r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("feedback through the owner: %+v", r)
	}
	if r := cairn(t, home, nil, "gym", "feedback", "no-such-message", "--up"); r.code == 0 || !strings.Contains(r.stderr, "no message") {
		t.Fatalf("feedback on a missing message: %+v", r)
	}
	ctx := context.Background()
	v, _ := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	defer v.Close()
	v.Unlock(ctx, []byte(testPassphrase))
	fbs, err := v.FeedbackOn(ctx, good)
	if err != nil || len(fbs) != 1 || !fbs[0].Preferred || fbs[0].Rating != 1 || fbs[0].Comment != "clear" {
		t.Fatalf("stored feedback: %+v, %v", fbs, err)
	}
}

// In a terminal, review asks item by item, then for the licence.
func TestGymReviewInATerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script (util-linux) gives the review a terminal: %v", err)
	}
	home := newHome(t)
	bad, _ := conversationWithBranches(t, home)
	if r := cairn(t, home, withPass, "gym", "feedback", bad, "--down", "--correct", "Lisbon."); r.code != 0 {
		t.Fatal(r.stderr)
	}
	node, err := gym.OpenNode(context.Background(), gym.NodeConfig{Dir: t.TempDir(), Name: "tty-gym", License: "CC0-1.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	srv := httptest.NewServer(node.HTTPHandler())
	defer srv.Close()
	if r := cairn(t, home, nil, "gym", "add", srv.URL); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// Approve the first item, decline the second, quit, accept the licence.
	cmd := exec.Command("script", "-qec", os.Args[0]+" --home "+home+" gym review tty-gym", "/dev/null")
	cmd.Env = append(cleanEnv(), execMainEnv+"=1", "CAIRN_PASSPHRASE="+testPassphrase)
	cmd.Stdin = strings.NewReader("a\nd\nq\ny\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("review in a terminal: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "exactly as it would be sent") || !strings.Contains(string(out), "CC0-1.0") || !strings.Contains(string(out), "Approved 1 item for tty-gym; 1 declined") || !strings.Contains(string(out), "1 delivered") {
		t.Fatalf("review in a terminal:\n%s", out)
	}
	if items, _ := node.Items(context.Background(), ""); len(items) != 1 {
		t.Fatalf("the gym holds %d items, want the 1 approved", len(items))
	}
}
