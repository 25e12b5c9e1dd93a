package cli

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

const inNetnsEnv = "CAIRN_TEST_IN_NETNS"

// TestSyncShortCodeBetweenTwoServesOverMDNS: two `cairn serve` processes
// on one loopback pair with the short code alone: the joining one finds
// the inviting one by mDNS, a wrong code is refused first, and afterwards
// each has both vaults' memories (joining keeps what was there). The test
// runs itself again inside a network namespace of its own (unshare -n),
// where loopback may carry multicast without touching the machine's.
// (TestShortCodeFoundByMDNSAcrossVethPair in sync does it across two
// namespaces joined by a veth pair.)
func TestSyncShortCodeBetweenTwoServesOverMDNS(t *testing.T) {
	if os.Getenv(inNetnsEnv) == "" {
		if os.Geteuid() != 0 {
			t.Skip("SKIPPED: needs root for a network namespace (sessions and CI run as root)")
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("SKIPPED: needs util-linux's unshare")
		}
		// Loopback up, with multicast, before the test binary starts (its
		// TestMain starts Ollama on loopback).
		cmd := exec.Command("unshare", "-n", "sh", "-c", `ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"`,
			os.Args[0], "-test.run=^TestSyncShortCodeBetweenTwoServesOverMDNS$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("in a network namespace: %v\n%s", err, out)
		}
		return
	}
	h1, h2 := newHome(t), newHome(t)
	env := withOllama("127.0.0.1:1")
	p2p := []string{"--p2p-listen", "/ip4/127.0.0.1/tcp/0"}
	startServe(t, h1, env, p2p...)
	startServe(t, h2, env, p2p...)
	if r := cairn(t, h1, nil, "memory", "add", "Keeps bees on the roof"); r.code != 0 {
		t.Fatalf("add on the first: %q", r.stderr)
	}
	if r := cairn(t, h2, nil, "memory", "add", "Plays the cello on Sundays"); r.code != 0 {
		t.Fatalf("add on the second: %q", r.stderr)
	}
	r := cairn(t, h1, nil, "sync", "pair")
	m := regexp.MustCompile(`short code is enough: cairn sync join ([0-9A-Z]{4}-[0-9A-Z]{4})`).FindStringSubmatch(r.stderr)
	if r.code != 0 || m == nil {
		t.Fatalf("pair prints no short code: %q %q", r.stdout, r.stderr)
	}
	code := m[1]
	wrong := []byte(code)
	wrong[0] = map[bool]byte{true: '2', false: '3'}[wrong[0] == '3']
	if r := cairn(t, h2, nil, "sync", "join", string(wrong)); r.code == 0 || !strings.Contains(r.stderr, "the short code is wrong") {
		t.Fatalf("a wrong short code: code %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = cairn(t, h2, nil, "sync", "join", strings.ToLower(code))
	if r.code != 0 || !strings.Contains(r.stdout, "Paired") || !strings.Contains(r.stdout, "kept and merged") {
		t.Fatalf("join with the short code %s: %q %q", code, r.stdout, r.stderr)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, h := range []string{h1, h2} {
		for {
			r := cairn(t, h, nil, "memory", "list")
			if strings.Contains(r.stdout, "Keeps bees on the roof") && strings.Contains(r.stdout, "Plays the cello on Sundays") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the vaults did not merge: %s has %q %q", h, r.stdout, r.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
