package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/gym"
)

// TestGymTasksOverTheAPI is what the Tasks view does: fetch a batch,
// review the items a result gives, submit them under the licence; the
// gym then holds, byte for byte, what the review showed, and the task is
// not offered again.
func TestGymTasksOverTheAPI(t *testing.T) {
	ctx := context.Background()
	f, node, gymSrv := newGymFixture(t, "task-gym")
	err := node.PublishTasks(ctx, gym.TaskFile{
		Sets: []gym.TaskSet{{ID: "rate", Kind: gym.TaskRate, Title: "Rate it", Rubric: []string{"clear", "correct"}, Scale: 5}, {ID: "write", Kind: gym.TaskAnswer, Title: "Write"}},
		Tasks: []gym.GymTask{
			{Task: gym.Task{ID: "r1", Set: "rate", Kind: gym.TaskRate, Prompt: "Mail me at ann@example.org: what is 2+2?", Answers: []string{"4"}}},
			{Task: gym.Task{ID: "w1", Set: "write", Kind: gym.TaskAnswer, Prompt: "Introduce yourself."}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var g gym.GymInfo
	r := f.do("POST", "/api/v1/gym/gyms", f.admin, strings.NewReader(`{"address": "`+gymSrv.URL+`"}`))
	if r.status != 201 || json.Unmarshal([]byte(r.body), &g) != nil {
		t.Fatalf("add gym: %+v", r)
	}
	base := "/api/v1/gym/gyms/" + g.ID + "/tasks"
	if r := f.do("GET", base, f.admin, nil); r.status != 200 || !strings.Contains(r.body, `"tasks":[]`) || !strings.Contains(r.body, `"rubric":["clear","correct"]`) {
		t.Fatalf("tasks before a fetch: %+v", r)
	}
	if r := f.do("POST", base, f.admin, strings.NewReader(`{"set": "nope"}`)); r.status != 502 || !strings.Contains(r.body, "no task set") {
		t.Fatalf("fetch of a set the gym lacks: %+v", r)
	}
	if r := f.do("POST", base, f.admin, strings.NewReader(`{"set": "rate", "n": 5}`)); r.status != 200 || !strings.Contains(r.body, `"id":"r1"`) {
		t.Fatalf("fetch: %+v", r)
	}
	if r := f.do("POST", base+"/review", f.admin, strings.NewReader(`{"results": [{"task": "r1", "scores": {"clear": 9}}]}`)); r.status != 400 || !strings.Contains(r.body, "from 1 to 5") {
		t.Fatalf("review of a bad result: %+v", r)
	}
	results := `"results": [{"task": "r1", "scores": {"clear": 4, "correct": 5}}]`
	r = f.do("POST", base+"/review", f.admin, strings.NewReader("{"+results+"}"))
	var review struct {
		License string          `json:"license"`
		Items   []gym.Candidate `json:"items"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &review) != nil || len(review.Items) != 1 || review.License != "CC0-1.0" {
		t.Fatalf("review: %+v", r)
	}
	item := review.Items[0]
	if gym.Hash(item.Item) != item.Hash || !bytes.Contains(item.Item, []byte("Mail me at ann@example.org")) || !bytes.Contains(item.Item, []byte(`"ratings":{"clear":4,"correct":5}`)) {
		t.Fatalf("reviewed item (hash of its bytes, the gym's prompt as sent, rated): %s", item.Item)
	}
	// What the person writes is redacted as feedback is, names and places
	// their memories know included.
	if r := f.do("POST", "/api/v1/memories", f.admin, strings.NewReader(`{"text": "My sister Anna lives in Lisbon."}`)); r.status != 201 {
		t.Fatalf("add memory: %+v", r)
	}
	f.do("POST", base, f.admin, strings.NewReader(`{"set": "write"}`))
	r = f.do("POST", base+"/review", f.admin, strings.NewReader(`{"results": [{"task": "w1", "answer": "I am Anna, from Lisbon: anna@example.org"}]}`))
	if r.status != 200 || !strings.Contains(r.body, `I am [NAME], from [PLACE]: [EMAIL]`) || !strings.Contains(r.body, "Introduce yourself.") {
		t.Fatalf("review of a written answer: %+v", r)
	}
	if r := f.do("POST", base+"/submit", f.admin, strings.NewReader(`{`+results+`, "approve": ["`+item.Hash+`"], "accept_license": "CC-BY-4.0"}`)); r.status != 400 || !strings.Contains(r.body, "licence") {
		t.Fatalf("submit under the wrong licence: %+v", r)
	}
	if r := f.do("POST", base+"/submit", f.admin, strings.NewReader(`{`+results+`, "approve": ["`+strings.Repeat("0", 64)+`"], "accept_license": "CC0-1.0"}`)); r.status != 404 {
		t.Fatalf("submit of an item not reviewed: %+v", r)
	}
	if r := f.do("POST", base+"/submit", f.admin, strings.NewReader(`{`+results+`, "approve": ["`+item.Hash+`"], "accept_license": "CC0-1.0"}`)); r.status != 200 || !strings.Contains(r.body, `"delivered":1`) {
		t.Fatalf("submit: %+v", r)
	}
	stored, _ := node.Items(ctx, gym.Rating)
	if len(stored) != 1 || !bytes.Equal(stored[0].Raw, item.Item) {
		t.Fatalf("the gym stores %+v; reviewed %s", stored, item.Item)
	}
	if r := f.do("GET", base, f.admin, nil); strings.Contains(r.body, `"id":"r1"`) || !strings.Contains(r.body, `"id":"w1"`) {
		t.Fatalf("a done task is offered again: %s", r.body)
	}
}
