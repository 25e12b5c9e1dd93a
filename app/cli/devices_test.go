package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/owner"
)

// deviceCall sends a JSON request to an owner's API with its token.
func deviceCall(t *testing.T, ctx context.Context, home, base, method, path string, in any) *http.Response {
	t.Helper()
	tok, err := os.ReadFile(api.DefaultTokenPath(home))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, base+path, body)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// streamTurn runs a streamed turn and returns the text streamed and the
// "done" (or "error") event's data; stop, when set, is called after the
// first delta.
func streamTurn(t *testing.T, resp *http.Response, stop func()) (streamed, event, data string) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", "status", string(b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var sb strings.Builder
	ev := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			d := strings.TrimPrefix(line, "data: ")
			if ev == "start" { // where the turn is stored; the reply follows
				continue
			}
			if ev == "delta" {
				var v struct{ Text string }
				json.Unmarshal([]byte(d), &v)
				sb.WriteString(v.Text)
				if stop != nil {
					stop()
					stop = nil
				}
				continue
			}
			return sb.String(), ev, d
		}
	}
	return sb.String(), "", ""
}

// deskTiny is desk/tiny as the laptop's /api/v1/models lists it.
func deskTiny(t *testing.T, laptop, laptopURL string) (agent.ModelInfo, bool) {
	t.Helper()
	var out struct{ Models []agent.ModelInfo }
	body := bodyOf(t, deviceCall(t, context.Background(), laptop, laptopURL, "GET", "/api/v1/models", nil))
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("the laptop's models: %v: %s", err, body)
	}
	for _, m := range out.Models {
		if m.Name == "desk/"+ollamatest.Tiny || m.Name == "desk/"+ollamatest.Tiny+":latest" {
			return m, true
		}
	}
	return agent.ModelInfo{}, false
}

