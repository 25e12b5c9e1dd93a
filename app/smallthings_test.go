package app

import (
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
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
