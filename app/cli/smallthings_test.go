package cli

import (
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/owner"
)

// TestVersionFlag: `cairn --version` answers as `cairn version` does.
func TestVersionFlag(t *testing.T) {
	flag := cairn(t, t.TempDir(), nil, "--version")
	cmd := cairn(t, t.TempDir(), nil, "version")
	first, _, _ := strings.Cut(cmd.stdout, "\n")
	if flag.code != 0 || !strings.HasPrefix(flag.stdout, "cairn ") || !strings.Contains(first, strings.TrimSpace(strings.TrimPrefix(flag.stdout, "cairn "))) {
		t.Fatalf("--version %+v, version %+v", flag, cmd)
	}
}

// TestModelsHeadedAndDefaultWithoutTag: the list has a header, and a
// default set as "tiny" marks "tiny:latest" (Ollama's name for it).
func TestModelsHeadedAndDefaultWithoutTag(t *testing.T) {
	home := chatHome(t)
	env := withOllama(ollama.Host)
	ok(t, cairn(t, home, env, "models", "use", ollamatest.Tiny), "models use")
	r := ok(t, cairn(t, home, env, "models"), "models")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if !strings.Contains(lines[0], "MODEL") || !strings.Contains(lines[0], "SIZE") {
		t.Fatalf("no header: %q", r.stdout)
	}
	marked := false
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "* "+ollamatest.Tiny+":latest") {
			marked = true
		}
	}
	if !marked {
		t.Fatalf("the default is not marked: %q", r.stdout)
	}
}

func TestCountOf(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{{1, "memory", "1 memory"}, {2, "memory", "2 memories"}, {0, "model", "0 models"}, {1, "model", "1 model"}, {3, "feedback", "3 feedback"}} {
		if got := countOf(c.n, c.noun); got != c.want {
			t.Errorf("countOf(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}

// TestShortIDsInHumanOutput: the conversation list shows short ids, and
// show, rename, delete and gym feedback take them (unique prefixes);
// `conversations show` prints each message's short id.
func TestShortIDsInHumanOutput(t *testing.T) {
	home := chatHome(t)
	env := withOllama(ollama.Host)
	ok(t, cairn(t, home, env, "chat", "--model", ollamatest.Tiny, "Hello"), "chat")
	list := ok(t, cairn(t, home, withPass, "conversations"), "conversations").stdout
	short := strings.Fields(list)[0]
	if len(short) != 18 {
		t.Fatalf("not a short id: %q", list)
	}
	shown := ok(t, cairn(t, home, withPass, "conversations", "show", short), "show by short id").stdout
	// "assistant  [0193…]:" gives the reply's short id.
	reply := between(shown, "assistant  [", "]")
	if len(reply) != 18 {
		t.Fatalf("no short message id in %q", shown)
	}
	ok(t, cairn(t, home, withPass, "gym", "feedback", "--up", reply), "feedback by short id")
	ok(t, cairn(t, home, withPass, "conversations", "rename", short[:12], "Greetings"), "rename by prefix")
	if r := cairn(t, home, withPass, "conversations", "show", "ffff"); r.code == 0 || !strings.Contains(r.stderr, "no conversation has an id starting with") {
		t.Fatalf("unknown prefix: %+v", r)
	}
	ok(t, cairn(t, home, withPass, "conversations", "delete", short), "delete by short id")
}

// TestChatWithTheEmbeddingModelMissingPrintsNoWarning: with the default
// embedding model not pulled (search is by keyword until it is), a chat
// prints the reply and no WARN line, each time.
func TestChatWithTheEmbeddingModelMissingPrintsNoWarning(t *testing.T) {
	home := newHome(t)
	off := false
	if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{EmbeddingModel: "nomic-embed-text", Extraction: &off, MaxReplyTokens: 16}); err != nil {
		t.Fatal(err)
	}
	env := withOllama(ollama.Host)
	ok(t, cairn(t, home, env, "memory", "add", "Lives by the sea"), "memory add")
	for i := range 2 {
		r := cairn(t, home, env, "chat", "--model", ollamatest.Tiny, "Where do I live?")
		if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Fatalf("chat %d: code %d, %q %q", i+1, r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "WARN") || strings.Contains(r.stderr, "nomic-embed-text") {
			t.Fatalf("chat %d warned about the missing embedding model: %q", i+1, r.stderr)
		}
	}
}
