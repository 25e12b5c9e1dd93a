package cli

import (
	"strings"
	"testing"
	"time"
)

func TestSyncCommandsSayWhenNoOwnerRuns(t *testing.T) {
	home := newHome(t)
	r := cairn(t, home, nil, "sync", "status")
	if r.code == 0 || !strings.Contains(r.stderr, "cairn serve") {
		t.Fatalf("sync status without an owner: code %d, %q", r.code, r.stderr)
	}
	if r := cairn(t, home, nil, "sync", "join", "not-a-code"); r.code != exitUsage {
		t.Fatalf("join with garbage: code %d, %q", r.code, r.stderr)
	}
}

// Two homes, each with its own `cairn serve`, pair through the CLI and
// sync a memory; removing the second rotates the key.
func TestSyncPairJoinAndRemoveThroughTheCLI(t *testing.T) {
	h1, h2 := newHome(t), newHome(t)
	env := withOllama("127.0.0.1:1")
	p2p := []string{"--p2p-listen", "/ip4/127.0.0.1/tcp/0"}
	startServe(t, h1, env, p2p...)
	startServe(t, h2, env, p2p...)
	if r := cairn(t, h1, nil, "sync", "status"); r.code != 0 || !strings.Contains(r.stdout, "off") {
		t.Fatalf("status before pairing: %q %q", r.stdout, r.stderr)
	}
	r := cairn(t, h1, nil, "sync", "pair", "--qr")
	code := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(code, "CAIRN1-") {
		t.Fatalf("pair: %q %q", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "█") {
		t.Fatalf("pair --qr drew no QR code: %q", r.stderr)
	}
	if r := cairn(t, h2, nil, "sync", "join", code); r.code != 0 || !strings.Contains(r.stdout, "Paired") {
		t.Fatalf("join: %q %q", r.stdout, r.stderr)
	}
	if r := cairn(t, h1, nil, "memory", "add", "Keeps bees on the roof"); r.code != 0 {
		t.Fatalf("add: %q", r.stderr)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := cairn(t, h2, nil, "memory", "list")
		if strings.Contains(r.stdout, "Keeps bees on the roof") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the memory did not reach the second device: %q %q", r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	devs := cairn(t, h1, nil, "sync", "devices")
	lines := strings.Split(strings.TrimSpace(devs.stdout), "\n")
	if devs.code != 0 || len(lines) != 2 {
		t.Fatalf("devices: %q %q", devs.stdout, devs.stderr)
	}
	var other string
	for _, l := range lines {
		if !strings.Contains(l, "this device") {
			for _, f := range strings.Fields(l) {
				if strings.HasPrefix(f, "12D3") {
					other = f
				}
			}
		}
	}
	if r := cairn(t, h1, nil, "sync", "remove", other); r.code != 0 || !strings.Contains(r.stdout, "key epoch 2") {
		t.Fatalf("remove %s: %q %q", other, r.stdout, r.stderr)
	}
	if r := cairn(t, h1, nil, "sync", "devices"); strings.Contains(r.stdout, other) {
		t.Fatalf("the removed device is still listed: %q", r.stdout)
	}
}
