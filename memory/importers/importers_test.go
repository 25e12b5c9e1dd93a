package importers

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
	"github.com/cairnlabs/cairn/memory/portable"
)

func newVault(t testing.TB) *memory.Vault {
	t.Helper()
	cfg := memory.Config{Path: filepath.Join(t.TempDir(), "vault.db"), Embedder: memtest.NewEmbedder(32),
		KDF: memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}}
	v, _, err := memory.Create(context.Background(), cfg, []byte("correct horse battery staple"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func importFile(t *testing.T, v *memory.Vault, path, wantFormat string) portable.Summary {
	t.Helper()
	src, format, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if format != wantFormat {
		t.Fatalf("%s detected as %q, want %q", path, format, wantFormat)
	}
	sum, err := portable.Import(context.Background(), v, src, portable.Options{BatchSize: 5})
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return sum
}

// conversation finds an imported conversation by title and returns its
// messages by content prefix.
func conversation(t *testing.T, v *memory.Vault, title string) (memory.Conversation, map[string]memory.Message) {
	t.Helper()
	convs, err := v.Conversations(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.Title == title {
			msgs, err := v.Messages(context.Background(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			by := map[string]memory.Message{}
			for _, m := range msgs {
				by[firstWords(m.Content)] = m
			}
			return c, by
		}
	}
	var titles []string
	for _, c := range convs {
		titles = append(titles, c.Title)
	}
	t.Fatalf("no conversation %q among %q", title, titles)
	return memory.Conversation{}, nil
}

func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

func TestChatGPT(t *testing.T) {
	v := newVault(t)
	sum := importFile(t, v, "testdata/chatgpt_conversations.json", FormatChatGPT)
	if c := sum.ByKind["conversation"]; c.New != 3 {
		t.Fatalf("conversations: %+v", c)
	}
	// The Kyoto conversation: custom instructions kept as a system message,
	// the image and its attachment named, two branches under the question,
	// the browsing tool's result in a tool message.
	c, m := conversation(t, v, "Kyoto trip – 京都の旅 🗺️")
	if c.Model != "gpt-4o" || c.Messages != 6 {
		t.Fatalf("kyoto: %+v, messages %v", c, len(m))
	}
	q := m["[image] Plan three"]
	if q.Role != memory.RoleUser || !strings.Contains(q.Content, "ホテルの地図です") || !strings.Contains(q.Content, "[attachment: hotel-map.png]") {
		t.Fatalf("question: %+v", q)
	}
	ctxMsg := m["The user provided"]
	if ctxMsg.ParentID != "" || q.ParentID != ctxMsg.ID {
		t.Fatalf("custom instructions %q should be the root (hidden empty system message skipped), and the question's parent", ctxMsg.Content)
	}
	a1, a2 := m["Day 1: Fushimi"], m["```unknown search(\"vegetarian restaurants"]
	if a1.ParentID != q.ID || a2.ParentID != q.ID {
		t.Fatalf("the two replies are not sibling branches: %+v %+v", a1, a2)
	}
	tool := m["【0†Shigetsu — Zen"]
	if tool.Role != memory.RoleTool || tool.ToolName != "browser" || tool.ParentID != a2.ID {
		t.Fatalf("tool message: %+v", tool)
	}
	if last := m["Since you're vegetarian:"]; last.ParentID != tool.ID || last.Model != "gpt-4o" {
		t.Fatalf("last reply: %+v", last)
	}
	// Thoughts are skipped and the reply after them joins their parent.
	_, py := conversation(t, v, "Fix my Python script")
	if f, x := py["Floating point: 0.1"], py["0.30000000000000004"]; f.ParentID != x.ID || x.Role != memory.RoleTool {
		t.Fatalf("reply after hidden thoughts: %+v / %+v", f, x)
	}
	// Broken child links: the path from current_node to the root is whole.
	_, th := conversation(t, v, "Broken links: thesis outline")
	m1, m2, m3, m4 := th["Outline my thesis"], th["1. Introduction 2."], th["Add a chapter"], th["4. Tree canopy"]
	if m4.ParentID != m3.ID || m3.ParentID != m2.ID || m2.ParentID != m1.ID || m1.ParentID != "" {
		t.Fatalf("current path broken: %+v", th)
	}
	reasons := ""
	for _, s := range sum.Skipped {
		reasons += s.Why + ";"
	}
	if !strings.Contains(reasons, "empty message") {
		t.Errorf("the skipped empty system message and thoughts are not reported: %q", reasons)
	}
	// The same export again changes nothing.
	again := importFile(t, v, "testdata/chatgpt_conversations.json", FormatChatGPT)
	if again.Changed() != 0 {
		t.Fatalf("second import changed %d records", again.Changed())
	}
}

// The newer ChatGPT export: conversations split over several files in the
// zip, Project conversations among them.
func TestChatGPTSplitZip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chatgpt-export.zip")
	writeZip(t, path, map[string]string{
		"conversations-000.json": "testdata/chatgpt_conversations.json",
		"conversations-001.json": "testdata/chatgpt_project.json",
		"chat.html":              "",
		"user.json":              "",
	})
	v := newVault(t)
	sum := importFile(t, v, path, FormatChatGPT)
	if n := sum.ByKind["conversation"].New; n != 4 {
		t.Fatalf("%d conversations from the split zip, want 4", n)
	}
	_, g := conversation(t, v, "Garden planning")
	if g["In Oslo, plant"].ParentID != g["When should I"].ID {
		t.Fatalf("project conversation: %+v", g)
	}
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, src := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if src != "" {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		} else {
			w.Write([]byte("{}"))
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestClaude(t *testing.T) {
	v := newVault(t)
	sum := importFile(t, v, "testdata/claude_conversations.json", FormatClaude)
	if c := sum.ByKind["conversation"]; c.New != 2 {
		t.Fatalf("conversations: %+v; skipped %+v", c, sum.Skipped)
	}
	_, m := conversation(t, v, "Résumé review für Bewerbung")
	q := m["Can you review"]
	if !strings.Contains(q.Content, "[attachment: resume.txt]") || !strings.Contains(q.Content, "Jana Nováková") {
		t.Fatalf("attachment text missing: %q", q.Content)
	}
	a := m["Let me check"]
	if a.ParentID != q.ID || !strings.Contains(a.Content, "[used the tool web_search]") || !strings.Contains(a.Content, "German B2.") {
		t.Fatalf("tool use: %+v", a)
	}
	direct := m["Be more direct"]
	if !strings.Contains(direct.Content, "[file: photo.jpg]") {
		t.Fatalf("file: %q", direct.Content)
	}
	b1, b2 := m["Add Kafka. State"], m["Two changes: add"]
	if b1.ParentID != direct.ID || b2.ParentID != direct.ID {
		t.Fatal("the retried reply is not a branch")
	}
	// An export without parent ids is one path, in order.
	_, greek := conversation(t, v, "")
	if greek["Καλημέρα (kaliméra)."].ParentID != greek["Translate 'good morning'"].ID {
		t.Fatalf("linear conversation: %+v", greek)
	}
}

func TestOpenWebUI(t *testing.T) {
	v := newVault(t)
	sum := importFile(t, v, "testdata/openwebui_chats.json", FormatOpenWebUI)
	if c := sum.ByKind["message"]; c.New != 8 {
		t.Fatalf("messages: %+v", c)
	}
	c, m := conversation(t, v, "🦙 Llama sourdough help")
	if c.Model != "llama3.1:8b" {
		t.Fatalf("model %q", c.Model)
	}
	q := m["My sourdough starter"]
	if !strings.Contains(q.Content, "[file: starter.png]") {
		t.Fatalf("file: %q", q.Content)
	}
	if m["It's hungry, not"].ParentID != q.ID || m["Acetone smell means"].ParentID != q.ID || m["Acetone smell means"].Model != "qwen2.5:7b" {
		t.Fatal("branches with their models")
	}
	_, p := conversation(t, v, "System prompt test")
	if s := p["You are a"]; s.Role != memory.RoleSystem || p["Hello!"].ParentID != s.ID {
		t.Fatalf("linear messages with a system prompt: %+v", p)
	}
}

func TestUnknownFileRefused(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty.json": "", "text.txt": "hello there", "array.json": "[1,2,3]"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		src, _, err := Open(p, Options{})
		if err == nil {
			_, err = portable.Import(context.Background(), newVault(t), src, portable.Options{})
		}
		if err == nil {
			t.Errorf("%s was imported", name)
		}
	}
}
