package sync

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/ollama/ollama/api"

	"github.com/cairnlabs/cairn/agent/ollamatest"
)

// The infer tests share one real Ollama, started by the first that needs
// it (the rest of the package runs without one).
var (
	inferOllamaOnce gosync.Once
	inferOllama     *ollamatest.Server
	inferOllamaErr  error
)

func realOllama(t testing.TB) *ollamatest.Server {
	t.Helper()
	inferOllamaOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		inferOllama, inferOllamaErr = ollamatest.Start(ctx)
	})
	if inferOllamaErr != nil {
		t.Fatalf("start Ollama: %v", inferOllamaErr)
	}
	return inferOllama
}

// The package's tests end with the process; the shared Ollama is stopped
// then (its watchdog also stops it if the process dies).
func closeInferOllama() {
	if inferOllama != nil {
		inferOllama.Close()
	}
}

// sharedPair is a paired a (sharing its models through the proxy to the
// real Ollama) and b (using them).
func sharedPair(t *testing.T) (a, b *device, proxy *ollamatest.Recorder) {
	srv := realOllama(t)
	a, b = newDevice(t, "desk"), newDevice(t, "laptop")
	pair(t, a, b)
	proxy = ollamatest.NewRecorder(t, srv.URL)
	a.node.ShareModels(proxy.URL)
	return a, b, proxy
}

// through is an Ollama client on b for a's models.
func through(b *device, a *device) *api.Client {
	return api.NewClient(&url.URL{Scheme: "http", Host: "device.invalid"}, &http.Client{Transport: b.node.InferTransport(a.node.ID())})
}

func chatReq(prompt string, predict int) *api.ChatRequest {
	return &api.ChatRequest{Model: ollamatest.Tiny, Messages: []api.Message{{Role: "user", Content: prompt}},
		Options: map[string]any{"num_ctx": 512, "num_predict": predict, "seed": 7, "temperature": 0}}
}

// A member lists, shows, chats with (streamed) and embeds through another
// member's Ollama; the serving device writes nothing of it anywhere.
func TestInferServesAMembersModels(t *testing.T) {
	a, b, _ := sharedPair(t)
	ctx := context.Background()
	c := through(b, a)
	list, err := c.List(ctx)
	if err != nil {
		t.Fatalf("list a's models from b: %v", err)
	}
	if !strings.Contains(listNames(list), ollamatest.Tiny) {
		t.Fatalf("a's models seen from b: %s", listNames(list))
	}
	show, err := c.Show(ctx, &api.ShowRequest{Model: ollamatest.Tiny})
	if err != nil || show.Details.Family == "" {
		t.Fatalf("show through a: %+v %v", show, err)
	}
	canary := "CANARY-prompt-7f3e"
	var streamed strings.Builder
	var pieces int
	if err := c.Chat(ctx, chatReq("say "+canary, 24), func(r api.ChatResponse) error {
		streamed.WriteString(r.Message.Content)
		if r.Message.Content != "" {
			pieces++
		}
		return nil
	}); err != nil {
		t.Fatalf("chat through a: %v", err)
	}
	if pieces < 2 {
		t.Fatalf("the reply came in %d pieces: not streamed", pieces)
	}
	direct := api.NewClient(realOllama(t).URL, http.DefaultClient)
	var want strings.Builder
	if err := direct.Chat(ctx, chatReq("say "+canary, 24), func(r api.ChatResponse) error {
		want.WriteString(r.Message.Content)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if streamed.String() != want.String() {
		t.Fatalf("the reply through a differs from Ollama's own:\n%q\n%q", streamed.String(), want.String())
	}
	emb, err := c.Embed(ctx, &api.EmbedRequest{Model: ollamatest.Tiny, Input: []string{"one", "two"}})
	if err != nil || len(emb.Embeddings) != 2 || len(emb.Embeddings[0]) != ollamatest.TinyEmbeddingDim {
		t.Fatalf("embed through a: %v %v", emb, err)
	}
	if err := c.Pull(ctx, &api.PullRequest{Model: "other"}, func(api.ProgressResponse) error { return nil }); err == nil || !strings.Contains(err.Error(), "not offered") {
		t.Fatalf("b pulled a model onto a: %v", err)
	}
	reply := streamed.String()
	for _, needle := range []string{canary, reply} {
		if f := fileContaining(t, a.dir, needle); f != "" {
			t.Fatalf("a stored %q of b's exchange in %s", needle, f)
		}
	}
}

func listNames(l *api.ListResponse) string {
	var names []string
	for _, m := range l.Models {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// fileContaining walks every file under dir (SQLite side files too) and
// returns one holding needle.
func fileContaining(t *testing.T, dir, needle string) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), needle) {
			found = p
		}
		return nil
	})
	return found
}

