package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/memory"
)

// TestChatBothWays runs `cairn chat`, one-shot and the conversation, with
// no owner and through a running `cairn serve` (no passphrase asked), on
// the real Ollama: the notes, the mistakes, the exit codes and what is
// stored are the same. The tiny model's words are random, so a reply
// counts as its lines.
func TestChatBothWays(t *testing.T) {
	direct := chatHome(t)
	env := withOllama(ollama.Host)
	if r := cairn(t, direct, env, "chat", "--model", ollamatest.Tiny, "Tell me about lighthouses."); r.code != 0 {
		t.Fatalf("chat: %d %s", r.code, r.stderr)
	}
	convs := jsonLines[memory.Conversation](t, cairn(t, direct, env, "conversations", "--json").stdout)
	if len(convs) != 1 {
		t.Fatalf("want 1 conversation, got %+v", convs)
	}
	first := convs[0].ID
	const missing = "0190aaaa-0000-7000-8000-000000000000"
	chat := func(args ...string) []string { return append([]string{"chat", "--model", ollamatest.Tiny}, args...) }
	reply := func(stdout string) string {
		if strings.TrimSpace(stdout) == "" {
			return "NO REPLY"
		}
		return "REPLY"
	}
	runStepsBothWays(t, direct, env, map[string]bool{first: true}, []bothWaysStep{
		{args: chat("What is a cairn?"), blank: reply},
		{args: chat("--conversation", first, "And a second lighthouse?"), blank: reply},
		{args: chat("--conversation", first[:13], "By a prefix of its id"), blank: reply},
		{args: chat("-"), stdin: "Read from standard input", blank: reply},
		{args: chat(), stdin: "First line\n/help\n/model\n/regen\n/new\n/regen\n/nonsense\nAnother one\n/quit\n", blank: reply},
		{args: chat("--conversation", missing, "hello")},
		{args: chat("--conversation", missing)},
		{args: chat("")},
		{args: chat("   ")},
		{args: chat("ok \xc3\x28")},
		{args: []string{"chat", "--model", "no-such-model", "hello"}},
		{args: chat("one", "two")},
		{args: []string{"conversations", "--json"}},
		{args: []string{"conversations", "show", first, "--json"}, blank: contents},
	})
}

// contents blanks what a model wrote and timed in JSON lines of messages:
// the words and the token counts and times, and which past messages a
// reply recalled: an owner embeds past messages in the background between
// commands and a one-shot command does not wait for it, so the owner's
// later turns may recall by meaning what the direct ones find by keywords
// alone.
func contents(stdout string) string {
	stdout = contentPattern.ReplaceAllString(stdout, `"content":"WORDS"`)
	stdout = recalledPattern.ReplaceAllString(stdout, "")
	return statsPattern.ReplaceAllString(stdout, `"stats":{}`)
}

var (
	contentPattern  = regexp.MustCompile(`"content":"(?:[^"\\]|\\.)*"`)
	statsPattern    = regexp.MustCompile(`"stats":\{[^}]*\}`)
	recalledPattern = regexp.MustCompile(`"recalled_ids":\[[^\]]*\],`)
)
