package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
)

// TestGymReviewAndApproveOverTheAPI is what the app's review page does:
// add a gym, fetch the review, approve some items under the licence; the
// gym then holds, byte for byte, the items the review showed.
func TestGymReviewAndApproveOverTheAPI(t *testing.T) {
	ctx := context.Background()
	f, node, gymSrv := newGymFixture(t, "api-gym")

	conv, _ := f.vault.CreateConversation(ctx, memory.NewConversation{})
	q, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, Role: memory.RoleUser, Content: "My number is +1 415 555 0100, call me"})
	a, _ := f.vault.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "Sure."})
	if r := f.do("POST", "/api/v1/messages/"+a.ID+"/feedback", f.admin, strings.NewReader(`{"rating": 1, "preferred": true}`)); r.status != 201 || !strings.Contains(r.body, `"preferred":true`) {
		t.Fatalf("feedback: %+v", r)
	}

	if r := f.do("GET", "/api/v1/gym/gyms", f.admin, nil); r.status != 200 || !strings.Contains(r.body, `"gyms":[]`) {
		t.Fatalf("no gyms by default: %+v", r)
	}
	r := f.do("POST", "/api/v1/gym/gyms", f.admin, strings.NewReader(`{"address": "`+gymSrv.URL+`"}`))
	var g gym.GymInfo
	if r.status != 201 || json.Unmarshal([]byte(r.body), &g) != nil || g.Manifest.Name != "api-gym" {
		t.Fatalf("add gym: %+v", r)
	}
	r = f.do("GET", "/api/v1/gym/gyms/"+g.ID+"/review", f.admin, nil)
	var review struct {
		License string          `json:"license"`
		Items   []gym.Candidate `json:"items"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &review) != nil || len(review.Items) != 2 || review.License != "CC0-1.0" {
		t.Fatalf("review: %+v", r)
	}
	for _, it := range review.Items {
		if bytes.Contains(it.Item, []byte("555")) || !bytes.Contains(it.Item, []byte("[PHONE]")) {
			t.Fatalf("review shows an unredacted item: %s", it.Item)
		}
	}
	body := `{"approve": ["` + review.Items[0].Hash + `"], "accept_license": "CC-BY-4.0"}`
	if r := f.do("POST", "/api/v1/gym/gyms/"+g.ID+"/approve", f.admin, strings.NewReader(body)); r.status != 400 || !strings.Contains(r.body, "licence") {
		t.Fatalf("approve under the wrong licence: %+v", r)
	}
	body = `{"approve": ["` + review.Items[0].Hash + `"], "decline": ["` + review.Items[1].Hash + `"], "accept_license": "CC0-1.0"}`
	if r := f.do("POST", "/api/v1/gym/gyms/"+g.ID+"/approve", f.admin, strings.NewReader(body)); r.status != 200 || !strings.Contains(r.body, `"delivered":1`) {
		t.Fatalf("approve: %+v", r)
	}
	stored, _ := node.Items(ctx, "")
	if len(stored) != 1 || !bytes.Equal(stored[0].Raw, review.Items[0].Item) {
		t.Fatalf("the gym stores %d items; first %+v, reviewed %s", len(stored), stored, review.Items[0].Item)
	}
	if r := f.do("GET", "/api/v1/gym/gyms/"+g.ID+"/review", f.admin, nil); !strings.Contains(r.body, `"items":[]`) {
		t.Fatalf("decided items are offered again: %s", r.body)
	}
	if r := f.do("GET", "/api/v1/gym/gyms/"+g.ID+"/receipts", f.admin, nil); !strings.Contains(r.body, review.Items[0].Hash) {
		t.Fatalf("receipts: %+v", r)
	}
	if r := f.do("GET", "/api/v1/gym/dataset?format=kto", f.admin, nil); r.status != 200 || strings.Count(r.body, "\n") != 1 || !strings.Contains(r.body, `"label":true`) {
		t.Fatalf("dataset: %+v", r)
	}
	// A token without the admin scope cannot see the review.
	chat, err := f.tokens.Create("chat-only", []string{ScopeChat})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/v1/gym/gyms/"+g.ID+"/review", chat, nil); r.status != 403 {
		t.Fatalf("review with a chat token: %+v", r)
	}
}

// newGymFixture is a fixture whose server has gym support, and a real gym
// node (licence CC0-1.0) on a loopback HTTP server, both closed when the
// test ends.
func newGymFixture(t *testing.T, name string) (*fixture, *gym.Node, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	gc, err := gym.OpenContributor(ctx, gym.ContributorConfig{Path: filepath.Join(t.TempDir(), "gym.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gc.Close() })
	f.srv.Config.Handler = New(Config{Vault: f.vault, Tokens: f.tokens, Gym: gc}).Handler()
	node, err := gym.OpenNode(ctx, gym.NodeConfig{Dir: t.TempDir(), Name: name, License: "CC0-1.0"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(node.HTTPHandler())
	t.Cleanup(func() { srv.Close(); node.Close() })
	return f, node, srv
}
