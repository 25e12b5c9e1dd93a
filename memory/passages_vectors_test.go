package memory

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// Past messages are embedded in the background and found by vector and
// hybrid search; a second process (or the next unlock) loads the stored
// vectors without asking the embedder again.
func TestMessagesEmbeddedAndFoundByVector(t *testing.T) {
	v, cfg := newTestVault(t)
	ctx := context.Background()
	at := time.Date(2025, 5, 3, 10, 0, 0, 0, time.UTC)
	_, lisbon := chatAt(t, v, "Moving", at, "did you ever go to Lisbon with Ana?", "Yes, in May, right after the wedding.")
	chatAt(t, v, "Bread", at, "how long do I bake sourdough bread", "about forty minutes at high heat")
	chatAt(t, v, "Tools", at, "which drill should I buy for concrete walls", "a hammer drill")

	st, err := v.EmbeddingStatus(ctx)
	if err != nil || st.MessagesTotal != 6 || st.MessagesEmbedded != 0 {
		t.Fatalf("before embedding: %+v %v, want 0 of 6 messages", st, err)
	}
	var calls []int
	if err := v.EmbedPassages(ctx, func(done, total int) { calls = append(calls, done) }); err != nil {
		t.Fatal(err)
	}
	if st, _ := v.EmbeddingStatus(ctx); st.MessagesEmbedded != 6 || st.MessagesTotal != 6 || len(calls) == 0 {
		t.Fatalf("after EmbedPassages: %+v, progress %v: want 6 of 6", st, calls)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "Lisbon wedding in May", Mode: Vector, Limit: 3})
	if err != nil || len(res) == 0 || res[0].Message.ID != lisbon[1].ID {
		t.Fatalf("vector search: %v %v, want the answer %s first", ids(res), err, lisbon[1].ID)
	}
	res, err = v.SearchMessages(ctx, MessageQuery{Text: "Lisbon wedding in May", Mode: Hybrid, Limit: 2})
	if err != nil || len(res) != 2 || !containsID(ids(res), lisbon[0].ID) || !containsID(ids(res), lisbon[1].ID) {
		t.Fatalf("hybrid search: %v %v, want the question and its answer", ids(res), err)
	}

	// Another handle loads the sealed int8 copies at unlock: no embedding
	// calls but the query's.
	emb := memtest.NewEmbedder(64)
	cfg.Embedder = emb
	w := openTestVault(t, cfg)
	if st, _ := w.EmbeddingStatus(ctx); st.MessagesEmbedded != 6 {
		t.Fatalf("after unlock: %+v, want the 6 stored message embeddings loaded", st)
	}
	res, err = w.SearchMessages(ctx, MessageQuery{Text: "sourdough bread", Mode: Vector, Limit: 1})
	if err != nil || len(res) != 1 || !strings.Contains(res[0].Message.Content, "sourdough") {
		t.Fatalf("vector search after unlock: %+v %v", res, err)
	}
	if n := emb.Calls.Load(); n != 1 {
		t.Fatalf("the embedder was called %d times after unlock, want 1 (the query)", n)
	}
}

// Without an embedding model, vector search over messages says what to
// do, and hybrid search runs on keywords.
func TestMessageVectorSearchNeedsAModel(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	if err := v.SetEmbedder(ctx, nil); err != nil {
		t.Fatal(err)
	}
	chatAt(t, v, "Bread", time.Now().Add(-time.Hour), "how long do I bake sourdough bread", "forty minutes")
	if _, err := v.SearchMessages(ctx, MessageQuery{Text: "sourdough", Mode: Vector}); !errors.Is(err, ErrNoEmbedder) {
		t.Fatalf("vector search without a model: %v, want ErrNoEmbedder", err)
	}
	if res, err := v.SearchMessages(ctx, MessageQuery{Text: "sourdough"}); err != nil || len(res) == 0 || !strings.Contains(res[0].Message.Content, "sourdough") {
		t.Fatalf("hybrid search without a model: %v %v, want the keyword match", ids(res), err)
	}
	if err := v.EmbedPassages(ctx, nil); !errors.Is(err, ErrNoEmbedder) {
		t.Fatalf("EmbedPassages without a model: %v, want ErrNoEmbedder", err)
	}
}

