package sync

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/ollama/ollama/api"

	"github.com/cairnlabs/cairn/memory"
)

// The tests here run a node in a process of its own inside a network
// namespace: to see every socket it opens, and to put two nodes on two
// machines' worth of network joined by a veth pair. They need root (as
// sessions and CI have); without it they skip and say so.

const helperEnv = "CAIRN_SYNC_HELPER"

// TestHelperNode is not a test: it is the node process the namespace tests
// start. It reads commands on stdin ("enable", "pair", "join CODE",
// "members", "quit") and reports on stdout.
func TestHelperNode(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process for the namespace tests")
	}
	ctx := context.Background()
	dir := t.TempDir()
	v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(dir, "vault.db"), KDF: testKDF}, []byte("correct horse battery"))
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	defer v.Close()
	cfg := Config{Dir: filepath.Join(dir, "sync"), Store: v, Keys: v, Name: "helper",
		Listen: []string{"/ip4/0.0.0.0/tcp/0"}, Events: func(e Event) {
			if e.Type == "sync.discovered" {
				fmt.Println("FOUND", e.Peer)
			}
		}}
	n, err := New(ctx, cfg)
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	defer n.Close()
	fmt.Println("ID", n.ID())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "enable":
			if err := n.Enable(); err != nil {
				fmt.Println("ERROR", err)
			}
			fmt.Println("ENABLED")
		case "pair":
			if c, err := n.Pair(ctx); err != nil {
				fmt.Println("ERROR", err)
			} else {
				fmt.Println("SHORT", c.Short)
			}
		case "members":
			fmt.Println("MEMBERS", len(n.Members()))
		case "share":
			// This namespace's own Ollama, on its own loopback.
			n.ShareModels(realOllama(t).URL)
			fmt.Println("SHARED")
		case "quit":
			return
		default:
			if id, ok := strings.CutPrefix(in.Text(), "chat "); ok {
				fmt.Println(helperChat(ctx, n, id))
				continue
			}
			if code, ok := strings.CutPrefix(in.Text(), "join "); ok {
				if err := n.Join(ctx, code); err != nil {
					fmt.Println("JOINERR", err)
				} else {
					fmt.Println("JOINED")
				}
			}
		}
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root for network namespaces (sessions and CI run as root); run as root to check this")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("SKIPPED: needs iproute2's ip (apt-get install iproute2)")
	}
}

type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	seen  []string
	id    string
}

func startHelper(t *testing.T, prefix ...string) *helper {
	t.Helper()
	args := append(prefix, os.Args[0], "-test.run=^TestHelperNode$", "-test.v=false")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		io.WriteString(stdin, "quit\n")
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	h.id = strings.TrimPrefix(h.expect(t, "ID "), "ID ")
	return h
}

func (h *helper) expect(t *testing.T, prefix string) string {
	t.Helper()
	for _, l := range h.seen {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, "ERROR") {
				t.Fatalf("helper: %s", l)
			}
			h.seen = append(h.seen, l)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("helper did not print %q within a minute", prefix)
		}
	}
}

// sockets lists the sockets open in pid's network namespace (which only
// it uses), as "tcp LISTEN :port" and "udp :port".
func sockets(t *testing.T, pid int) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			fs := strings.Fields(line)
			local := fs[1][strings.LastIndex(fs[1], ":")+1:]
			var port int
			fmt.Sscanf(local, "%X", &port)
			kind := f[:3]
			if kind == "tcp" && fs[3] == "0A" {
				kind += " LISTEN"
			}
			out = append(out, fmt.Sprintf("%s :%d", kind, port))
		}
	}
	return out
}

