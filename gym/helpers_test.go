package gym

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

var fastKDF = memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newVault(t *testing.T) *memory.Vault {
	t.Helper()
	v, _, err := memory.Create(context.Background(), memory.Config{Path: filepath.Join(t.TempDir(), "vault.db"), KDF: fastKDF}, []byte("correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// feedbackVault is a vault with one question answered twice: the first
// reply rated bad and corrected, the regeneration rated good and
// preferred. The person's memories name a sister and a city.
type feedbackVault struct {
	*memory.Vault
	user, bad, good memory.Message
}

const (
	question   = "What is the capital of Portugal? Anna asked me, mail her at anna@example.com"
	badReply   = "Porto, I think."
	goodReply  = "Lisbon is the capital of Portugal."
	correction = "Lisbon. Tell Anna on +351 21 123 4567."
)

func newFeedbackVault(t *testing.T) *feedbackVault {
	t.Helper()
	ctx := context.Background()
	v := newVault(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := v.Add(ctx, memory.NewItem{Kind: memory.Fact, Text: "My sister Anna lives in Lisbon."})
	must(err)
	conv, err := v.CreateConversation(ctx, memory.NewConversation{Title: "capitals"})
	must(err)
	fv := &feedbackVault{Vault: v}
	fv.user, err = v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: question})
	must(err)
	fv.bad, err = v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: fv.user.ID, Role: memory.RoleAssistant, Content: badReply})
	must(err)
	fv.good, err = v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: fv.user.ID, Role: memory.RoleAssistant, Content: goodReply})
	must(err)
	_, err = Rate(ctx, v, fv.bad.ID, -1, "wrong city")
	must(err)
	_, err = Correct(ctx, v, fv.bad.ID, correction)
	must(err)
	_, err = Rate(ctx, v, fv.good.ID, 1, "")
	must(err)
	_, err = Prefer(ctx, v, fv.good.ID)
	must(err)
	return fv
}

// testGym is a gym node served over HTTP and libp2p on loopback.
type testGym struct {
	*Node
	dir      string
	cfg      NodeConfig
	httpAddr string
	url      string
	p2pAddr  string
	stop     func()
}

func startGym(t testing.TB, cfg NodeConfig) *testGym {
	t.Helper()
	g := &testGym{dir: t.TempDir(), cfg: cfg}
	g.cfg.Dir = g.dir
	g.start(t, "127.0.0.1:0")
	t.Cleanup(func() { g.stop() })
	return g
}

func (g *testGym) start(t testing.TB, httpAddr string) {
	t.Helper()
	n, err := OpenNode(context.Background(), g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	g.httpAddr, g.url = ln.Addr().String(), "http://"+ln.Addr().String()
	n.SetURL(g.url)
	srv := &http.Server{Handler: n.HTTPHandler()}
	go srv.Serve(ln)
	h, addrs, err := n.ServeP2P([]string{"/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		t.Fatal(err)
	}
	g.Node, g.p2pAddr = n, addrs[0]
	stopped := false
	g.stop = func() {
		if !stopped {
			stopped = true
			srv.Close()
			h.Close()
			n.Close()
		}
	}
}

// restart stops the gym and starts it again on the same HTTP address.
func (g *testGym) restart(t *testing.T) {
	g.stop()
	g.start(t, g.httpAddr)
}

func newContributor(t *testing.T) *Contributor {
	t.Helper()
	c, err := OpenContributor(context.Background(), ContributorConfig{Path: filepath.Join(t.TempDir(), "gym.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sftItem(text string) Candidate {
	it := Item{Format: SFT, Messages: []Turn{{Role: "user", Content: "Say " + text}, {Role: "assistant", Content: text}}}
	raw := it.Encode()
	return Candidate{Hash: Hash(raw), Format: SFT, Item: raw}
}

func pendingSigned(t *testing.T, c *Contributor, id string) Signed {
	t.Helper()
	entries, err := c.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ID == id {
			var s Signed
			if err := json.Unmarshal(e.signed, &s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("no outbox entry %s", id)
	return Signed{}
}

func exportLines(t *testing.T, n *Node, f Format) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := n.Export(context.Background(), f, &buf); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}
