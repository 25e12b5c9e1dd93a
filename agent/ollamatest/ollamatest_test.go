package ollamatest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

var srv *Server

func TestMain(m *testing.M) { os.Exit(Main(m, &srv)) }

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// few keeps generation short and repeatable.
var few = map[string]any{"num_predict": 12, "seed": 1, "temperature": 0}

func TestServerAnswers(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	v, err := srv.Client().Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(OllamaVersion, "v"); v != want {
		t.Logf("server version %q, not %q (a binary from %s or PATH?)", v, want, EnvOllama)
	}
	if srv.URL.Host != srv.Host || !strings.HasPrefix(srv.Host, "127.0.0.1:") {
		t.Errorf("URL %v, Host %q: want http://127.0.0.1:PORT for both", srv.URL, srv.Host)
	}
	list, err := srv.Client().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list.Models {
		names = append(names, m.Name)
	}
	for _, want := range []string{Tiny + ":latest", TinyTools + ":latest"} {
		if !slices.Contains(names, want) {
			t.Errorf("models %v lack %s", names, want)
		}
	}
}

func TestChatStreams(t *testing.T) {
	ctx := testContext(t, 60*time.Second)
	var chunks int
	var last api.ChatResponse
	err := srv.Client().Chat(ctx, &api.ChatRequest{
		Model:    Tiny,
		Messages: []api.Message{{Role: "user", Content: "Hello there"}},
		Options:  few,
	}, func(r api.ChatResponse) error {
		if !r.Done && r.Message.Content != "" {
			chunks++
		}
		last = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if chunks == 0 {
		t.Error("no tokens streamed")
	}
	if !last.Done || last.PromptEvalCount <= 0 || last.EvalCount <= 0 {
		t.Errorf("last chunk: done %v, prompt_eval_count %d, eval_count %d; want done with both > 0",
			last.Done, last.PromptEvalCount, last.EvalCount)
	}
}

func TestShowContextLength(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	show, err := srv.Client().Show(ctx, &api.ShowRequest{Model: Tiny})
	if err != nil {
		t.Fatal(err)
	}
	arch, _ := show.ModelInfo["general.architecture"].(string)
	got, _ := show.ModelInfo[arch+".context_length"].(float64)
	if arch == "" || got != TinyContextLength {
		t.Errorf("architecture %q, context length %v; want %d", arch, show.ModelInfo[arch+".context_length"], TinyContextLength)
	}
}

func TestToolsCapability(t *testing.T) {
	ctx := testContext(t, 60*time.Second)
	for _, tc := range []struct {
		model string
		tools bool
	}{{Tiny, false}, {TinyTools, true}} {
		show, err := srv.Client().Show(ctx, &api.ShowRequest{Model: tc.model})
		if err != nil {
			t.Fatal(err)
		}
		if has := slices.Contains(show.Capabilities, model.CapabilityTools); has != tc.tools {
			t.Errorf("%s: capabilities %v; tools wanted %v", tc.model, show.Capabilities, tc.tools)
		}
		stream := false
		err = srv.Client().Chat(ctx, &api.ChatRequest{
			Model:    tc.model,
			Messages: []api.Message{{Role: "user", Content: "What is the weather?"}},
			Tools:    api.Tools{weatherTool()},
			Stream:   &stream,
			Options:  few,
		}, func(api.ChatResponse) error { return nil })
		switch {
		case tc.tools && err != nil:
			t.Errorf("%s: chat with tools: %v", tc.model, err)
		case !tc.tools && (err == nil || !strings.Contains(err.Error(), "does not support tools")):
			t.Errorf("%s: chat with tools: %v; want \"does not support tools\"", tc.model, err)
		}
	}
}

func weatherTool() api.Tool {
	var tool api.Tool
	tool.Type = "function"
	tool.Function.Name = "get_weather"
	tool.Function.Description = "Weather in a city"
	tool.Function.Parameters.Type = "object"
	tool.Function.Parameters.Required = []string{"city"}
	tool.Function.Parameters.Properties = map[string]api.ToolProperty{
		"city": {Type: api.PropertyType{"string"}, Description: "City name"},
	}
	return tool
}

func TestEmbed(t *testing.T) {
	ctx := testContext(t, 60*time.Second)
	resp, err := srv.Client().Embed(ctx, &api.EmbedRequest{Model: Tiny, Input: []string{"first text", "second"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 {
		t.Fatalf("%d vectors, want 2", len(resp.Embeddings))
	}
	for i, v := range resp.Embeddings {
		if len(v) != TinyEmbeddingDim {
			t.Errorf("vector %d has %d dimensions, want %d", i, len(v), TinyEmbeddingDim)
		}
	}
}

func TestCreateModelVariant(t *testing.T) {
	ctx := testContext(t, 60*time.Second)
	const name = "tiny-ctx-1024"
	if err := srv.CreateModel(ctx, name, "FROM "+Tiny+"\nPARAMETER num_ctx 1024\nSYSTEM Be brief.\n"); err != nil {
		t.Fatal(err)
	}
	show, err := srv.Client().Show(ctx, &api.ShowRequest{Model: name})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show.Parameters, "num_ctx") || !strings.Contains(show.Parameters, "1024") {
		t.Errorf("parameters %q lack num_ctx 1024", show.Parameters)
	}
	if show.System != "Be brief." {
		t.Errorf("system %q", show.System)
	}
	stream := false
	err = srv.Client().Generate(ctx, &api.GenerateRequest{Model: name, Prompt: "Hi", Stream: &stream, Options: few},
		func(r api.GenerateResponse) error {
			if !r.Done {
				t.Error("not done")
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateModel(ctx, "broken", "FROM no-such-model\n"); err == nil {
		t.Error("CreateModel FROM a missing model: no error")
	}
}

func TestPullFromRegistry(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	reg, err := StartRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAndCheckGone(t, "registry", reg.proc, reg.Close) })

	start := time.Now()
	name, err := srv.Push(ctx, reg, Tiny)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %s in %s", name, time.Since(start).Round(time.Millisecond))

	checkFrontHeadKeepsLength(t, reg, name)

	empty, err := StartEmpty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAndCheckGone(t, "second ollama", empty.proc, empty.Close) })

	start = time.Now()
	var statuses []string
	layers := map[string]api.ProgressResponse{} // by digest: the last seen
	err = empty.Client().Pull(ctx, &api.PullRequest{Model: name, Insecure: true}, func(p api.ProgressResponse) error {
		if len(statuses) == 0 || statuses[len(statuses)-1] != p.Status {
			statuses = append(statuses, p.Status)
		}
		if p.Digest != "" {
			layers[p.Digest] = p
		}
		return nil
	})
	if err != nil {
		t.Fatalf("pull %s: %v; log:\n%s", name, err, logTail(empty.LogPath))
	}
	t.Logf("pulled in %s: %v", time.Since(start).Round(time.Millisecond), statuses)

	var model api.ProgressResponse // the biggest layer is the GGUF
	for _, p := range layers {
		if p.Total > model.Total {
			model = p
		}
	}
	gguf, err := os.Stat(srv.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	if model.Total != gguf.Size() || model.Completed != model.Total {
		t.Errorf("model layer: completed %d of %d; want all of %d", model.Completed, model.Total, gguf.Size())
	}
	if statuses[0] != "pulling manifest" || statuses[len(statuses)-1] != "success" {
		t.Errorf("statuses %v: want pulling manifest ... success", statuses)
	}

	stream := false
	var reply api.ChatResponse
	err = empty.Client().Chat(ctx, &api.ChatRequest{
		Model: name, Messages: []api.Message{{Role: "user", Content: "Hi"}}, Stream: &stream, Options: few,
	}, func(r api.ChatResponse) error { reply = r; return nil })
	if err != nil || !reply.Done || reply.EvalCount == 0 {
		t.Errorf("chat with the pulled model: %v (done %v, eval_count %d)", err, reply.Done, reply.EvalCount)
	}

	missing := reg.Host + "/library/no-such-model"
	err = empty.Client().Pull(ctx, &api.PullRequest{Model: missing, Insecure: true}, func(api.ProgressResponse) error { return nil })
	// Ollama v0.11.4 says "pull model manifest: file does not exist" (no name).
	if err == nil || !strings.Contains(err.Error(), "manifest") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("pull %s: %v; want an error that its manifest does not exist", missing, err)
	}
}

// checkFrontHeadKeepsLength asks the front for the pushed model's manifest,
// then HEADs its config blob: the front must pass Content-Length through,
// and redirect a GET to localhost.
func checkFrontHeadKeepsLength(t *testing.T, reg *Registry, name string) {
	t.Helper()
	repo := strings.TrimPrefix(name, reg.Host+"/")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.URL.String()+"/v2/"+repo+"/manifests/latest", nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Config struct {
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
		} `json:"config"`
	}
	err = decodeJSON(resp, &manifest)
	if err != nil || manifest.Config.Digest == "" {
		t.Fatalf("manifest of %s: %v %+v", repo, err, manifest)
	}
	blob := reg.URL.String() + "/v2/" + repo + "/blobs/" + manifest.Config.Digest
	head, err := http.Head(blob)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || head.ContentLength != manifest.Config.Size {
		t.Errorf("HEAD %s: %s, Content-Length %d; want 200 and %d", blob, head.Status, head.ContentLength, manifest.Config.Size)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get, err := noFollow.Get(blob)
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	// The redirect goes to the front itself under another host name: it
	// serves blobs there (slowed down when BlobRate is set).
	_, port, _ := strings.Cut(reg.Host, ":")
	if loc := get.Header.Get("Location"); get.StatusCode != http.StatusTemporaryRedirect ||
		!strings.HasPrefix(loc, "http://localhost:"+port+"/v2/"+repo+"/blobs/") {
		t.Errorf("GET %s: %s to %q; want 307 to localhost:%s", blob, get.Status, loc, port)
	}
}

// TestCloseStopsEverything starts a server of its own, loads a model (so a
// runner process exists), and checks that Close leaves no process of its
// group and no temporary directory.
func TestCloseStopsEverything(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	s, err := StartEmpty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateModel(ctx, Tiny, "FROM "+s.GGUF); err != nil {
		s.Close()
		t.Fatal(err)
	}
	stream := false
	err = s.Client().Generate(ctx, &api.GenerateRequest{Model: Tiny, Prompt: "Hi", Stream: &stream, Options: few},
		func(api.GenerateResponse) error { return nil })
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	dir := s.dir
	closeAndCheckGone(t, "ollama", s.proc, s.Close)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s left: %v", dir, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWatchdogStopsOrphans closes the watchdog's lifeline as a dying test
// process would, and checks that the server and its directory go too.
func TestWatchdogStopsOrphans(t *testing.T) {
	ctx := testContext(t, time.Minute)
	s, err := StartEmpty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pid := s.proc.pid()
	s.proc.lifeline.Close()
	select {
	case <-s.proc.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("ollama (pid %d) still running 10s after the watchdog's pipe closed", pid)
	}
	_ = s.proc.watchdog.Wait()
	s.proc.watchdog = nil
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the watchdog left %s: %v", s.dir, err)
	}
}

func closeAndCheckGone(t *testing.T, what string, p *process, closeFn func() error) {
	t.Helper()
	pid := p.pid()
	if err := closeFn(); err != nil {
		t.Errorf("close %s: %v", what, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("%s (pid %d) still there after Close: %v", what, pid, err)
	}
	if groupAlive(pid) {
		t.Errorf("processes of %s's group %d still there after Close", what, pid)
	}
}

func TestBinaryFromEnv(t *testing.T) {
	t.Setenv(EnvOllama, "/nonexistent/ollama")
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), EnvOllama) {
		t.Errorf("Binary with %s pointing nowhere: %v", EnvOllama, err)
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvOllama, bin)
	if got, err := Binary(); err != nil || got != bin {
		t.Errorf("Binary = %q, %v; want %q", got, err, bin)
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		ok         bool
	}{
		{"0.11.4", "0.11.0", true},
		{"v0.11.0", "0.11.0", true},
		{"0.12.1", "0.11.0", true},
		{"1.0.0", "0.11.0", true},
		{"0.10.9", "0.11.0", false},
		{"0.0.0", "0.11.0", false},
		{"0.11.0-rc1", "0.11.0", true},
		{"junk", "0.11.0", false},
	} {
		if got := versionAtLeast(tc.have, tc.want); got != tc.ok {
			t.Errorf("versionAtLeast(%q, %q) = %v", tc.have, tc.want, got)
		}
	}
}

func TestIsBlobPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/v2/library/tiny/blobs/sha256:abc":         true,
		"/v2/a/b/c/blobs/sha256:abc":                true,
		"/v2/library/tiny/blobs/uploads/":           false,
		"/v2/library/tiny/blobs/uploads/" + "x-y-z": false,
		"/v2/library/tiny/manifests/latest":         false,
		"/v2/":                                      false,
		"/v2/blobs/sha256:abc":                      false,
	} {
		if got := isBlobPath(p); got != want {
			t.Errorf("isBlobPath(%q) = %v", p, got)
		}
	}
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
