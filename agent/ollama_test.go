package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
)

// These tests run against a real Ollama server with a tiny random-weight
// model: its words are gibberish, so they check structure, not meaning.
var srv *ollamatest.Server

func TestMain(m *testing.M) {
	code := ollamatest.Main(m, &srv)
	removeChatBenchVault()
	os.Exit(code)
}

// testCtx ends with the test. It has no deadline of its own: the real
// model is slow on a loaded machine, and go test's -timeout catches a hang.
func testCtx(t *testing.T) context.Context { return t.Context() }

func ollamaBackend() *Ollama { return NewOllama("ollama", srv.URL) }

var zero = 0.0

// realConfig keeps replies short and reproducible.
func realConfig(model string) Config {
	return Config{Model: model, NumPredict: 24, Temperature: &zero, Seed: 7}
}

func TestRealChatStreamsAndStoresWhatStreamed(t *testing.T) {
	ctx := testCtx(t)
	for _, model := range []string{ollamatest.Tiny, ollamatest.TinyTools} {
		v := newVault(t, nil)
		a := newAgent(t, v, ollamaBackend(), Config{Model: model, NumPredict: 24, Temperature: &zero, Seed: 7, NoExtraction: true})
		var deltas []string
		turn, err := a.Chat(ctx, TurnRequest{Text: "Tell me a story about a lighthouse."}, func(s string) { deltas = append(deltas, s) })
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(deltas) < 2 {
			t.Fatalf("%s: %d deltas: the reply did not stream", model, len(deltas))
		}
		stored, err := v.Message(ctx, turn.Reply.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Content != strings.Join(deltas, "") || stored.Incomplete {
			t.Fatalf("%s: stored %q (incomplete %v), streamed %q", model, stored.Content, stored.Incomplete, strings.Join(deltas, ""))
		}
		if stored.Stats == nil || stored.Stats.PromptTokens == 0 || stored.Stats.OutputTokens == 0 {
			t.Errorf("%s: no token counts: %+v", model, stored.Stats)
		}
	}
}

func TestRealCancelKeepsThePartialReply(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	v := newVault(t, nil)
	a := newAgent(t, v, ollamaBackend(), Config{Model: ollamatest.Tiny, NumPredict: 4000, Temperature: &zero, Seed: 7, NoExtraction: true})
	var streamed strings.Builder
	n := 0
	turn, err := a.Chat(ctx, TurnRequest{Text: "Write a very long essay."}, func(s string) {
		streamed.WriteString(s)
		if n++; n == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	stored, err := v.Message(context.Background(), turn.Reply.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Incomplete || stored.Content == "" || stored.Content != streamed.String() {
		t.Fatalf("stored %q (incomplete %v), streamed %q", stored.Content, stored.Incomplete, streamed.String())
	}
	if stored.Stats.OutputTokens != 0 && stored.Stats.OutputTokens >= 4000 {
		t.Fatalf("the reply ran to the end: %+v", stored.Stats)
	}
}

func TestRealUnknownModel(t *testing.T) {
	v := newVault(t, nil)
	a := newAgent(t, v, ollamaBackend(), realConfig("no-such-model"))
	_, err := a.Chat(testCtx(t), TurnRequest{Text: "hi"}, nil)
	if !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), "cairn pull no-such-model") {
		t.Fatalf("err = %v", err)
	}
}

func TestRealEmbeddingsAreTheModelsAndSealed(t *testing.T) {
	ctx := testCtx(t)
	b := ollamaBackend()
	emb := NewEmbedder(b, ollamatest.Tiny)
	vecs, err := emb.Embed(ctx, []string{"hello", "world"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || len(vecs[0]) != 8 {
		t.Fatalf("embedding shape %d x %d, want 2 x 8 (the tiny model's width)", len(vecs), len(vecs[0]))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "vault.db")
	v, _, err := memory.Create(ctx, memory.Config{Path: path, Embedder: emb, KDF: testKDF}, []byte("correct horse battery staple"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	text := "Keeps bees on the roof of the garage"
	it, err := v.Add(ctx, memory.NewItem{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.EmbedAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st, err := v.EmbeddingStatus(ctx)
	if err != nil || st.Model != ollamatest.Tiny || st.Embedded != 1 {
		t.Fatalf("status %+v, %v", st, err)
	}
	res, err := v.Search(ctx, memory.Query{Text: text, Mode: memory.Vector, Limit: 1})
	if err != nil || len(res) != 1 || res[0].Item.ID != it.ID {
		t.Fatalf("vector search: %+v, %v", res, err)
	}
	// The vector itself is nowhere in the files, in any byte order.
	want, _ := emb.Embed(ctx, []string{text})
	if err := v.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	for _, f := range want[0][:4] {
		binary.Write(&raw, binary.LittleEndian, f)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, raw.Bytes()) || bytes.Contains(b, []byte(text)) {
			t.Fatalf("%s holds the embedding or the text in the clear", f)
		}
	}
	if math.IsNaN(float64(want[0][0])) {
		t.Fatal("NaN embedding")
	}
}

func TestRealOpenAIBackendAgainstOllamasV1(t *testing.T) {
	ctx := testCtx(t)
	base := srv.URL.JoinPath("v1")
	oa := NewOpenAI("ollama-v1", base, "unused")
	models, err := oa.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range models {
		found = found || strings.HasPrefix(m.Name, ollamatest.Tiny)
	}
	if !found {
		t.Fatalf("models %+v lack %s", models, ollamatest.Tiny)
	}
	v := newVault(t, nil)
	a := newAgent(t, v, oa, Config{Model: ollamatest.Tiny, NumPredict: 24, Temperature: &zero, Seed: 7, NoExtraction: true, NoTools: true})
	var streamed strings.Builder
	turn, err := a.Chat(ctx, TurnRequest{Text: "hello"}, func(s string) { streamed.WriteString(s) })
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Len() == 0 || turn.Reply.Content != streamed.String() {
		t.Fatalf("streamed %q, stored %q", streamed.String(), turn.Reply.Content)
	}
	if turn.Reply.Stats.PromptTokens == 0 {
		t.Errorf("no usage from the stream: %+v", turn.Reply.Stats)
	}
	vecs, err := oa.Embed(ctx, ollamatest.Tiny, []string{"a", "b"})
	if err != nil || len(vecs) != 2 || len(vecs[1]) != 8 {
		t.Fatalf("embeddings through /v1: %v", err)
	}
}

func TestRealTenTurnsStoreNothingWithoutTheirQuote(t *testing.T) {
	// The tiny model fills every string of the JSON schema with gibberish:
	// seconds per extraction on two CPU cores.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	v := newVault(t, nil)
	var mu sync.Mutex
	var reports []ExtractionReport
	a := newAgent(t, v, ollamaBackend(), Config{Model: ollamatest.Tiny, NumPredict: 24, Temperature: &zero, Seed: 7,
		OnExtraction: func(r ExtractionReport) { mu.Lock(); reports = append(reports, r); mu.Unlock() }})
	said := []string{
		"I live in Lisbon with my partner Ana.", "I work as a nurse on night shifts.", "My favourite food is grilled sardines.",
		"I am learning to play the cello.", "We have a dog called Rex.", "I prefer trains to planes.",
		"My sister lives in Berlin.", "I'm allergic to peanuts.", "Ich lerne gerade Deutsch.", "I run five kilometres every morning.",
	}
	conv := ""
	for _, s := range said {
		turn, err := a.Chat(ctx, TurnRequest{ConversationID: conv, Text: s}, nil)
		if err != nil {
			t.Fatal(err)
		}
		conv = turn.Conversation.ID
	}
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Extraction ran with the chat model and its window: Ollama kept the
	// one runner, never reloading it with other options.
	running, err := ollamaBackend().Running(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var chat []int
	for _, m := range running {
		if m.Name == ollamatest.Tiny+":latest" {
			chat = append(chat, m.ContextLength)
		}
	}
	if len(chat) != 1 || chat[0] != DefaultNumCtx {
		t.Errorf("runners of the chat model after chat and extraction: context lengths %v; want one, of %d", chat, DefaultNumCtx)
	}
	st := a.Stats()
	t.Logf("ten turns with the tiny model: proposed %d, stored %d, dropped %d, junk outputs %d", st.Proposed, st.Stored, st.Dropped, st.Junk)
	if st.Runs != 10 || st.Proposed != st.Stored+st.Dropped {
		t.Fatalf("stats %+v: want 10 runs and proposed = stored + dropped", st)
	}
	items, err := v.List(ctx, memory.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		ok := false
		for _, s := range said {
			ok = ok || quoted(normalize(s), it.Quote)
		}
		if !ok {
			t.Errorf("memory %q stored without a quote from the person (quote %q)", it.Text, it.Quote)
		}
	}
	// Each run reported what it did, and the reports add up to the totals.
	mu.Lock()
	defer mu.Unlock()
	var sum ExtractionStats
	for _, r := range reports {
		sum.Proposed, sum.Stored, sum.Dropped = sum.Proposed+r.Proposed, sum.Stored+r.Stored, sum.Dropped+r.Dropped
	}
	if len(reports) != 10 || sum.Proposed != st.Proposed || sum.Stored != st.Stored || sum.Dropped != st.Dropped {
		t.Fatalf("%d reports adding up to %+v; totals %+v", len(reports), sum, st)
	}
}

// recorder is a proxy in front of the real server that keeps each chat
// request's body, to see what the model was sent.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newRecorder(t *testing.T, target *url.URL) *recorder {
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	proxy.ErrorLog = log.New(io.Discard, "", 0) // cancelled streams are expected
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/chat") || strings.HasSuffix(req.URL.Path, "/chat/completions") {
			b, _ := io.ReadAll(req.Body)
			r.mu.Lock()
			r.bodies = append(r.bodies, b)
			r.mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// system returns the system message of the n-th chat request.
func (r *recorder) system(t *testing.T, n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var req struct {
		Messages []Message      `json:"messages"`
		Options  map[string]any `json:"options"`
	}
	if err := json.Unmarshal(r.bodies[n], &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) == 0 || req.Messages[0].Role != "system" {
		return ""
	}
	return req.Messages[0].Content
}

func TestRealLongHistoryFitsTheWindow(t *testing.T) {
	ctx := testCtx(t)
	const numCtx = 1024
	rec := newRecorder(t, srv.URL)
	u, _ := url.Parse(rec.URL)
	v := newVault(t, nil)
	fact, _ := v.Add(ctx, memory.NewItem{Text: "Keeps a lighthouse logbook"})
	a := newAgent(t, v, NewOllama("ollama", u), Config{Model: ollamatest.Tiny, NumCtx: map[string]int{ollamatest.Tiny: numCtx},
		NumPredict: 16, Temperature: &zero, Seed: 7, NoExtraction: true})
	conv, _ := v.CreateConversation(ctx, memory.NewConversation{Title: "long"})
	// History of about three windows of real prose.
	parent, total := "", 0
	for i := 0; total < 3*numCtx; i++ {
		role := memory.RoleUser
		if i%2 == 1 {
			role = memory.RoleAssistant
		}
		text := "The keeper climbed the spiral stairs at dusk, trimmed the wick, polished the great lens and wrote the weather into the logbook: wind from the north-west, 23 knots, visibility fair."
		m, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: conv.ID, ParentID: parent, Role: role, Content: text})
		if err != nil {
			t.Fatal(err)
		}
		parent, total = m.ID, total+EstimateTokens(text)
	}
	turn, err := a.Chat(ctx, TurnRequest{ConversationID: conv.ID, Text: "What did the keeper write in the lighthouse logbook?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := turn.Reply.Stats.PromptTokens
	t.Logf("history of ~%d estimated tokens, window %d: prompt_eval_count %d, %d old messages left out", total, numCtx, got, turn.Dropped)
	if got == 0 || got > numCtx {
		t.Fatalf("prompt_eval_count %d, want 1..%d", got, numCtx)
	}
	if got < numCtx/3 {
		t.Errorf("prompt_eval_count %d: the estimate wastes most of the window", got)
	}
	sys := rec.system(t, 0)
	if !strings.Contains(sys, "You are Cairn") || !strings.Contains(sys, fact.ID) {
		t.Fatalf("system prompt or memory block missing from the request: %q", sys)
	}
	if turn.Dropped == 0 {
		t.Fatal("nothing was dropped from three windows of history")
	}
	// Ollama cuts an overflowing prompt silently, and prompt_eval_count is
	// then the window, so compare with the same request in a window eight
	// times larger (a new window reloads the model: no cached prefix). The
	// same count means the model saw all of it, system prompt and memories
	// first.
	rec.mu.Lock()
	var replay map[string]any
	if err := json.Unmarshal(rec.bodies[0], &replay); err != nil {
		t.Fatal(err)
	}
	rec.mu.Unlock()
	replay["options"].(map[string]any)["num_ctx"] = 8 * numCtx
	replay["stream"] = false
	body, _ := json.Marshal(replay)
	resp, err := http.Post(srv.URL.JoinPath("api", "chat").String(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var full struct {
		PromptEvalCount int `json:"prompt_eval_count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&full); err != nil {
		t.Fatal(err)
	}
	if full.PromptEvalCount != got {
		t.Fatalf("in a %d-token window the model evaluated %d prompt tokens, in a larger one %d: Ollama cut the prompt", numCtx, got, full.PromptEvalCount)
	}
	if log, _ := os.ReadFile(srv.LogPath); bytes.Contains(log, []byte("truncating input prompt")) {
		t.Fatal("the server log says it truncated a prompt")
	}
}

func TestRealRemoteBackendGetsMemoryOnlyWhenAllowed(t *testing.T) {
	ctx := testCtx(t)
	rec := newRecorder(t, srv.URL)
	u, _ := url.Parse(rec.URL)
	v := newVault(t, nil)
	fact, _ := v.Add(ctx, memory.NewItem{Text: "Owns a red kayak"})
	lab := NewOllama("lab", u)
	bs, err := NewBackends(lab)
	if err != nil {
		t.Fatal(err)
	}
	bs.MarkRemote("lab")
	a := New(v, bs, realConfig(ollamatest.TinyTools))
	defer a.Close()
	if st := bs.Status(ctx); len(st) != 1 || !st[0].Remote || st[0].ReceivesMemory {
		t.Fatalf("status %+v: want remote, not receiving memory", st)
	}
	if _, err := a.Chat(ctx, TurnRequest{Text: "Tell me about my kayak"}, nil); err != nil {
		t.Fatal(err)
	}
	if sys := rec.system(t, 0); strings.Contains(sys, fact.ID) || strings.Contains(sys, "kayak") {
		t.Fatalf("a remote backend got memory without permission: %q", sys)
	}
	rec.mu.Lock()
	for _, tool := range []string{`"remember"`, `"recall"`, `"forget"`} {
		if bytes.Contains(rec.bodies[0], []byte(tool)) {
			t.Errorf("a remote backend without permission was offered the %s tool", tool)
		}
	}
	n := len(rec.bodies)
	rec.mu.Unlock()
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	if len(rec.bodies) != n {
		t.Errorf("extraction sent the person's words to a remote backend without permission")
	}
	rec.mu.Unlock()

	bs.AllowMemory("lab", true)
	if st := bs.Status(ctx); !st[0].ReceivesMemory {
		t.Fatalf("status after allowing: %+v", st)
	}
	if _, err := a.Chat(ctx, TurnRequest{Text: "Tell me about my kayak"}, nil); err != nil {
		t.Fatal(err)
	}
	if sys := rec.system(t, n); !strings.Contains(sys, fact.ID) {
		t.Fatalf("allowed remote backend got no memory block: %q", sys)
	}
}
