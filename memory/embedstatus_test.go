package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// A vault started without an embedding model gets one later: the status
// says how much is left, EmbedAll reports progress up to the total, and
// vector search works afterwards.
func TestEmbedAllAfterChoosingAModel(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, nil)
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	const n = 100
	var target Item
	for i := range n {
		it := mustAdd(t, v, fmt.Sprintf("memory number %d about topic%d", i, i))
		if i == 42 {
			target = it
		}
	}
	hidden := mustAdd(t, v, "soft-forgotten, so never embedded")
	if _, err := v.SoftForget(ctx, hidden.ID, ""); err != nil {
		t.Fatal(err)
	}
	if st, err := v.EmbeddingStatus(ctx); err != nil || st != (EmbeddingStatus{Total: n}) {
		t.Fatalf("status without a model: %+v %v", st, err)
	}
	if err := v.EmbedAll(ctx, nil); !errors.Is(err, ErrNoEmbedder) {
		t.Fatalf("EmbedAll without a model: %v, want ErrNoEmbedder", err)
	}

	emb := memtest.NewEmbedder(64)
	if err := v.SetEmbedder(ctx, emb); err != nil {
		t.Fatal(err)
	}
	if st, err := v.EmbeddingStatus(ctx); err != nil || st.Model != emb.Name || st.Embedded != 0 || st.Total != n {
		t.Fatalf("status after choosing a model: %+v %v", st, err)
	}
	var calls [][2]int
	if err := v.EmbedAll(ctx, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) < n/embedBatch || calls[len(calls)-1] != [2]int{n, n} {
		t.Fatalf("progress %v: want a call per batch, ending at %d of %d", calls, n, n)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] || calls[i][1] != n {
			t.Fatalf("progress went back or the total moved: %v", calls)
		}
	}
	if st, _ := v.EmbeddingStatus(ctx); st.Embedded != n || st.Total != n || st.LastError != "" {
		t.Fatalf("status after EmbedAll: %+v", st)
	}
	res, err := v.Search(ctx, Query{Text: "topic42", Mode: Vector})
	if err != nil || len(res) == 0 || res[0].ID != target.ID {
		t.Fatalf("vector search after EmbedAll: %+v %v", res, err)
	}
	// Nothing left: one progress call, at the total.
	calls = nil
	if err := v.EmbedAll(ctx, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil || len(calls) != 1 || calls[0] != [2]int{n, n} {
		t.Fatalf("EmbedAll with nothing to do: %v %v", calls, err)
	}
}

