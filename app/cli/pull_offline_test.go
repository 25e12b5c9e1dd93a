package cli

import (
	"net"
	"strings"
	"testing"
)

// TestPullWithNoRegistrySaysSo: Ollama runs but cannot reach the registry
// (a loopback port nobody listens on stands in for being offline): the
// error says there is no connection to the registry, not that Ollama is
// down or that the name is wrong.
func TestPullWithNoRegistrySaysSo(t *testing.T) {
	home := chatHome(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	r := cairn(t, home, withOllama(ollama.Host), "pull", "--insecure", closed+"/library/tiny")
	if r.code == 0 || !strings.Contains(r.stderr, "no connection to the model registry") || !strings.Contains(r.stderr, "internet connection") {
		t.Fatalf("pull with no registry: code %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "Ollama is not running") || strings.Contains(r.stderr, "check the name") {
		t.Fatalf("the wrong cause: %q", r.stderr)
	}
}