// Closing the stream mid-reply cancels the serving device's Ollama request.
func TestInferCancelStopsTheServingDevicesGeneration(t *testing.T) {
	a, b, proxy := sharedPair(t)
	c := through(b, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := chatReq("Write a very long essay.", 4000)
	req.Options["num_ctx"] = 4096
	n := 0
	err := c.Chat(ctx, req, func(r api.ChatResponse) error {
		if r.Message.Content != "" {
			if n++; n == 5 {
				cancel()
			}
		}
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled chat returned %v after %d pieces", err, n)
	}
	select {
	case <-proxy.CutOff:
	case <-time.After(time.Minute):
		t.Fatal("a's request to Ollama went on after b stopped")
	}
}

// Sharing off and a removed device are refused, each clearly.
func TestInferRefusals(t *testing.T) {
	a, b, _ := sharedPair(t)
	ctx := context.Background()
	a.node.ShareModels(nil)
	_, err := through(b, a).List(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not share its models") || !strings.Contains(err.Error(), "cairn models share on") {
		t.Fatalf("with sharing off, b's list: %v", err)
	}

	// A host that was never paired: TestGateRefusesStrangers.
	if err := a.node.Remove(ctx, b.node.ID().String()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a and b part", func() bool {
		return !linked(a.node.Host(), b.node.ID()) && !linked(b.node.Host(), a.node.ID())
	})
	_, err = through(b, a).List(ctx)
	if err == nil {
		t.Fatal("a removed device still lists a's models")
	}
	if !errors.Is(err, ErrDeviceRefused) || !strings.Contains(err.Error(), "was it removed there?") {
		t.Fatalf("a removed device's list says: %v", err)
	}
}

// Through a circuit relay on loopback, the same chat works.
func TestInferThroughRelay(t *testing.T) {
	srv := realOllama(t)
	key, _, _ := crypto.GenerateEd25519Key(nil)
	r, err := NewRelay(key, []string{"/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	relayAddr := r.Addrs()[0].String() + "/p2p/" + r.ID().String()
	a, b := relayedPair(t, relayAddr, nil)
	a.node.ShareModels(srv.URL)
	var reply strings.Builder
	if err := through(b, a).Chat(context.Background(), chatReq("hello over the relay", 12), func(r api.ChatResponse) error {
		reply.WriteString(r.Message.Content)
		return nil
	}); err != nil {
		t.Fatalf("chat through the relay: %v", err)
	}
	if reply.Len() == 0 {
		t.Fatal("no reply through the relay")
	}
	relayed := false
	for _, c := range b.node.Host().Network().ConnsToPeer(a.node.ID()) {
		relayed = relayed || strings.Contains(c.RemoteMultiaddr().String(), "p2p-circuit")
	}
	if !relayed {
		t.Fatal("b reached a, but not through the relay")
	}
	// More than libp2p's default 128 KiB on one relayed connection: a long
	// conversation is not cut off in the middle (Ollama truncates the text
	// to the context it embeds).
	long := strings.Repeat("a long conversation ", 10000)
	emb, err := through(b, a).Embed(context.Background(), &api.EmbedRequest{Model: ollamatest.Tiny, Input: long, Options: map[string]any{"num_ctx": 256}})
	if err != nil || len(emb.Embeddings) != 1 {
		t.Fatalf("embed %d KiB through the relay: %v", len(long)>>10, err)
	}
}