func TestNoListenerNoMulticastBeforePairing(t *testing.T) {
	needRoot(t)
	// A namespace of its own, with an interface mDNS would use.
	h := startHelper(t, "unshare", "-n", "sh", "-c", "ip link add d0 type veth peer name d1 && ip addr add 10.99.0.1/24 dev d0 && ip link set d1 up && ip link set d0 up multicast on && ip link set lo up && exec \"$0\" \"$@\"")
	// The node is up and idle; give it a moment to do whatever it would do.
	time.Sleep(time.Second)
	if s := sockets(t, h.cmd.Process.Pid); len(s) != 0 {
		t.Fatalf("an unpaired device opened sockets: %v (it must listen on nothing and send no multicast)", s)
	}
	// The same check sees the listener and mDNS socket once sync is on.
	io.WriteString(h.stdin, "enable\n")
	h.expect(t, "ENABLED")
	s := strings.Join(sockets(t, h.cmd.Process.Pid), ", ")
	if !strings.Contains(s, "tcp LISTEN") || !strings.Contains(s, "udp :5353") {
		t.Fatalf("with sync on, sockets are %q: want a TCP listener and mDNS on udp 5353", s)
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// vethPair makes two network namespaces joined by a veth pair, with
// multicast (mDNS) on, and starts a helper node in each.
func vethPair(t *testing.T) (a, b *helper) {
	t.Helper()
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	nsA, nsB := "cairnA"+tag, "cairnB"+tag
	run(t, "ip", "netns", "add", nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	run(t, "ip", "netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	run(t, "ip", "link", "add", "vA"+tag, "netns", nsA, "type", "veth", "peer", "name", "vB"+tag, "netns", nsB)
	for i, ns := range []string{nsA, nsB} {
		dev := []string{"vA", "vB"}[i] + tag
		run(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("10.88.0.%d/24", i+1), "dev", dev)
		run(t, "ip", "-n", ns, "link", "set", dev, "up", "multicast", "on")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
	}
	return startHelper(t, "ip", "netns", "exec", nsA), startHelper(t, "ip", "netns", "exec", nsB)
}

func TestMDNSFindsPeerAcrossVethPair(t *testing.T) {
	needRoot(t)
	a, b := vethPair(t)
	for _, h := range []*helper{a, b} {
		io.WriteString(h.stdin, "enable\n")
		h.expect(t, "ENABLED")
	}
	a.expect(t, "FOUND "+b.id)
	b.expect(t, "FOUND "+a.id)
}

// TestShortCodeFoundByMDNSAcrossVethPair is two machines on one LAN: the
// joining one is given only the short code (no address) and finds the
// inviting one by mDNS. A wrong code first fails cleanly.
func TestShortCodeFoundByMDNSAcrossVethPair(t *testing.T) {
	needRoot(t)
	a, b := vethPair(t)
	io.WriteString(a.stdin, "pair\n")
	code := strings.TrimPrefix(a.expect(t, "SHORT "), "SHORT ")
	wrong := []byte(code)
	wrong[7] = shortAlphabet[(strings.IndexByte(shortAlphabet, wrong[7])+1)%len(shortAlphabet)]
	io.WriteString(b.stdin, "join "+string(wrong)+"\n")
	if l := b.expect(t, "JOIN"); !strings.Contains(l, ErrWrongShortCode.Error()) {
		t.Fatalf("a wrong short code over mDNS: %q, want %q", l, ErrWrongShortCode)
	}
	io.WriteString(b.stdin, "join "+FormatShortCode(strings.ToLower(code))+"\n")
	b.seen = nil
	if l := b.expect(t, "JOIN"); l != "JOINED" {
		t.Fatalf("the right short code over mDNS: %q", l)
	}
	io.WriteString(a.stdin, "members\n")
	if l := a.expect(t, "MEMBERS"); l != "MEMBERS 2" {
		t.Fatalf("the inviting device after the join: %q", l)
	}
}

// helperChat chats with the tiny model of device id through its infer
// protocol and says how it went: "CHAT n bytes" or "CHAT failed: why".
func helperChat(ctx context.Context, n *Node, id string) string {
	p, err := peer.Decode(id)
	if err != nil {
		return "CHAT failed: " + err.Error()
	}
	c := api.NewClient(&url.URL{Scheme: "http", Host: "device.invalid"}, &http.Client{Transport: n.InferTransport(p)})
	var reply strings.Builder
	if err := c.Chat(ctx, chatReq("hello across the LAN", 8), func(r api.ChatResponse) error {
		reply.WriteString(r.Message.Content)
		return nil
	}); err != nil {
		return "CHAT failed: " + err.Error()
	}
	return fmt.Sprintf("CHAT %d bytes", reply.Len())
}

// Two machines on one LAN, paired with the short code alone (the joining
// one finds the other by mDNS, no address given): the joining one chats
// with the other's model, whose Ollama listens on that machine's own
// loopback only.
func TestDeviceModelAcrossVethPairFoundByMDNS(t *testing.T) {
	needRoot(t)
	a, b := vethPair(t)
	io.WriteString(a.stdin, "pair\n")
	code := strings.TrimPrefix(a.expect(t, "SHORT "), "SHORT ")
	io.WriteString(b.stdin, "join "+code+"\n")
	if l := b.expect(t, "JOIN"); l != "JOINED" {
		t.Fatalf("the short code over mDNS: %q", l)
	}
	io.WriteString(a.stdin, "share\n")
	a.expect(t, "SHARED")
	io.WriteString(b.stdin, "chat "+a.id+"\n")
	if l := b.expect(t, "CHAT "); l == "CHAT 0 bytes" || strings.HasPrefix(l, "CHAT failed") {
		t.Fatalf("a chat with the other machine's model: %q", l)
	}
}
