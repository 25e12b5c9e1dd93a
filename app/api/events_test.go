package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

func TestEventsStreamShowsChanges(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() (string, Event) {
		var name string
		for lines.Scan() {
			l := lines.Text()
			switch {
			case strings.HasPrefix(l, "event: "):
				name = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				var e Event
				if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &e); err != nil {
					t.Fatal(err)
				}
				return name, e
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return "", Event{}
	}
	// A write through the API, then one by another process's handle on
	// the same file (as `cairn memory add` would make).
	r := f.do("POST", "/api/v1/memories", f.admin, strings.NewReader(`{"text":"Keeps bees"}`))
	var it memory.Item
	json.Unmarshal([]byte(r.body), &it)
	if name, e := next(); name != "memory" || e.ID != it.ID || e.Deleted {
		t.Fatalf("first event %s %+v, want the add of %s", name, e, it.ID)
	}
	other, err := memory.Open(ctx, memory.Config{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Unlock(ctx, []byte(testPass)); err != nil {
		t.Fatal(err)
	}
	if err := other.Forget(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	name, e := next()
	if name != "memory" || e.ID != it.ID || !e.Deleted {
		t.Fatalf("second event %s %+v, want the forget", name, e)
	}
	// Resuming after the first event replays the second.
	req2, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events", nil)
	req2.Header.Set("Authorization", "Bearer "+f.admin)
	req2.Header.Set("Last-Event-ID", itoa(e.Seq-1))
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	lines = bufio.NewScanner(resp2.Body)
	if _, again := next(); again.Seq != e.Seq {
		t.Fatalf("resume: %+v, want seq %d", again, e.Seq)
	}
}
