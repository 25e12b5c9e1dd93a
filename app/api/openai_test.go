package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
)

// ollama is the real Ollama server with the tiny random-weight model, for
// the whole package: its words are gibberish, so tests check structure.
var ollama *ollamatest.Server

func TestMain(m *testing.M) { os.Exit(ollamatest.Main(m, &ollama)) }

// oaiFixture is the API backed by a real vault, agent and Ollama, and the
// official OpenAI Go client pointed at it.
type oaiFixture struct {
	*fixture
	agent       *agent.Agent
	extractions atomic.Int32
	// model is the scripted backend, when the test uses one.
	model *memoryModel
}

func (f *oaiFixture) backend() *memoryModel { return f.model }

func newOAIFixture(t *testing.T, b agent.Backend, model string) *oaiFixture {
	t.Helper()
	dir := t.TempDir()
	v, _, err := memory.Create(context.Background(), memory.Config{Path: filepath.Join(dir, "vault.db"), KDF: testKDF}, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	toks, err := OpenTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := toks.EnsureDefault()
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		b = agent.NewOllama("ollama", ollama.URL)
	}
	bs, err := agent.NewBackends(b)
	if err != nil {
		t.Fatal(err)
	}
	f := &oaiFixture{}
	zero := 0.0
	a := agent.New(v, bs, agent.Config{Model: model, NumPredict: 24, Temperature: &zero, Seed: 7,
		OnExtraction: func(agent.ExtractionReport) { f.extractions.Add(1) }})
	t.Cleanup(a.Close)
	srv := httptest.NewServer(New(Config{Vault: v, Agent: a, Backends: bs, Tokens: toks}).Handler())
	t.Cleanup(srv.Close)
	f.fixture = &fixture{t: t, srv: srv, vault: v, tokens: toks, admin: admin}
	f.agent = a
	return f
}

func (f *oaiFixture) client(token string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(f.srv.URL+"/v1/"), option.WithAPIKey(token), option.WithMaxRetries(0))
	return &c
}

// chatToken may chat but not teach memory.
func (f *oaiFixture) chatToken() string {
	f.t.Helper()
	tok, err := f.tokens.Create("script", []string{ScopeChat})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// testCtx ends with the test. It has no deadline of its own: the real
// model is slow on a loaded machine, and go test's -timeout catches a hang.
func testCtx(t *testing.T) context.Context { return t.Context() }

func (f *oaiFixture) conversations() []memory.Conversation {
	f.t.Helper()
	cs, err := f.vault.Conversations(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

func TestOpenAIModelsAndEmbeddings(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	c := f.client(f.chatToken())
	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.OwnedBy != "ollama" {
			t.Errorf("model %+v", m)
		}
	}
	if !strings.Contains(strings.Join(ids, ","), ollamatest.Tiny+":latest") {
		t.Fatalf("models %v lack %s", ids, ollamatest.Tiny)
	}
	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: ollamatest.Tiny, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a lighthouse", "the sea"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) != ollamatest.TinyEmbeddingDim || emb.Data[1].Index != 1 {
		t.Fatalf("embeddings: %d, dim %d", len(emb.Data), len(emb.Data[0].Embedding))
	}
	one, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: ollamatest.Tiny, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("one")}})
	if err != nil || len(one.Data) != 1 || len(one.Data[0].Embedding) != ollamatest.TinyEmbeddingDim {
		t.Fatalf("one embedding: %v %+v", err, one)
	}
}

