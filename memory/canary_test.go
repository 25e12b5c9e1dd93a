package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/cairnlabs/cairn/memory/memtest"
)

func floatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// The file alone shows no memory text and no embedding; after forget and a
// checkpoint, not even the forgotten record's ciphertext.
func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	home := filepath.Dir(cfg.Path)
	emb := cfg.Embedder.(*memtest.Embedder)

	var items []Item
	for i := range 20 {
		items = append(items, mustAdd(t, v, fmt.Sprintf("canary%03dzq lives in Lisbon and likes cycling", i), fmt.Sprintf("tagcanary%03d", i)))
	}
	edited := fmt.Sprintf("canary%03dzq-edited moved to Porto", 0)
	if _, err := v.Edit(ctx, items[0].ID, Patch{Text: &edited}); err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var embedded int
	v.db.QueryRow("SELECT count(*) FROM embeddings").Scan(&embedded)
	if embedded != len(items) {
		t.Fatalf("%d embeddings stored, want %d", embedded, len(items))
	}
	// Check both with the WAL holding recent pages and after a checkpoint.
	for _, phase := range []string{"before checkpoint", "after checkpoint"} {
		if phase == "after checkpoint" {
			if err := v.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i, it := range items {
			for _, needle := range []string{fmt.Sprintf("canary%03dzq", i), fmt.Sprintf("tagcanary%03d", i)} {
				if hits := filesContaining(t, home, []byte(needle)); len(hits) > 0 {
					t.Fatalf("%s: %q found in %v", phase, needle, hits)
				}
			}
			vecs, _ := emb.Embed(ctx, []string{it.Text})
			normalize(vecs[0])
			if hits := filesContaining(t, home, floatBytes(vecs[0])[:64]); len(hits) > 0 {
				t.Fatalf("%s: raw embedding bytes of memory %d found in %v", phase, i, hits)
			}
		}
	}

	// Forget the edited one: its text, its revision and its embeddings go.
	victim := items[0].ID
	var victimBlobs [][]byte
	rows, _ := v.db.Query("SELECT sealed FROM records WHERE id = ? UNION ALL SELECT sealed FROM revisions WHERE id = ? UNION ALL SELECT e.sealed FROM embeddings e JOIN records r ON r.rid = e.rid WHERE r.id = ? UNION ALL SELECT e.quant FROM embeddings e JOIN records r ON r.rid = e.rid WHERE r.id = ?", victim, victim, victim, victim)
	for rows.Next() {
		var b []byte
		rows.Scan(&b)
		victimBlobs = append(victimBlobs, b)
	}
	rows.Close()
	if len(victimBlobs) != 4 {
		t.Fatalf("expected record, revision and both embedding copies for the victim, got %d blobs", len(victimBlobs))
	}
	if err := v.Forget(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if err := v.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for i, b := range victimBlobs {
		// Any 32 bytes of ciphertext from the middle are as good as all.
		if hits := filesContaining(t, home, b[len(b)/2:len(b)/2+32]); len(hits) > 0 {
			t.Fatalf("ciphertext %d of the forgotten memory still in %v", i, hits)
		}
	}
	// The others are untouched.
	for _, it := range items[1:] {
		if _, err := v.Get(ctx, it.ID); err != nil {
			t.Fatalf("other memory lost: %v", err)
		}
	}
}

// Conversations and messages are sealed like memories: no title, message
// text, tool argument or summary is in any file; after the conversation is
// deleted and the log checkpointed, not even their ciphertext.
func TestNoMessagePlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	v, cfg := newTestVault(t)
	home := filepath.Dir(cfg.Path)
	conv, err := v.CreateConversation(ctx, NewConversation{Title: "titlecanaryzq about the clinic", Model: "modelcanaryzq"})
	if err != nil {
		t.Fatal(err)
	}
	needles := []string{"titlecanaryzq", "modelcanaryzq"}
	parent := ""
	for i := range 10 {
		u := mustMessage(t, v, conv.ID, parent, RoleUser, fmt.Sprintf("usercanary%02dzq my blood test results came back", i))
		a, err := v.AddMessage(ctx, NewMessage{ConversationID: conv.ID, ParentID: u.ID, Role: RoleAssistant,
			Content:   fmt.Sprintf("replycanary%02dzq that sounds reassuring", i),
			ToolCalls: []ToolCall{{Name: "toolcanaryzq", Arguments: []byte(fmt.Sprintf(`{"q":"argcanary%02dzq"}`, i))}}})
		if err != nil {
			t.Fatal(err)
		}
		parent = a.ID
		needles = append(needles, fmt.Sprintf("usercanary%02dzq", i), fmt.Sprintf("replycanary%02dzq", i), fmt.Sprintf("argcanary%02dzq", i))
	}
	summary := "summarycanaryzq they discussed test results"
	if _, err := v.EditConversation(ctx, conv.ID, ConversationPatch{Summary: &summary}); err != nil {
		t.Fatal(err)
	}
	soft := mustAdd(t, v, "softcanaryzq was forgotten by the model")
	if _, err := v.SoftForget(ctx, soft.ID, "whycanaryzq"); err != nil {
		t.Fatal(err)
	}
	needles = append(needles, "toolcanaryzq", "summarycanaryzq", "softcanaryzq", "whycanaryzq")
	for _, phase := range []string{"before checkpoint", "after checkpoint"} {
		if phase == "after checkpoint" {
			if err := v.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, needle := range needles {
			if hits := filesContaining(t, home, []byte(needle)); len(hits) > 0 {
				t.Fatalf("%s: %q found in %v", phase, needle, hits)
			}
		}
	}

	var blobs [][]byte
	rows, _ := v.db.Query("SELECT sealed FROM records WHERE kind IN ('conversation', 'message')")
	for rows.Next() {
		var b []byte
		rows.Scan(&b)
		blobs = append(blobs, b)
	}
	rows.Close()
	if len(blobs) != 21 {
		t.Fatalf("%d conversation and message records, want 21", len(blobs))
	}
	if err := v.DeleteConversation(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	if err := v.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for i, b := range blobs {
		if hits := filesContaining(t, home, b[len(b)/2:len(b)/2+32]); len(hits) > 0 {
			t.Fatalf("ciphertext of deleted record %d still in %v", i, hits)
		}
	}
}
