package cli

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// TestChatSaysItIsLearningAndCtrlCSkipsIt: a one-shot chat with extraction
// on prints its reply, then says it is learning from the turn (the tiny
// model's JSON takes long); Ctrl-C then ends the command at once, and the
// conversation is stored.
func TestChatSaysItIsLearningAndCtrlCSkipsIt(t *testing.T) {
	home := newHome(t)
	on := true
	if err := (owner.Home{Dir: home}).SaveSettings(owner.Settings{EmbeddingModel: "off", Extraction: &on, MaxReplyTokens: 16}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "--home", home, "chat", "--model", ollamatest.Tiny, "I live in Lisbon and I keep bees.")
	cmd.Env = append(append(cleanEnv(), execMainEnv+"=1"), withOllama(ollama.Host)...)
	var outb, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &outb, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait for the note (or the end, if extraction was quick).
	var ended bool
	var exitErr error
	for deadline := time.Now().Add(2 * time.Minute); !ended && !strings.Contains(errb.String(), "Ctrl-C skips it") && time.Now().Before(deadline); {
		select {
		case exitErr = <-exited:
			ended = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.Contains(errb.String(), "Learning from this conversation") {
		t.Fatalf("no note about the wait; stdout %q, stderr %q", outb.String(), errb.String())
	}
	if strings.TrimSpace(outb.String()) == "" {
		t.Fatalf("the reply was not printed before the wait; stderr %q", errb.String())
	}
	if !ended {
		cmd.Process.Signal(os.Interrupt)
		select {
		case exitErr = <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("Ctrl-C did not end the wait; stderr %q", errb.String())
		}
		if !strings.Contains(errb.String(), "skipped: nothing was learnt from the last turn") {
			t.Fatalf("the skip is not reported: %q", errb.String())
		}
	}
	if exitErr != nil {
		t.Fatalf("exit: %v; stderr %q", exitErr, errb.String())
	}
	convs := jsonLines[memory.Conversation](t, cairn(t, home, withPass, "conversations", "--json").stdout)
	if len(convs) != 1 || convs[0].Messages != 2 {
		t.Fatalf("the conversation is not stored whole: %+v", convs)
	}
}

// TestChatWithoutExtractionDoesNotWait: with nothing to learn, no note.
func TestChatWithoutExtractionDoesNotWait(t *testing.T) {
	home := chatHome(t)
	r := cairn(t, home, withOllama(ollama.Host), "chat", "--model", ollamatest.Tiny, "Hello")
	if r.code != 0 || strings.Contains(r.stderr, "Learning from") {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
}
