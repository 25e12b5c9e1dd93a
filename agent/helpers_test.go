package agent

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
)

var testKDF = memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}

// newVault is a real vault in a temp dir, with a deterministic embedder.
func newVault(t testing.TB, emb memory.Embedder) *memory.Vault {
	t.Helper()
	if emb == nil {
		emb = memtest.NewEmbedder(32)
	}
	v, _, err := memory.Create(context.Background(), memory.Config{
		Path: filepath.Join(t.TempDir(), "vault.db"), Embedder: emb, KDF: testKDF,
	}, []byte("correct horse battery staple"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// scripted is a deterministic backend for the logic around the model:
// each chat request is answered by the script, which sees the request.
type scripted struct {
	name   string
	url    *url.URL
	caps   []string
	script func(n int, req ChatRequest) ChatResponse
	// hook, when set, runs before the script with the request's context.
	hook func(ctx context.Context, n int, req ChatRequest)

	mu       sync.Mutex
	requests []ChatRequest
}

func newScripted(script func(n int, req ChatRequest) ChatResponse, caps ...string) *scripted {
	u, _ := url.Parse("http://127.0.0.1:1")
	if len(caps) == 0 {
		caps = []string{"completion", "tools"}
	}
	return &scripted{name: "scripted", url: u, caps: caps, script: script}
}

func (s *scripted) Name() string  { return s.name }
func (s *scripted) URL() *url.URL { return s.url }
func (s *scripted) Models(ctx context.Context) ([]ModelInfo, error) {
	return []ModelInfo{{Name: "m", Backend: s.name, Capabilities: s.caps}}, nil
}
func (s *scripted) Show(ctx context.Context, model string) (ModelInfo, error) {
	return ModelInfo{Name: model, Backend: s.name, Capabilities: s.caps, TrainedContext: 1 << 17}, nil
}
func (s *scripted) Chat(ctx context.Context, req ChatRequest, onDelta func(Delta)) (ChatResponse, error) {
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if s.hook != nil {
		s.hook(ctx, n, req)
	}
	resp := s.script(n, req)
	if onDelta != nil && resp.Message.Content != "" {
		for _, w := range strings.SplitAfter(resp.Message.Content, " ") {
			onDelta(Delta{Content: w})
		}
	}
	resp.Message.Role = "assistant"
	return resp, ctx.Err()
}
func (s *scripted) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	return memtest.NewEmbedder(32).Embed(ctx, texts)
}

func (s *scripted) seen() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.requests...)
}

func reply(text string) ChatResponse { return ChatResponse{Message: Message{Content: text}} }

func jsonReply(t testing.TB, v any) ChatResponse {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return reply(string(b))
}

func newAgent(t testing.TB, store Store, b Backend, cfg Config) *Agent {
	t.Helper()
	bs, err := NewBackends(b)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model == "" {
		cfg.Model = "m"
	}
	a := New(store, bs, cfg)
	t.Cleanup(a.Close)
	return a
}

func isExtraction(req ChatRequest) bool {
	return len(req.Format) > 0 && strings.Contains(string(req.Format), "source_quote")
}
func isDecision(req ChatRequest) bool {
	return len(req.Format) > 0 && strings.Contains(string(req.Format), "UPDATE")
}
