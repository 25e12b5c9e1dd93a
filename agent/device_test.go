package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
)

// switchable carries requests to the real Ollama while on, and fails as an
// unreachable device's transport does while off.
type switchable struct {
	off atomic.Bool
	to  http.RoundTripper
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.off.Load() {
		return nil, errors.New("device not reachable: no route")
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = srv.URL.Scheme, srv.URL.Host, ""
	return s.to.RoundTrip(r)
}

type deviceList []Backend

func (l deviceList) Backends() []Backend { return l }

// Another device's model is "DEVICE/MODEL": listed with the device's name,
// chatted with memory (the device is the person's own), and, once the
// device is out of reach, listed offline and refused clearly with nothing
// stored.
func TestDeviceModelsChatAndGoOffline(t *testing.T) {
	ctx := testCtx(t)
	rt := &switchable{to: http.DefaultTransport}
	desk := NewDevice("desk", rt)
	bs, err := NewBackends(NewOllama("ollama", mustURL(t, "http://127.0.0.1:1")))
	if err != nil {
		t.Fatal(err)
	}
	bs.SetDevices(deviceList{desk})
	b, name, err := bs.Resolve("desk/" + ollamatest.Tiny)
	if err != nil || b != Backend(desk) || name != ollamatest.Tiny {
		t.Fatalf("resolve desk/tiny: %v %q %v", b, name, err)
	}
	if !bs.ReceivesMemory(desk) {
		t.Fatal("the person's own device may not receive memories")
	}
	models, err := desk.Models(ctx)
	if err != nil || len(models) == 0 || models[0].Device != "desk" || models[0].Offline {
		t.Fatalf("desk's models: %+v %v", models, err)
	}
	v := newVault(t, nil)
	a := New(v, bs, Config{Model: "desk/" + ollamatest.Tiny, NumPredict: 12, Temperature: &zero, Seed: 7, NoExtraction: true})
	t.Cleanup(a.Close)
	var streamed strings.Builder
	turn, err := a.Chat(ctx, TurnRequest{Text: "hello desk"}, func(s string) { streamed.WriteString(s) })
	if err != nil {
		t.Fatalf("chat through desk: %v", err)
	}
	if turn.Reply.Content == "" || turn.Reply.Content != streamed.String() || turn.Reply.Model != "desk/"+ollamatest.Tiny {
		t.Fatalf("stored %q (model %s), streamed %q", turn.Reply.Content, turn.Reply.Model, streamed.String())
	}

	rt.off.Store(true)
	models, err = desk.Models(ctx)
	if err != nil || len(models) == 0 || !models[0].Offline {
		t.Fatalf("offline desk's models: %+v %v", models, err)
	}
	before, _ := v.Messages(ctx, turn.Conversation.ID)
	_, err = a.Chat(ctx, TurnRequest{ConversationID: turn.Conversation.ID, Text: "are you there?"}, nil)
	if !errors.Is(err, ErrDeviceOffline) || !strings.Contains(err.Error(), "your device desk is not reachable") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("chat with offline desk: %v", err)
	}
	after, _ := v.Messages(ctx, turn.Conversation.ID)
	if len(after) != len(before) {
		t.Fatalf("a chat with an offline device stored %d messages", len(after)-len(before))
	}
	if _, err := desk.Embed(context.Background(), ollamatest.Tiny, []string{"x"}); !errors.Is(err, ErrDeviceOffline) {
		t.Fatalf("embed with offline desk: %v", err)
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// cutAfter carries requests to the real Ollama and ends each chat's reply
// early, as a dropped connection does: cleanly after lines lines (the
// infer stream closed), or in the middle of a line after bytes bytes.
type cutAfter struct{ lines, bytes int }

func (c cutAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = srv.URL.Scheme, srv.URL.Host, ""
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.URL.Path != "/api/chat" {
		return resp, err
	}
	var kept bytes.Buffer
	br := bufio.NewReader(resp.Body)
	for range c.lines {
		line, err := br.ReadBytes('\n')
		kept.Write(line)
		if err != nil {
			break
		}
	}
	if c.bytes > 0 {
		io.CopyN(&kept, br, int64(c.bytes))
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(&kept)
	return resp, nil
}

// A reply whose stream ends before Ollama's last line (the device went
// away mid-reply) is an error saying so, and what came is kept marked
// incomplete.
func TestDeviceReplyCutOffIsIncomplete(t *testing.T) {
	for name, cut := range map[string]cutAfter{"closed": {lines: 5}, "broken": {lines: 5, bytes: 20}} {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			desk := NewDevice("desk", cut)
			bs, err := NewBackends(NewOllama("ollama", mustURL(t, "http://127.0.0.1:1")))
			if err != nil {
				t.Fatal(err)
			}
			bs.SetDevices(deviceList{desk})
			a := New(newVault(t, nil), bs, Config{Model: "desk/" + ollamatest.Tiny, NumPredict: 200, Temperature: &zero, Seed: 7, NoExtraction: true, NoTools: true})
			t.Cleanup(a.Close)
			turn, err := a.Chat(ctx, TurnRequest{Text: "tell me a long story"}, nil)
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "stopped before its end") {
				t.Fatalf("a cut-off reply returned %v", err)
			}
			if turn.Reply.ID == "" || !turn.Reply.Incomplete || turn.Reply.Content == "" {
				t.Fatalf("the cut-off reply was stored as %+v", turn.Reply)
			}
		})
	}
}
