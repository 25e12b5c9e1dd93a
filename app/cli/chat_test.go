package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/internal/apptest"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// chatHome is a home whose settings suit the tiny test model: its own
// 8-wide embeddings, and no extraction (its gibberish JSON takes seconds
// to generate on a CPU; the agent's tests cover extraction), and short
// replies (its random weights seldom end one).
func chatHome(t *testing.T) string {
	t.Helper()
	home := newHome(t)
	off := false
	if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{EmbeddingModel: ollamatest.Tiny, Extraction: &off, MaxReplyTokens: 32}); err != nil {
		t.Fatal(err)
	}
	return home
}

func withOllama(host string) []string {
	return append([]string{"OLLAMA_HOST=" + host}, withPass...)
}

func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var list []T
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		list = append(list, v)
	}
	return list
}

func TestChatOneShotIsStoredAsStreamed(t *testing.T) {
	home := chatHome(t)
	env := withOllama(ollama.Host)
	r := cairn(t, home, env, "chat", "--model", ollamatest.Tiny, "Tell me about lighthouses.")
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("chat: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	convs := jsonLines[memory.Conversation](t, cairn(t, home, withPass, "conversations", "--json").stdout)
	if len(convs) != 1 || convs[0].Messages != 2 || convs[0].Title != "Tell me about lighthouses." {
		t.Fatalf("conversations: %+v", convs)
	}
	msgs := jsonLines[memory.Message](t, cairn(t, home, withPass, "conversations", "show", convs[0].ID, "--json").stdout)
	if len(msgs) != 2 || msgs[0].Role != memory.RoleUser || msgs[1].Role != memory.RoleAssistant {
		t.Fatalf("messages: %+v", msgs)
	}
	if msgs[1].Content+"\n" != r.stdout {
		t.Fatalf("printed %q, stored %q", r.stdout, msgs[1].Content)
	}
	// Continue it, then rename and delete it.
	r = cairn(t, home, env, "chat", "--model", ollamatest.Tiny, "--conversation", convs[0].ID, "And their keepers?")
	if r.code != 0 {
		t.Fatalf("continue: %s", r.stderr)
	}
	if r := cairn(t, home, withPass, "conversations", "rename", convs[0].ID, "Lighthouses"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	convs = jsonLines[memory.Conversation](t, cairn(t, home, withPass, "conversations", "--json").stdout)
	if convs[0].Title != "Lighthouses" || convs[0].Messages != 4 {
		t.Fatalf("after rename: %+v", convs[0])
	}
	if r := cairn(t, home, withPass, "conversations", "delete", convs[0].ID); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := cairn(t, home, withPass, "conversations", "--json"); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("deleted conversation still listed: %q", r.stdout)
	}
}

func TestChatREPLRegenerates(t *testing.T) {
	home := chatHome(t)
	r := cairnStdin(t, home, withOllama(ollama.Host), "Hello there\n/regen\n/model tiny-tools\nSecond question\n", "chat", "--model", ollamatest.Tiny)
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	convs := jsonLines[memory.Conversation](t, cairn(t, home, withPass, "conversations", "--json").stdout)
	if len(convs) != 1 {
		t.Fatalf("conversations: %+v", convs)
	}
	all := jsonLines[memory.Message](t, cairn(t, home, withPass, "conversations", "show", "--all", convs[0].ID, "--json").stdout)
	if len(all) != 5 {
		t.Fatalf("%d messages, want user, two sibling replies, user, reply", len(all))
	}
	if all[1].ParentID != all[0].ID || all[2].ParentID != all[0].ID {
		t.Fatalf("regenerated reply is not a sibling: %+v", all[:3])
	}
	if all[3].ParentID != all[2].ID || all[4].Model != ollamatest.TinyTools {
		t.Fatalf("the chat did not go on from the regenerated reply with the new model: %+v", all[3:])
	}
}

func TestModelsAndDefault(t *testing.T) {
	home := chatHome(t)
	env := withOllama(ollama.Host)
	type row struct {
		Ref     string `json:"ref"`
		Default bool   `json:"default"`
		NumCtx  int    `json:"num_ctx"`
	}
	rows := jsonLines[row](t, cairn(t, home, env, "models", "--json").stdout)
	names := []string{}
	for _, r := range rows {
		names = append(names, r.Ref)
	}
	if len(rows) != 2 || !strings.Contains(strings.Join(names, " "), "tiny:latest") {
		t.Fatalf("models: %v", names)
	}
	// Two chat models: chat needs to be told which.
	if r := cairn(t, home, env, "chat", "hi"); r.code == 0 || !strings.Contains(r.stderr, "cairn models use") {
		t.Fatalf("chat without a model: %d %q", r.code, r.stderr)
	}
	if r := cairn(t, home, env, "models", "use", ollamatest.Tiny, "--num-ctx", "2048"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	s, err := owner.Home{Dir: home}.LoadSettings()
	if err != nil || s.Model != ollamatest.Tiny || s.NumCtx[ollamatest.Tiny] != 2048 {
		t.Fatalf("settings %+v, %v", s, err)
	}
	fi, _ := os.Stat(owner.Home{Dir: home}.SettingsPath())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("settings.json mode %v", fi.Mode().Perm())
	}
	if r := cairn(t, home, env, "chat", "hi"); r.code != 0 {
		t.Fatalf("chat with the default model: %s", r.stderr)
	}
	if r := cairn(t, home, env, "models", "use", "no-such-model"); r.code == 0 || !strings.Contains(r.stderr, "cairn pull no-such-model") {
		t.Fatalf("use an unknown model: %q", r.stderr)
	}
}

func TestChangingTheEmbeddingModelEmbedsEverything(t *testing.T) {
	home := newHome(t)
	env := withOllama(ollama.Host)
	for _, text := range []string{"Keeps bees", "Sails a dinghy", "Reads Pessoa"} {
		if r := cairn(t, home, withPass, "memory", "add", text); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	ok(t, cairn(t, home, withPass, "import", filepath.Join("..", "..", "memory", "importers", "testdata", "chatgpt_conversations.json")), "import")
	r := cairn(t, home, env, "models", "embedding", ollamatest.TinyTools)
	if m := regexp.MustCompile(`3 of 3 memories and (\d+) of (\d+) past messages embedded with tiny-tools`).FindStringSubmatch(r.stdout); r.code != 0 || !strings.Contains(r.stdout, "100%") ||
		m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("embedding: %q %q", r.stdout, r.stderr)
	}
	// The stored message vectors serve vector search in the next process.
	if r := ok(t, cairn(t, home, env, "conversations", "search", "--mode", "vector", "urban heat islands"), "vector search"); !strings.Contains(r.stdout, "thesis") {
		t.Fatalf("vector search over the imported messages: %q", r.stdout)
	}
	if s, _ := (owner.Home{Dir: home}).LoadSettings(); s.EmbeddingModel != ollamatest.TinyTools {
		t.Fatalf("setting not saved: %+v", s)
	}
	if r := cairn(t, home, env, "models", "embedding", "no-such-embedder"); r.code == 0 || !strings.Contains(r.stderr, "cairn pull no-such-embedder") {
		t.Fatalf("unknown embedding model: %q", r.stderr)
	}
	if s, _ := (owner.Home{Dir: home}).LoadSettings(); s.EmbeddingModel != ollamatest.TinyTools {
		t.Fatalf("a failed change was saved: %+v", s)
	}
}

func TestWithoutOllamaEveryCommandSaysSo(t *testing.T) {
	home := chatHome(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	env := withOllama(dead)
	if r := cairn(t, home, withPass, "memory", "add", "Lives in Lisbon"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	before := readTree(t, home)
	for _, args := range [][]string{
		{"chat", "--model", "tiny", "hello"},
		{"models"},
		{"pull", "tiny"},
		{"models", "use", "tiny"},
	} {
		r := cairn(t, home, env, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "Ollama is not running at") || !strings.Contains(r.stderr, "ollama serve") {
			t.Errorf("cairn %s: code %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	sameTree(t, before, readTree(t, home))
	// Memory still works, by keyword.
	r := cairn(t, home, env, "memory", "search", "Lisbon")
	if r.code != 0 || !strings.Contains(r.stdout, "Lives in Lisbon") {
		t.Fatalf("search without Ollama: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cairn(t, home, env, "doctor")
	if r.code == 0 || !strings.Contains(r.stdout, "not reachable") || !strings.Contains(r.stdout, "keyword only") {
		t.Fatalf("doctor: %q", r.stdout)
	}
}

func TestPullFromALocalRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg, err := ollamatest.StartRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	name, err := ollama.Push(ctx, reg, ollamatest.Tiny)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := ollamatest.StartEmpty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	home := chatHome(t)
	env := withOllama(empty.Host)

	// Slow enough (about 2 s for the 1.7 MB model) that Ollama reports
	// progress on the way.
	reg.BlobRate.Store(1 << 20)
	r := cairn(t, home, env, "pull", "--insecure", "--json", name)
	if r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	gguf, _ := os.Stat(ollama.GGUF)
	var first, last *agent.PullProgress
	steps := jsonLines[agent.PullProgress](t, r.stdout)
	between := 0
	for i, p := range steps {
		if p.Total == gguf.Size() && p.Completed > 0 && p.Completed < p.Total {
			between++
		}
		if p.Total == gguf.Size() {
			if first == nil {
				first = &steps[i]
			}
			if last != nil && p.Completed < last.Completed {
				t.Fatalf("progress went back: %d after %d", p.Completed, last.Completed)
			}
			last = &steps[i]
		}
	}
	if first == nil || first.Completed > gguf.Size()/4 || last.Completed != gguf.Size() {
		t.Fatalf("the model layer's progress should run from 0 to %d: first %+v, last %+v", gguf.Size(), first, last)
	}
	if between == 0 {
		t.Fatal("no progress reported between 0 and the layer's size")
	}
	if steps[len(steps)-1].Status != "success" {
		t.Fatalf("last step %+v", steps[len(steps)-1])
	}
	// The bar a person sees moves from 0% to 100% (a second home and
	// server, so the model is downloaded again).
	again, err := ollamatest.StartEmpty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	r = cairn(t, chatHome(t), withOllama(again.Host), "pull", "--insecure", name)
	if r.code != 0 || !strings.Contains(r.stdout, "  0%") || !strings.Contains(r.stdout, "100% 1.7 MB / 1.7 MB") || !strings.Contains(r.stdout, "is ready") {
		t.Fatalf("pull with the bar: %q %q", r.stdout, r.stderr)
	}
	reg.BlobRate.Store(0)
	if r := cairn(t, home, env, "models"); !strings.Contains(r.stdout, "library/tiny") {
		t.Fatalf("models after pull: %q", r.stdout)
	}
	if r := cairn(t, home, env, "chat", "--model", name, "hello"); r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("chat with the pulled model: %q", r.stderr)
	}
	r = cairn(t, home, env, "pull", "--insecure", reg.Host+"/library/no-such-model")
	if r.code == 0 || !strings.Contains(r.stderr, "no-such-model") || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("pull of a missing model: %q", r.stderr)
	}
}

func TestForgottenMemoriesCanBeRestored(t *testing.T) {
	home := newHome(t)
	ctx := context.Background()
	v, err := memory.Open(ctx, memory.Config{Path: owner.Home{Dir: home}.VaultPath()})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Unlock(ctx, []byte(testPassphrase)); err != nil {
		t.Fatal(err)
	}
	it, _ := v.Add(ctx, memory.NewItem{Text: "Allergic to penicillin"})
	if _, err := v.SoftForget(ctx, it.ID, "asked by the model"); err != nil {
		t.Fatal(err)
	}
	v.Close()
	r := cairn(t, home, withPass, "memory", "forgotten")
	if !strings.Contains(r.stdout, it.ID) || !strings.Contains(r.stdout, "days left") {
		t.Fatalf("forgotten: %q", r.stdout)
	}
	if r := cairn(t, home, withPass, "memory", "restore", it.ID); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := cairn(t, home, withPass, "memory", "search", "penicillin"); !strings.Contains(r.stdout, it.ID) {
		t.Fatalf("restored memory not found: %q", r.stdout)
	}
	if r := cairn(t, home, withPass, "memory", "restore", it.ID); r.code == 0 || !strings.Contains(r.stderr, "cairn memory forgotten") {
		t.Fatalf("restore twice: %q", r.stderr)
	}
}

func TestCtrlCStopsTheReplyAndKeepsWhatArrived(t *testing.T) {
	home := newHome(t)
	off := false
	if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{EmbeddingModel: "off", Extraction: &off, MaxReplyTokens: 400}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "--home", home, "chat", "--model", ollamatest.Tiny, "Write a very long essay.")
	cmd.Env = append(append(cleanEnv(), execMainEnv+"=1"), withOllama(ollama.Host)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the reply to start streaming, then press Ctrl-C.
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(out, buf, 1); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr %q", err, errb.String())
	}
	if !strings.Contains(errb.String(), "stopped") {
		t.Fatalf("stderr %q", errb.String())
	}
	convs := jsonLines[memory.Conversation](t, cairn(t, home, withPass, "conversations", "--json").stdout)
	if len(convs) != 1 {
		t.Fatalf("conversations %+v", convs)
	}
	msgs := jsonLines[memory.Message](t, cairn(t, home, withPass, "conversations", "show", convs[0].ID, "--json").stdout)
	if len(msgs) != 2 || !msgs[1].Incomplete || msgs[1].Content == "" || msgs[1].Stats.OutputTokens >= 400 {
		t.Fatalf("stored reply: %+v", msgs)
	}
}

// TestCtrlCInTheREPLStopsOnlyTheReply presses Ctrl-C during a reply, with
// no owner and through a running `cairn serve` (no passphrase): the part
// that arrived is stored, marked incomplete, and the next message goes on
// in the same conversation (the stream's start event named it).
func TestCtrlCInTheREPLStopsOnlyTheReply(t *testing.T) {
	for _, withOwner := range []bool{false, true} {
		t.Run(map[bool]string{false: "no owner", true: "owner"}[withOwner], func(t *testing.T) {
			home := newHome(t)
			off := false
			if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{EmbeddingModel: "off", Extraction: &off, MaxReplyTokens: 400}); err != nil {
				t.Fatal(err)
			}
			env := withOllama(ollama.Host)
			if withOwner {
				startServe(t, home, env)
				env = []string{"OLLAMA_HOST=" + ollama.Host} // no passphrase
			}
			cmd := exec.Command(os.Args[0], "--home", home, "chat", "--model", ollamatest.Tiny)
			cmd.Env = append(append(cleanEnv(), execMainEnv+"=1"), env...)
			in, _ := cmd.StdinPipe()
			out, _ := cmd.StdoutPipe()
			var errb syncBuffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			io.WriteString(in, "Write a very long essay.\n")
			buf := make([]byte, 64)
			if _, err := io.ReadAtLeast(out, buf, 1); err != nil {
				t.Fatal(err)
			}
			cmd.Process.Signal(os.Interrupt)
			// The chat goes on: wait until the stop is reported (and, with
			// an owner, stored there), then send more.
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(errb.String(), "stopped") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			for withOwner && time.Now().Before(deadline) {
				convs := jsonLines[memory.Conversation](t, cairn(t, home, env, "conversations", "--json").stdout)
				if len(convs) == 1 && convs[0].Messages == 2 {
					break
				}
			}
			io.WriteString(in, "And a second one?\n/quit\n")
			in.Close()
			io.Copy(io.Discard, out)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v; stderr %q", err, errb.String())
			}
			convs := jsonLines[memory.Conversation](t, cairn(t, home, env, "conversations", "--json").stdout)
			if len(convs) != 1 || convs[0].Messages != 4 {
				t.Fatalf("conversations %+v: want the stopped reply and a second turn; stderr %q", convs, errb.String())
			}
			msgs := jsonLines[memory.Message](t, cairn(t, home, env, "conversations", "show", convs[0].ID, "--json").stdout)
			if !msgs[1].Incomplete || msgs[3].Incomplete {
				t.Fatalf("only the first reply should be stopped: %+v", msgs)
			}
			if strings.Contains(errb.String(), "passphrase") {
				t.Fatalf("asked for the passphrase: %q", errb.String())
			}
		})
	}
}

// syncBuffer is a buffer a child process writes while the test reads.
type syncBuffer = apptest.LockedBuffer