// Switching to another model re-embeds for it (vectors of two models are
// never mixed); switching back finds the first model's stored vectors.
func TestSetEmbedderSwitchesModel(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	first := v.currentEmbedder().(*memtest.Embedder)
	const n = 40
	var target Item
	for i := range n {
		it := mustAdd(t, v, fmt.Sprintf("note %d on subject%d", i, i))
		if i == 7 {
			target = it
		}
	}
	if err := v.EmbedAll(ctx, nil); err != nil {
		t.Fatal(err)
	}

	second := &memtest.Embedder{Dim: 32, Name: "memtest-second"}
	if err := v.SetEmbedder(ctx, second); err != nil {
		t.Fatal(err)
	}
	if st, _ := v.EmbeddingStatus(ctx); st.Model != "memtest-second" || st.Embedded != 0 || st.Total != n {
		t.Fatalf("status right after the switch: %+v", st)
	}
	if err := v.EmbedAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := v.EmbeddingStatus(ctx); st.Embedded != n || st.Total != n {
		t.Fatalf("status after re-embedding: %+v", st)
	}
	var perModel int
	v.db.QueryRow("SELECT count(*) FROM embeddings WHERE model = ? AND dim = 32", "memtest-second").Scan(&perModel)
	if perModel != n {
		t.Fatalf("%d embeddings stored for the second model, want %d", perModel, n)
	}
	res, err := v.Search(ctx, Query{Text: "subject7", Mode: Vector})
	if err != nil || len(res) == 0 || res[0].ID != target.ID {
		t.Fatalf("vector search with the second model: %+v %v", res, err)
	}

	before := first.Calls.Load()
	if err := v.SetEmbedder(ctx, first); err != nil {
		t.Fatal(err)
	}
	if st, _ := v.EmbeddingStatus(ctx); st.Model != first.Name || st.Embedded != n {
		t.Fatalf("switching back should find the stored vectors: %+v", st)
	}
	if got := first.Calls.Load() - before; got != 0 {
		t.Fatalf("switching back embedded again (%d calls)", got)
	}

	if err := v.SetEmbedder(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Search(ctx, Query{Text: "subject7", Mode: Vector}); !errors.Is(err, ErrNoEmbedder) {
		t.Fatalf("vector search without a model: %v", err)
	}
	if res, err := v.Search(ctx, Query{Text: "subject7"}); err != nil || len(res) == 0 || res[0].ID != target.ID {
		t.Fatalf("hybrid search falls back to keywords without a model: %+v %v", res, err)
	}
}

func TestEmbedAllReportsTheEmbeddersError(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	emb := v.currentEmbedder().(*memtest.Embedder)
	emb.SetFail(true)
	for i := range 5 {
		mustAdd(t, v, fmt.Sprintf("waiting for the model %d", i))
	}
	err := v.EmbedAll(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), emb.Name) || !strings.Contains(err.Error(), "failing on purpose") {
		t.Fatalf("EmbedAll with a failing model: %v; want the model's error, naming the model", err)
	}
	st, _ := v.EmbeddingStatus(ctx)
	if st.Embedded != 0 || st.Total != 5 || !strings.Contains(st.LastError, "failing on purpose") {
		t.Fatalf("status after a failure: %+v", st)
	}
	// EmbedAll asks again at once, even though searches would leave the
	// model alone for a while.
	emb.SetFail(false)
	if err := v.EmbedAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := v.EmbeddingStatus(ctx); st.Embedded != 5 || st.LastError != "" {
		t.Fatalf("status once the model works: %+v", st)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	mustAdd(t, v, "one more")
	emb.SetFail(false)
	if err := v.EmbedAll(cancelled, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("EmbedAll with a cancelled context: %v", err)
	}
}

// Switching models, embedding, searching and chatting at once (run with
// -race): nothing fails, and once things settle the index is complete for
// the model chosen last.
func TestConcurrentModelSwitchAndChat(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t)
	first := v.currentEmbedder()
	second := &memtest.Embedder{Dim: 32, Name: "memtest-second"}
	for i := range 50 {
		mustAdd(t, v, fmt.Sprintf("memory %d of a busy vault", i))
	}
	conv := mustConversation(t, v, "Busy")
	errs := make(chan error, 200)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 10 {
			e := first
			if i%2 == 0 {
				e = second
			}
			if err := v.SetEmbedder(ctx, e); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() {
		for range 5 {
			if err := v.EmbedAll(ctx, nil); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() {
		for range 20 {
			if _, err := v.Search(ctx, Query{Text: "busy memory 7"}); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() {
		parent := ""
		for i := range 20 {
			m, err := v.AddMessage(ctx, NewMessage{ConversationID: conv.ID, ParentID: parent, Role: RoleUser, Content: fmt.Sprintf("message %d", i)})
			if err != nil {
				errs <- err
				return
			}
			parent = m.ID
			if _, err := v.Conversations(ctx, 0); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := v.EmbedAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st, err := v.EmbeddingStatus(ctx)
	if err != nil || st.Model != first.Model() || st.Embedded != 50 || st.Total != 50 {
		t.Fatalf("after settling: %+v %v", st, err)
	}
	if c, _ := v.Conversation(ctx, conv.ID); c.Messages != 20 {
		t.Fatalf("%d messages counted, want 20", c.Messages)
	}
}
