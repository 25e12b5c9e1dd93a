package cli

import (
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/owner"
)

// With no `cairn serve` on the laptop, `cairn models` lists desk's models
// and `cairn chat -m desk/tiny` chats through desk: the command reaches the
// other devices itself for its duration (owner.Env.ReachDevices), and the
// reply is stored on the laptop.
func TestDeviceModelsWithNoOwner(t *testing.T) {
	desk, laptop := newHome(t), newHome(t)
	off := false
	for _, h := range []string{desk, laptop} {
		if err := (owner.Home{Dir: h}).SaveSettings(owner.Settings{EmbeddingModel: "off", Extraction: &off, MaxReplyTokens: 16}); err != nil {
			t.Fatal(err)
		}
	}
	p2p := []string{"--p2p-listen", "/ip4/127.0.0.1/tcp/0"}
	startServe(t, desk, withOllama(ollama.URL.Host), append(p2p, "--device-name", "desk")...)
	if r := cairn(t, desk, nil, "models", "share", "on"); r.code != 0 {
		t.Fatalf("share on: %q %q", r.stdout, r.stderr)
	}
	code := strings.TrimSpace(cairn(t, desk, nil, "sync", "pair").stdout)
	// Paired while the laptop's owner ran (pairing needs one); then it stops.
	_, laptopCmd, _ := startServe(t, laptop, withOllama("127.0.0.1:1"), append(p2p, "--device-name", "laptop")...)
	if r := cairn(t, laptop, nil, "sync", "join", code); r.code != 0 {
		t.Fatalf("join: %q %q", r.stdout, r.stderr)
	}
	laptopCmd.Process.Signal(syscall.SIGTERM)
	exited, _ := serveExited.Load(laptopCmd)
	<-exited.(<-chan struct{})

	env := append(withOllama("127.0.0.1:1"), withPass...)
	model := "desk/" + ollamatest.Tiny
	if r := cairn(t, laptop, env, append([]string{"models"}, p2p...)...); !strings.Contains(r.stdout, model) || !strings.Contains(r.stdout, "on your device desk, online") {
		t.Fatalf("cairn models with no owner on the laptop: %q %q", r.stdout, r.stderr)
	}
	r := cairn(t, laptop, env, append([]string{"chat", "-m", model, "hello from a laptop with no owner"}, p2p...)...)
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("cairn chat -m %s with no owner: %d %q %q", model, r.code, r.stdout, r.stderr)
	}
	if convs := cairn(t, laptop, env, "conversations"); !strings.Contains(convs.stdout, "hello from a laptop") {
		t.Fatalf("the chat was not stored on the laptop: %q %q", convs.stdout, convs.stderr)
	}
}
