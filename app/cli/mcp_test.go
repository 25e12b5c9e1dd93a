package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPOverStdio runs `cairn mcp` as an MCP client would launch it and
// talks to it with the SDK's own client.
func TestMCPOverStdio(t *testing.T) {
	home := newHome(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.Command(os.Args[0], "--home", home, "mcp")
	cmd.Env = append(append(cleanEnv(), execMainEnv+"=1"), withPass...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"add_memory", "forget_memory", "list_recent_memories", "search_conversations", "search_memory", "update_memory"}; !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	call := func(name string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		var out map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(b, &out)
		return res, out
	}
	res, added := call("add_memory", map[string]any{"text": "Grows tomatoes on the balcony", "tags": []string{"garden"}, "pinned": true})
	id, _ := added["id"].(string)
	if res.IsError || id == "" {
		t.Fatalf("add: %+v", res.Content)
	}
	res, found := call("search_memory", map[string]any{"query": "tomatoes"})
	if b, _ := json.Marshal(found); res.IsError || !strings.Contains(string(b), id) {
		t.Fatalf("search: %s", b)
	}
	// The person runs cairn mcp: full scopes, so writes are allowed.
	if res, _ := call("update_memory", map[string]any{"id": id, "tags": []string{"garden", "food"}}); res.IsError {
		t.Fatalf("update: %+v", res.Content)
	}
	if read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "cairn://memory/" + id}); err != nil || read.Contents[0].Text != "Grows tomatoes on the balcony" {
		t.Fatalf("read resource: %+v %v", read, err)
	}
	if err := cs.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		t.Fatalf("cairn mcp did not exit cleanly: %v\n%s", cmd.ProcessState, stderr.String())
	}

	// The memory is in the vault for every other command.
	r := cairn(t, home, withPass, "memory", "search", "tomatoes")
	if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "#food") {
		t.Fatalf("cairn memory search after mcp: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestMCPStdioNeedsPassphraseWithoutPrompt(t *testing.T) {
	home := newHome(t)
	r := cairn(t, home, nil, "mcp")
	if r.code == 0 || !strings.Contains(r.stderr, "--passphrase-file") || !strings.Contains(r.stderr, "CAIRN_PASSPHRASE") {
		t.Fatalf("cairn mcp without a passphrase: %d %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("cairn mcp wrote to stdout, which is the protocol: %q", r.stdout)
	}
	// A passphrase file works as well as the environment.
	pf := home + "/../pass"
	os.WriteFile(pf, []byte(testPassphrase+"\n"), 0o600)
	r = cairnStdin(t, home, nil, "", "mcp", "--passphrase-file", pf)
	if r.code != 0 {
		t.Fatalf("cairn mcp --passphrase-file F with stdin closed: %d %q", r.code, r.stderr)
	}
}

// With `cairn serve` owning the home, `cairn mcp` needs no passphrase: it
// serves the owner's /mcp, so the owner sees every change.
func TestMCPOverStdioThroughTheOwner(t *testing.T) {
	home := newHome(t)
	startServe(t, home, append(withOllama("127.0.0.1:1"), withPass...))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.Command(os.Args[0], "--home", home, "mcp")
	cmd.Env = append(cleanEnv(), execMainEnv+"=1") // no passphrase
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	n := 0
	for _, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 6 {
		t.Fatalf("%d tools through the owner, want 6", n)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add_memory", Arguments: map[string]any{"text": "Plays the cello", "pinned": true}})
	if err != nil || res.IsError {
		t.Fatalf("add through the owner: %v %+v\n%s", err, res, stderr.String())
	}
	b, _ := json.Marshal(res.StructuredContent)
	var added struct{ ID string }
	json.Unmarshal(b, &added)
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "update_memory", Arguments: map[string]any{"id": "no-such-id", "text": "x"}})
	if err != nil || !res.IsError {
		t.Fatalf("a tool error through the owner: %v %+v", err, res)
	}
	list, err := cs.ListResources(ctx, nil)
	if err != nil || len(list.Resources) != 1 || list.Resources[0].URI != "cairn://memory/"+added.ID {
		t.Fatalf("resources through the owner: %+v %v", list, err)
	}
	read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: list.Resources[0].URI})
	if err != nil || read.Contents[0].Text != "Plays the cello" {
		t.Fatalf("read through the owner: %+v %v", read, err)
	}
	cs.Close()
	// The memory command goes through the owner too.
	if r := cairn(t, home, nil, "memory", "search", "cello"); r.code != 0 || !strings.Contains(r.stdout, added.ID) {
		t.Fatalf("search after mcp: %q %q", r.stdout, r.stderr)
	}
}