func TestOpenAIChatStreamsAndStores(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	c := f.client(f.chatToken())
	var resp *http.Response
	start := time.Now()
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         ollamatest.Tiny,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are terse."), openai.UserMessage("Tell me about lighthouses.")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}, option.WithResponseInto(&resp))
	var text strings.Builder
	var acc openai.ChatCompletionAccumulator
	chunks, finish := 0, ""
	var first time.Duration
	for stream.Next() {
		ch := stream.Current()
		acc.AddChunk(ch)
		for _, choice := range ch.Choices {
			if choice.Delta.Content != "" {
				if first == 0 {
					first = time.Since(start)
				}
				chunks++
				text.WriteString(choice.Delta.Content)
			}
			if choice.FinishReason != "" {
				finish = choice.FinishReason
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("streamed %d chunks, first after %v, all after %v", chunks, first, time.Since(start))
	if chunks < 2 || finish == "" {
		t.Fatalf("%d chunks, finish %q: it did not stream", chunks, finish)
	}
	if acc.Usage.CompletionTokens == 0 || acc.Usage.PromptTokens == 0 {
		t.Errorf("no usage: %+v", acc.Usage)
	}
	conv := resp.Header.Get(headerConversation)
	msgs, err := f.vault.Messages(ctx, conv)
	if err != nil {
		t.Fatalf("conversation %q: %v", conv, err)
	}
	thread := agent.Thread(msgs, "")
	if len(thread) != 2 || thread[0].Content != "Tell me about lighthouses." || thread[1].Content != text.String() {
		t.Fatalf("stored %+v, streamed %q", thread, text.String())
	}

	// Not streaming: a chat.completion with usage, in the same conversation.
	comp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: ollamatest.Tiny,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Tell me about lighthouses."), openai.ChatCompletionMessageParamOfAssistant(text.String()),
			openai.UserMessage("And about the sea?"),
		},
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if comp.Object != "chat.completion" || len(comp.Choices) != 1 || comp.Choices[0].Message.Content == "" || comp.Usage.TotalTokens == 0 {
		t.Fatalf("completion %+v", comp)
	}
	if got := resp.Header.Get(headerConversation); got != conv {
		t.Fatalf("continued chat in conversation %q, want %q", got, conv)
	}
	if n := len(f.conversations()); n != 1 {
		t.Fatalf("%d conversations", n)
	}
	if err := f.agent.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.extractions.Load(); n != 0 {
		t.Fatalf("%d extractions for a token without memory:learn", n)
	}
}

// Ten requests of one growing chat, each with the whole history and no
// conversation header, are one stored conversation of ten turns.
func TestOpenAIGrowingChatIsOneConversation(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	c := f.client(f.chatToken())
	history := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief.")}
	var ids []string
	start := time.Now()
	for i := range 10 {
		history = append(history, openai.UserMessage("Question number "+itoa(int64(i))+" about the weather?"))
		var resp *http.Response
		comp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: history}, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.Header.Get(headerConversation))
		history = append(history, comp.Choices[0].Message.ToParam())
	}
	t.Logf("ten growing requests: %v", time.Since(start))
	convs := f.conversations()
	if len(convs) != 1 {
		t.Fatalf("%d conversations, want 1", len(convs))
	}
	msgs, err := f.vault.Messages(ctx, convs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	users := 0
	for _, m := range agent.Thread(msgs, "") {
		if m.Role == memory.RoleUser {
			users++
		}
	}
	if users != 10 || len(msgs) != 20 {
		t.Fatalf("%d user turns in %d messages, want 10 in 20", users, len(msgs))
	}
	for _, id := range ids {
		if id != convs[0].ID {
			t.Fatalf("header named %s, stored %s", id, convs[0].ID)
		}
	}

	// A history this server never answered is stored once, then continued.
	other := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi"), openai.ChatCompletionMessageParamOfAssistant("Hello!"), openai.UserMessage("How are you?")}
	var resp *http.Response
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: other}, option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	second := resp.Header.Get(headerConversation)
	if msgs, _ := f.vault.Messages(ctx, second); len(msgs) != 4 || second == convs[0].ID {
		t.Fatalf("imported history: %d messages in %s", len(msgs), second)
	}
	// The header continues a conversation: a bare message goes after its newest.
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("More?")}},
		option.WithHeader(headerConversation, convs[0].ID)); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := f.vault.Messages(ctx, convs[0].ID); len(msgs) != 22 || len(agent.Thread(msgs, "")) != 22 {
		t.Fatalf("after the header: %d messages", len(msgs))
	}
	if n := len(f.conversations()); n != 2 {
		t.Fatalf("%d conversations, want 2", n)
	}
}

