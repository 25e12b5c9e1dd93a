package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/owner"
)

// egressInner marks the copy of the test binary that runs inside the
// network namespace.
const egressInner = "CAIRN_TEST_EGRESS_INNER"

// The namespace has loopback and a veth pair whose one end holds the
// default route, with a fixed neighbour for the gateway: anything sent
// anywhere but loopback leaves through it at once, where the capture sees
// it (without a route a send fails before reaching any interface, and
// without the neighbour it would wait on ARP, so nothing could be seen).
const egressNetns = `set -e
ip link set lo up
ip link add egress0 type veth peer name egress1
ip addr add 198.51.100.1/24 dev egress0
ip link set egress1 up
ip link set egress0 up
ip neigh replace 198.51.100.254 lladdr 02:00:00:00:00:fe dev egress0 nud permanent
ip route add default via 198.51.100.254 dev egress0
ip -6 addr add 2001:db8::1/64 dev egress0 nodad 2>/dev/null || true
ip -6 neigh replace 2001:db8::fe lladdr 02:00:00:00:00:fe dev egress0 nud permanent 2>/dev/null || true
ip -6 route add default via 2001:db8::fe dev egress0 2>/dev/null || true
exec "$@"`

// TestEgressNothingLeaves runs a whole session of use (serve, chat with
// the real tiny model, regenerate, feedback, memories, the gym review with
// no gym) in a fresh network namespace with every packet captured, and
// checks that nothing went anywhere but to Ollama on loopback (and the
// test's own calls to the local API). With no gym added and sync not
// paired, nothing may leave: TCP, UDP or multicast.
func TestEgressNothingLeaves(t *testing.T) {
	if os.Getenv(egressInner) == "" {
		if os.Getuid() != 0 {
			t.Skip("needs root for a network namespace (unshare -n); CI and sessions run as root")
		}
		for _, tool := range []string{"unshare", "ip", "tcpdump"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("%s is needed (make deps-apt-test installs it): %v", tool, err)
			}
		}
		cmd := exec.Command("unshare", "-n", "--", "sh", "-c", egressNetns, "sh", os.Args[0], "-test.run=^TestEgressNothingLeaves$", "-test.v", "-test.count=1", "-test.timeout=5m")
		cmd.Env = append(os.Environ(), egressInner+"=1")
		// A file, not a pipe: a child that outlives the run (Ollama's
		// watchdog) must not hold the test up.
		f, err := os.Create(filepath.Join(t.TempDir(), "inner.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = f, f
		err = cmd.Run()
		f.Close()
		out, _ := os.ReadFile(f.Name())
		if err != nil {
			t.Fatalf("the run in a network namespace failed: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestEgressNothingLeaves") {
			t.Fatalf("the run in a network namespace did not pass:\n%s", out)
		}
		t.Logf("inside the namespace:\n%s", lastLines(string(out), 8))
		return
	}
	egressSession(t)
}

func egressSession(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "egress.pcap")
	capture := exec.Command("tcpdump", "-i", "any", "-n", "-U", "-w", pcap)
	var capErr syncBuffer
	capture.Stderr = &capErr
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	captureDone := make(chan struct{})
	go func() { capture.Wait(); close(captureDone) }()
	defer capture.Process.Kill()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(capErr.String(), "listening on"); {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", capErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	home := chatHome(t)
	env := withOllama(ollama.Host)
	apiURL, serve, serveErr := startServe(t, home, env)
	token, err := os.ReadFile(api.DefaultTokenPath(home))
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path, body string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, apiURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	call := func(method, path, body string) map[string]any {
		t.Helper()
		resp, b := send(method, path, body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s %s\n%s", method, path, resp.Status, b, serveErr.String())
		}
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	// A session of use: chat, regenerate, feedback, memories, the gym
	// page with no gym.
	ports := map[string]bool{}
	turn := call("POST", "/api/v1/chat", `{"text": "Hello, I live in Lisbon and my name is Anna.", "model": "`+ollamatest.Tiny+`"}`)
	reply := turn["reply"].(map[string]any)["id"].(string)
	again := call("POST", "/api/v1/messages/"+reply+"/regenerate", `{"model": "`+ollamatest.Tiny+`"}`)
	other := again["reply"].(map[string]any)["id"].(string)
	ollamaRunnerPorts(ports)
	call("POST", "/api/v1/messages/"+reply+"/feedback", `{"rating": -1, "comment": "too short", "correction": "Hello Anna!"}`)
	call("POST", "/api/v1/messages/"+other+"/feedback", `{"rating": 1, "preferred": true}`)
	call("POST", "/api/v1/memories", `{"text": "Anna lives in Lisbon"}`)
	call("GET", "/api/v1/memories?q="+url.QueryEscape("where does Anna live"), "")
	if gyms := call("GET", "/api/v1/gym/gyms", ""); len(gyms["gyms"].([]any)) != 0 {
		t.Fatalf("gyms without adding one: %v", gyms)
	}
	if r := cairn(t, home, env, "gym", "send"); r.code != 0 || !strings.Contains(r.stderr, "0 delivered") {
		t.Fatalf("gym send with nothing approved: %+v", r)
	}
	if r := cairn(t, home, env, "gym", "dataset", "--format", "dpo", "--out", filepath.Join(t.TempDir(), "d.jsonl")); r.code != 0 {
		t.Fatalf("dataset: %+v", r)
	}
	// The log and task commands name a gym; with none added they stop
	// before any address is known.
	for _, args := range [][]string{{"gym", "verify", "some-gym"}, {"gym", "tasks", "some-gym", "--json"}, {"gym", "witness", "some-gym", "--key", filepath.Join(t.TempDir(), "w.key"), "--name", "w.example/me"}} {
		if r := cairn(t, home, env, args...); r.code == 0 || !strings.Contains(r.stderr, "no such gym") {
			t.Fatalf("%v with no gym: %+v", args, r)
		}
	}
	// So do the Tasks view's routes.
	for _, path := range []string{"/api/v1/gym/gyms/some-gym/tasks", "/api/v1/gym/gyms/some-gym/tasks/review"} {
		if resp, b := send("POST", path, `{"set": "s", "results": [{"task": "t", "answer": "a"}]}`); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("POST %s with no gym: %s %s", path, resp.Status, b)
		}
	}
	// Whatever would run in the background has a moment to show itself.
	time.Sleep(3 * time.Second)

	// The control: packets the capture must see, one out of the dummy
	// interface and one on loopback, so a blind capture fails the test.
	sink, err := net.ListenPacket("udp", "127.0.0.1:9") // no port-unreachable reply
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, addr := range []string{"203.0.113.7:9", "127.0.0.1:9"} {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("egress control"))
		c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); readPcap(t, pcap, "udp port 9") < 2 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	// Stop serve (startServe's own goroutine waits for it): it is gone
	// when it has released the home.
	serve.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := (owner.Home{Dir: home}).RunningOwner(); err != nil {
			break
		}
	}
	capture.Process.Signal(syscall.SIGINT)
	<-captureDone

	ollamaRunnerPorts(ports)
	_, ollamaPort, _ := net.SplitHostPort(ollama.Host)
	u, _ := url.Parse(apiURL)
	// Allowed: loopback TCP to Ollama (and between Ollama and the model
	// runner it starts), and the test's own calls to the API.
	tcpPorts := []string{"tcp port " + ollamaPort, "tcp port " + u.Port()}
	for p := range ports {
		tcpPorts = append(tcpPorts, "tcp port "+p)
	}
	allowed := fmt.Sprintf("(src host 127.0.0.1 and dst host 127.0.0.1 and (%s))", strings.Join(tcpPorts, " or "))
	if n := readPcap(t, pcap, "udp port 9"); n < 2 {
		t.Fatalf("the capture missed the control packets (%d of 2): it cannot be trusted; tcpdump said %s; it saw:\n%s", n, capErr.String(), lastLines(readPcapLines(t, pcap, ""), 20))
	}
	if n := readPcap(t, pcap, allowed); n == 0 {
		t.Fatal("the capture saw no traffic to Ollama or the API: it cannot be trusted")
	}
	// ICMPv6 on the veth (directly or after a hop-by-hop header) is the
	// kernel's own link housekeeping: neighbour discovery, multicast
	// listener reports, router solicitations. No program sends it without
	// raw sockets.
	if out := readPcapLines(t, pcap, "not "+allowed+" and not udp port 9 and not (ip6 and (icmp6 or ip6[6] == 0))"); out != "" {
		t.Fatalf("packets went somewhere other than Ollama on loopback:\n%s", out)
	}
}

func readPcapLines(t *testing.T, pcap, filter string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("tcpdump", "-r", pcap, "-n", filter)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tcpdump -r %q: %v: %s", filter, err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

func readPcap(t *testing.T, pcap, filter string) int {
	out := readPcapLines(t, pcap, filter)
	if out == "" {
		return 0
	}
	return strings.Count(out, "\n") + 1
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// ollamaRunnerPorts adds the loopback ports of the model runners Ollama
// started (ollama runner ... --port N) to ports.
func ollamaRunnerPorts(ports map[string]bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) < 2 || !strings.HasSuffix(args[0], "ollama") || args[1] != "runner" {
			continue
		}
		for i, a := range args {
			if a == "--port" && i+1 < len(args) {
				ports[args[i+1]] = true
			}
		}
	}
}