// Two real `cairn serve` processes, paired on loopback; only desk has an
// Ollama. The laptop lists desk/tiny, chats through it (what streamed is
// what was stored), regenerates, stops a reply (desk's Ollama request is
// cancelled), embeds, runs extraction, summaries and an MCP client's
// search on it (checkBackgroundThroughDesk), and is refused clearly once
// desk stops sharing and once desk removes it. Nothing of the laptop's words is in any file under
// desk's home.
func TestDeviceModelsBetweenTwoServes(t *testing.T) {
	desk, laptop := newHome(t), newHome(t)
	off := false
	if err := (owner.Home{Dir: laptop}).SaveSettings(owner.Settings{EmbeddingModel: "desk/" + ollamatest.Tiny, Extraction: &off, MaxReplyTokens: 24,
		NumCtx: map[string]int{"desk/" + ollamatest.Tiny: 1024}}); err != nil {
		t.Fatal(err)
	}
	if err := (owner.Home{Dir: desk}).SaveSettings(owner.Settings{EmbeddingModel: "off", Extraction: &off}); err != nil {
		t.Fatal(err)
	}
	rec := ollamatest.NewRecorder(t, ollama.URL)
	p2p := []string{"--p2p-listen", "/ip4/127.0.0.1/tcp/0"}
	_, deskCmd, deskLog := startServe(t, desk, withOllama(rec.URL.Host), append(p2p, "--device-name", "desk")...)
	laptopURL, _, _ := startServe(t, laptop, withOllama("127.0.0.1:1"), append(p2p, "--device-name", "laptop")...)
	if r := cairn(t, desk, nil, "models", "share", "on"); r.code != 0 || !strings.Contains(r.stdout, "Sharing on") {
		t.Fatalf("share on: %q %q", r.stdout, r.stderr)
	}
	code := strings.TrimSpace(cairn(t, desk, nil, "sync", "pair").stdout)
	if r := cairn(t, laptop, nil, "sync", "join", code); r.code != 0 {
		t.Fatalf("join: %q %q", r.stdout, r.stderr)
	}
	ctx := context.Background()

	models := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "GET", "/api/v1/models", nil))
	if !strings.Contains(models, `"name":"desk/`+ollamatest.Tiny) || !strings.Contains(models, `"device":"desk"`) {
		t.Fatalf("the laptop's models: %s", models)
	}
	if r := cairn(t, laptop, nil, "models"); !strings.Contains(r.stdout, "desk/"+ollamatest.Tiny) || !strings.Contains(r.stdout, "on your device desk, online") {
		t.Fatalf("cairn models on the laptop: %q %q", r.stdout, r.stderr)
	}
	if v1 := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "GET", "/v1/models", nil)); !strings.Contains(v1, `"id":"desk/`+ollamatest.Tiny) {
		t.Fatalf("/v1/models on the laptop: %s", v1)
	}

	canary := "CANARY-laptop-prompt-51c9"
	streamed, ev, data := streamTurn(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/chat",
		map[string]any{"text": "Remember " + canary, "model": "desk/" + ollamatest.Tiny, "stream": true}), nil)
	var turn struct {
		Conversation struct{ ID string }
		Reply        struct{ ID, Content, Model string }
	}
	if ev != "done" || json.Unmarshal([]byte(data), &turn) != nil {
		t.Fatalf("chat through desk: %s %s", ev, data)
	}
	if turn.Reply.Content == "" || turn.Reply.Content != streamed || turn.Reply.Model != "desk/"+ollamatest.Tiny {
		t.Fatalf("streamed %q, stored %q (model %s)", streamed, turn.Reply.Content, turn.Reply.Model)
	}
	regen := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/messages/"+turn.Reply.ID+"/regenerate", map[string]any{}))
	if !strings.Contains(regen, `"reply"`) || !strings.Contains(regen, `"model":"desk/`+ollamatest.Tiny) {
		t.Fatalf("regenerate through desk: %s", regen)
	}
	v1 := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/v1/chat/completions", map[string]any{"model": "desk/" + ollamatest.Tiny,
		"messages": []map[string]string{{"role": "user", "content": "hello through /v1"}}, "max_tokens": 8}))
	if !strings.Contains(v1, `"choices"`) || !strings.Contains(v1, `"model":"desk/`+ollamatest.Tiny) {
		t.Fatalf("/v1/chat/completions through desk: %s", v1)
	}
	emb := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/v1/embeddings", map[string]any{"model": "desk/" + ollamatest.Tiny, "input": "embed " + canary}))
	if !strings.Contains(emb, `"embedding":[`) {
		t.Fatalf("embed through desk: %s", emb)
	}

	// Stop a long reply after its first piece: desk's Ollama request ends.
	cctx, cancel := context.WithCancel(ctx)
	streamTurn(t, deviceCall(t, cctx, laptop, laptopURL, "POST", "/api/v1/chat",
		map[string]any{"text": "Write a very long essay.", "model": "desk/" + ollamatest.Tiny, "stream": true}), cancel)
	select {
	case <-rec.CutOff:
	case <-time.After(time.Minute):
		t.Fatalf("desk's Ollama went on after the laptop stopped; desk's log: %s", deskLog.String())
	}
	cancel()

	// After the stop, so that no background job of these can be what was
	// cut off there.
	sent := checkBackgroundThroughDesk(t, laptop, laptopURL, rec)

	if r := cairn(t, desk, nil, "models", "share", "off"); r.code != 0 {
		t.Fatalf("share off: %q", r.stderr)
	}
	refused := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/chat", map[string]any{"text": "still there?", "model": "desk/" + ollamatest.Tiny}))
	if !strings.Contains(refused, "does not share its models") || !strings.Contains(refused, "cairn models share on") {
		t.Fatalf("with sharing off, the laptop's chat: %s", refused)
	}

	// Desk off: its model is listed offline, and a chat with it says so
	// and stores nothing.
	cairn(t, desk, nil, "models", "share", "on")
	deskCmd.Process.Signal(syscall.SIGTERM)
	deskExited, _ := serveExited.Load(deskCmd)
	<-deskExited.(<-chan struct{})
	if m, ok := deskTiny(t, laptop, laptopURL); !ok || !m.Offline {
		t.Fatalf("with desk off, the laptop lists desk/tiny as %+v (listed: %v)", m, ok)
	}
	before := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "GET", "/api/v1/conversations/"+turn.Conversation.ID, nil))
	offline := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/chat", map[string]any{"conversation_id": turn.Conversation.ID, "text": "are you there?", "model": "desk/" + ollamatest.Tiny}))
	if !strings.Contains(offline, `"device_offline"`) || !strings.Contains(offline, "your device desk is not reachable") {
		t.Fatalf("with desk off, the laptop's chat: %s", offline)
	}
	if after := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "GET", "/api/v1/conversations/"+turn.Conversation.ID, nil)); after != before {
		t.Fatalf("a chat with desk off changed the conversation:\n%s\n%s", before, after)
	}
	_, _, deskLog2 := startServe(t, desk, withOllama(rec.URL.Host), append(p2p, "--device-name", "desk")...)
	for m, ok := deskTiny(t, laptop, laptopURL); !ok || m.Offline; m, ok = deskTiny(t, laptop, laptopURL) {
		time.Sleep(50 * time.Millisecond) // until desk, on a new port, has dialled the laptop again
	}

	var laptopPeer string
	for _, l := range strings.Split(cairn(t, desk, nil, "sync", "devices").stdout, "\n") {
		for _, f := range strings.Fields(l) {
			if strings.HasPrefix(f, "12D3") && !strings.Contains(l, "this device") {
				laptopPeer = f
			}
		}
	}
	if r := cairn(t, desk, nil, "sync", "remove", laptopPeer); r.code != 0 {
		t.Fatalf("remove the laptop: %q %q", r.stdout, r.stderr)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		body := bodyOf(t, deviceCall(t, ctx, laptop, laptopURL, "POST", "/api/v1/chat", map[string]any{"text": "and now?", "model": "desk/" + ollamatest.Tiny}))
		if strings.Contains(body, "removed this device") || strings.Contains(body, "was it removed there?") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the removal, the laptop's chat: %s", body)
		}
	}

	for _, needle := range append(sent, canary, turn.Reply.Content) {
		filepath.WalkDir(desk, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(needle)) {
					t.Errorf("desk's %s holds %q of the laptop's chat", p, needle)
				}
			}
			return nil
		})
	}
	if strings.Contains(deskLog.String()+deskLog2.String(), canary) {
		t.Error("desk's log holds the laptop's prompt")
	}
}