func TestOpenAIMemoryOffStoresNothing(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	c := f.client(f.admin)
	params := openai.ChatCompletionNewParams{Model: ollamatest.Tiny, MaxTokens: openai.Int(12), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Private question.")}}
	comp, err := c.Chat.Completions.New(ctx, params, option.WithHeader(headerMemory, "off"))
	if err != nil {
		t.Fatal(err)
	}
	if comp.Choices[0].Message.Content == "" || comp.Usage.CompletionTokens == 0 || comp.Usage.CompletionTokens > 12 {
		t.Fatalf("completion %+v", comp)
	}
	stream := c.Chat.Completions.NewStreaming(ctx, params, option.WithHeader(headerMemory, "off"))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n < 3 {
		t.Fatalf("stream: %v after %d chunks", err, n)
	}
	if cs := f.conversations(); len(cs) != 0 {
		t.Fatalf("memory off stored %d conversations", len(cs))
	}
}

func TestOpenAIErrors(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	reader, err := f.tokens.Create("reader", []string{ScopeMemoryRead})
	if err != nil {
		t.Fatal(err)
	}
	status := func(err error) int {
		var ae *openai.Error
		if !errors.As(err, &ae) {
			t.Fatalf("not an API error: %v", err)
		}
		return ae.StatusCode
	}
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
	if _, err := f.client(reader).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: msgs}); status(err) != http.StatusForbidden {
		t.Fatalf("memory:read token: %v", err)
	}
	if _, err := f.client(reader).Models.List(ctx); status(err) != http.StatusForbidden {
		t.Fatalf("memory:read token listing models: %v", err)
	}
	if _, err := f.client(f.admin).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "no-such-model", Messages: msgs}); status(err) != http.StatusNotFound {
		t.Fatalf("unknown model: %v", err)
	}
	if _, err := f.client(f.admin).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: msgs},
		option.WithHeader(headerConversation, "0190a0a0-0000-7000-8000-000000000000")); status(err) != http.StatusNotFound {
		t.Fatalf("unknown conversation: %v", err)
	}
	for body, code := range map[string]string{
		`{"model":"tiny","messages":[`:                                                   "bad_json",
		`{"model":"tiny","messages":[{"role":"assistant","content":"hi"}]}`:              "invalid",
		`{"model":"tiny","messages":[]}`:                                                 "invalid",
		`{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`: "invalid",
	} {
		r := f.do("POST", "/v1/chat/completions", f.admin, strings.NewReader(body))
		if r.status != http.StatusBadRequest || errorCode(t, r) != code {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	// Unknown fields are fine: OpenAI clients send many.
	r := f.do("POST", "/v1/chat/completions", f.admin, strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"logit_bias":{},"user":"x","max_tokens":5}`), headerMemory, "off")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"chat.completion"`) {
		t.Fatalf("unknown fields: %d %s", r.status, r.body)
	}
	if cs := f.conversations(); len(cs) != 0 {
		t.Fatalf("errors stored %d conversations", len(cs))
	}
	// A backend that is down is a 502.
	down := newOAIFixture(t, agent.NewOllama("ollama", mustURL(t, "http://127.0.0.1:1")), ollamatest.Tiny)
	if _, err := down.client(down.admin).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: msgs}); status(err) != http.StatusBadGateway {
		t.Fatalf("backend down: %v", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Memory extraction runs on API traffic only for tokens with memory:learn.
func TestOpenAIExtractionNeedsMemoryLearn(t *testing.T) {
	ctx := testCtx(t)
	f := newOAIFixture(t, nil, ollamatest.Tiny)
	learner, err := f.tokens.Create("learner", []string{ScopeChat, ScopeMemoryLearn})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("I live in Lisbon.")}
	if _, err := f.client(f.chatToken()).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if err := f.agent.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.extractions.Load(); n != 0 {
		t.Fatalf("%d extractions for a chat-only token", n)
	}
	start := time.Now()
	if _, err := f.client(learner).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ollamatest.Tiny, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if err := f.agent.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("turn and extraction: %v", time.Since(start))
	if n := f.extractions.Load(); n != 1 {
		t.Fatalf("%d extractions for a memory:learn token, want 1", n)
	}
}