// A large import of messages does not starve memories: each batch embeds
// the memories waiting first.
func TestMemoriesEmbeddedBeforeMessages(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	if err := v.SetEmbedder(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var turns []string
	for i := range passageBatch + 20 {
		turns = append(turns, "imported turn number "+strings.Repeat("x", i%7+1))
	}
	chatAt(t, v, "Import", time.Now().Add(-time.Hour), turns...)
	for i := range 20 {
		mustAdd(t, v, "memory number "+strings.Repeat("y", i+1))
	}
	if err := v.SetEmbedder(ctx, memtest.NewEmbedder(64)); err != nil {
		t.Fatal(err)
	}
	first := true
	err := v.EmbedPassages(ctx, func(done, total int) {
		if first {
			first = false
			if md, mt := v.embedCounts("memtest-hash"); md != mt || mt != 20 || done == total {
				t.Errorf("after the first batch: %d of %d memories and %d of %d messages; want every memory first", md, mt, done, total)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if done, total := v.passageCounts("memtest-hash"); done != passageBatch+20 || total != done {
		t.Fatalf("messages embedded: %d of %d, want %d", done, total, passageBatch+20)
	}
}

// A long message is embedded as several passages, and a passage deep in
// it is found by vector search.
func TestLongMessageEmbeddedAsPassages(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	long := strings.Repeat("filler words about nothing in particular ", 60) + "the kayak is stored in the blue boathouse"
	_, msgs := chatAt(t, v, "Long", time.Now().Add(-time.Hour), long)
	chatAt(t, v, "Other", time.Now().Add(-time.Hour), "filler words about nothing in particular")
	if err := v.EmbedPassages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var parts int
	v.db.QueryRow("SELECT count(*) FROM passage_embeddings pe JOIN records r ON r.rid = pe.rid WHERE r.id = ?", msgs[0].ID).Scan(&parts)
	if want := len(embedTexts(long)); parts != want || parts < 2 {
		t.Fatalf("%d passage embeddings stored for the long message, want %d (more than one)", parts, want)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "kayak blue boathouse", Mode: Vector, Limit: 1})
	if err != nil || len(res) != 1 || res[0].Message.ID != msgs[0].ID {
		t.Fatalf("vector search for the end of a long message: %v %v", ids(res), err)
	}
}

// Deleting a conversation removes its passage embeddings: they are never
// found again by vector search, the in-memory index drops them at once,
// and after a checkpoint the file holds neither their float nor their int8
// ciphertext.
func TestDeletedConversationLeavesNoPassageEmbeddings(t *testing.T) {
	v, cfg := newTestVault(t)
	ctx := context.Background()
	conv, msgs := chatAt(t, v, "Secret plans", time.Now().Add(-48*time.Hour),
		"the surprise party is at the lighthouse", "which lighthouse?", "the old lighthouse on the cliff")
	_, kept := chatAt(t, v, "Other", time.Now().Add(-time.Hour), "the lighthouse keeper retired")
	if err := v.EmbedPassages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	rows, err := v.db.Query("SELECT pe.sealed, pe.quant FROM passage_embeddings pe JOIN records r ON r.rid = pe.rid WHERE r.id IN (?, ?, ?)", msgs[0].ID, msgs[1].ID, msgs[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s, q []byte
		if err := rows.Scan(&s, &q); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, s, q)
	}
	rows.Close()
	if len(blobs) != 6 {
		t.Fatalf("%d sealed passage embeddings before delete, want 6", len(blobs))
	}
	if err := v.DeleteConversation(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	v.mu.RLock()
	inIndex := v.passages.index.len()
	v.mu.RUnlock()
	if inIndex != 1 {
		t.Fatalf("%d passage vectors in memory after delete, want 1 (the other conversation's)", inIndex)
	}
	if err := v.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "surprise party lighthouse cliff", Mode: Vector})
	if err != nil || len(res) != 1 || res[0].Message.ID != kept[0].ID {
		t.Fatalf("vector search after delete: %v %v, want only the other conversation's message", ids(res), err)
	}
	home := filepath.Dir(cfg.Path)
	for i, b := range blobs {
		if hits := filesContaining(t, home, b[len(b)/2:len(b)/2+16]); len(hits) > 0 {
			t.Fatalf("passage embedding ciphertext %d of a deleted message still in %v", i, hits)
		}
	}
}

// Embedding runs beside searches and deletes: a conversation deleted
// while its messages are being embedded is never found by vector search,
// and every message left ends up embedded.
func TestEmbeddingPassagesBesideDeletes(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	var doomed []Conversation
	for i := range 12 {
		c, _ := chatAt(t, v, "Chat", time.Now().Add(-time.Hour), "the heron by the pond number "+strings.Repeat("z", i+1), "a grey heron")
		if i%2 == 0 {
			doomed = append(doomed, c)
		}
	}
	done := make(chan error, 1)
	go func() { done <- v.EmbedPassages(ctx, nil) }()
	for _, c := range doomed {
		if err := v.DeleteConversation(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := v.SearchMessages(ctx, MessageQuery{Text: "heron pond", Mode: Vector}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := v.EmbedPassages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	res, err := v.SearchMessages(ctx, MessageQuery{Text: "heron pond", Mode: Vector, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		for _, c := range doomed {
			if r.Message.ConversationID == c.ID {
				t.Fatalf("a message of a conversation deleted during embedding was found: %+v", r.Message)
			}
		}
	}
	if st, _ := v.EmbeddingStatus(ctx); len(res) != 12 || st.MessagesEmbedded != 12 || st.MessagesTotal != 12 {
		t.Fatalf("%d found, status %+v: want the 12 messages left, all embedded", len(res), st)
	}
	var stale int
	v.db.QueryRow("SELECT count(*) FROM passage_embeddings pe JOIN records r ON r.rid = pe.rid WHERE r.deleted = 1").Scan(&stale)
	if stale != 0 {
		t.Fatalf("%d passage embeddings of deleted messages stored", stale)
	}
}
