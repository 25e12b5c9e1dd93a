package portable

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
)

var testPass = []byte("correct horse battery staple")

// newVault creates an unlocked vault in its own temp home: another device.
func newVault(t testing.TB) *memory.Vault {
	t.Helper()
	cfg := memory.Config{
		Path:     filepath.Join(t.TempDir(), "home", "vault.db"),
		Embedder: memtest.NewEmbedder(64),
		KDF:      memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1},
	}
	v, _, err := memory.Create(context.Background(), cfg, testPass)
	if err != nil {
		t.Fatalf("create vault: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// fill gives a vault memories, a conversation with a branch, feedback, a
// forgotten memory and a renamed conversation.
func fill(t testing.TB, v *memory.Vault) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := v.Add(ctx, memory.NewItem{Kind: memory.Fact, Text: "My sister Ana lives in Lisbon", Tags: []string{"family"}})
	must(err)
	_, err = v.Add(ctx, memory.NewItem{Kind: memory.Preference, Text: "Prefers tea to coffee, übrigens 🍵", Pinned: true})
	must(err)
	gone, err := v.Add(ctx, memory.NewItem{Kind: memory.Note, Text: "a secret to forget"})
	must(err)
	must(v.Forget(ctx, gone.ID))
	c, err := v.CreateConversation(ctx, memory.NewConversation{Title: "Trip planning", Model: "llama3.2:3b"})
	must(err)
	q, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, Role: memory.RoleUser, Content: "Where should I go in Portugal?"})
	must(err)
	a1, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "Lisbon, then Porto.", Model: "llama3.2:3b"})
	must(err)
	_, err = v.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, ParentID: q.ID, Role: memory.RoleAssistant, Content: "The Algarve coast.", Model: "llama3.2:3b"})
	must(err)
	_, err = v.AddFeedback(ctx, memory.NewFeedback{MessageID: a1.ID, Rating: 1})
	must(err)
	title := "Portugal trip"
	_, err = v.EditConversation(ctx, c.ID, memory.ConversationPatch{Title: &title})
	must(err)
}

func exportJSONL(t testing.TB, v *memory.Vault, f Filter) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewJSONLWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), v, f, w); err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importJSONL(t testing.TB, v *memory.Vault, data []byte, o Options) Summary {
	t.Helper()
	sum, err := Import(context.Background(), v, JSONLSource(bytes.NewReader(data), Limits{}), o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum
}

func total(s Summary) (c Counts) {
	for _, k := range s.ByKind {
		c.New += k.New
		c.Updated += k.Updated
		c.Unchanged += k.Unchanged
		c.Revisions += k.Revisions
		c.Deleted += k.Deleted
		c.Refused += k.Refused
	}
	return c
}

var _ = time.Now
