package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Embedder turns texts into vectors for semantic search. The Ollama
// embedder lives in package agent; tests use a deterministic one.
type Embedder interface {
	// Model names the embedding model. Vectors of different models are
	// never compared; changing model re-embeds.
	Model() string
	// Embed returns one vector per text, all of the same dimension.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

const (
	catchUpBatch = 1000
	embedBatch   = 32
	// embedStoreWait bounds how long embedMissing holds vectors before
	// it commits them: a slow embedder (Ollama on a CPU) commits what it
	// made every embedStoreWait, so new vectors reach search soon and a
	// failure loses little.
	embedStoreWait = 500 * time.Millisecond
	// embedInline bounds how many missing embeddings a search or write
	// computes before returning; Refresh does the rest.
	embedInline = 64
	// embedRetryAfter is how long searches skip embedding after the
	// embedder failed, so a stopped Ollama does not slow every search.
	embedRetryAfter = 30 * time.Second
)

// embedStoreRows is how many vectors one transaction of embedMissing
// stores at most: what a fast embedder fills. A variable so that
// BenchmarkEmbedStore can measure the commit per embedBatch of before
// beside it.
var embedStoreRows = 2048

// embedderRef holds the current embedder (nil for none) for an atomic
// pointer.
type embedderRef struct{ Embedder }

// currentEmbedder is the embedder in use, or nil.
func (v *Vault) currentEmbedder() Embedder {
	if r := v.embedder.Load(); r != nil {
		return r.Embedder
	}
	return nil
}

// loadVectors builds the in-memory index from the sealed embeddings, after
// unlock.
func (v *Vault) loadVectors(ctx context.Context) error {
	return v.rebuildVectors(ctx, nil)
}

// rebuildVectors empties the in-memory index, after calling swap (if any)
// while no catch-up runs, and builds it again from the sealed embeddings of
// the current model. Memories without one are noted as missing.
func (v *Vault) rebuildVectors(ctx context.Context, swap func()) error {
	v.refresh.Lock()
	if swap != nil {
		swap()
	}
	var n int
	if emb := v.currentEmbedder(); emb != nil {
		if err := v.db.QueryRowContext(ctx, "SELECT count(*) FROM embeddings WHERE model = ?", emb.Model()).Scan(&n); err != nil {
			v.refresh.Unlock()
			return fmt.Errorf("count embeddings: %w", err)
		}
	}
	v.mu.Lock()
	v.vectors, v.seen, v.missing, v.expect = nil, 0, map[int64]string{}, n
	v.passages = passageVectors{parts: map[int64]int{}, missing: map[int64]string{}}
	v.mu.Unlock()
	v.refresh.Unlock()
	return v.sync(ctx, 0)
}

// Refresh brings this process up to date with records written by other
// processes or devices, and embeds every memory that lacks an embedding.
// Long-running processes call it periodically; searches call a cheaper
// form of it themselves.
func (v *Vault) Refresh(ctx context.Context) error {
	return v.sync(ctx, -1)
}

// catchUp is the cheap refresh run before searches and after writes.
func (v *Vault) catchUp(ctx context.Context) {
	if err := v.sync(ctx, embedInline); err != nil {
		if v.embedderResting() {
			// A missing embedding model or a stopped Ollama is an expected
			// state, not an alarm: search runs on keywords meanwhile and
			// EmbeddingStatus says why.
			v.log.Info("semantic search paused: the embedder failed; searching by keyword meanwhile", "err", err)
			return
		}
		v.log.Warn("catching up with the vault failed", "err", err)
	}
}

// catchUpRead is catchUp for a search. It returns at once when the index
// holds every change, and it does not wait behind another catch-up: that
// one is folding writes that have not returned yet (a write returns after
// its own catch-up) or another process's, so the search may run on the
// index as it is. Readers then never queue behind one lock.
func (v *Vault) catchUpRead(ctx context.Context) {
	if v.upToDate(ctx) || !v.refresh.TryLock() {
		return
	}
	defer v.refresh.Unlock()
	if _, err := v.syncEmbedLocked(ctx, embedInline, false); err != nil && !v.embedderResting() {
		v.log.Warn("catching up with the vault failed", "err", err)
	}
}

// upToDate reports whether the vector index holds every change in the
// vault and no memory waits for an embedding that could be made now.
func (v *Vault) upToDate(ctx context.Context) bool {
	var latest int64
	if err := v.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM records").Scan(&latest); err != nil {
		return false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.keys != nil && v.seen >= latest && v.passages.seen >= latest && (len(v.missing) == 0 || v.embedderResting() || v.currentEmbedder() == nil)
}

// sync folds changed records (by local change number) into the vector
// index, then embeds up to maxEmbed memories that have no embedding yet
// (all of them when maxEmbed < 0). After the embedder failed, only Refresh
// (maxEmbed < 0) asks it again before embedRetryAfter has passed.
func (v *Vault) sync(ctx context.Context, maxEmbed int) error {
	_, err := v.syncEmbed(ctx, maxEmbed, maxEmbed < 0)
	return err
}

// syncEmbed is sync, asking a recently failed embedder again when force is
// set. It reports how many memories it embedded.
func (v *Vault) syncEmbed(ctx context.Context, maxEmbed int, force bool) (int, error) {
	v.refresh.Lock()
	defer v.refresh.Unlock()
	return v.syncEmbedLocked(ctx, maxEmbed, force)
}

// syncEmbedLocked is syncEmbed for a caller that holds v.refresh.
func (v *Vault) syncEmbedLocked(ctx context.Context, maxEmbed int, force bool) (int, error) {
	v.mu.RLock()
	keys, seen := v.keys, v.seen
	v.mu.RUnlock()
	emb := v.currentEmbedder()
	if keys == nil || emb == nil {
		return 0, nil
	}
	var latest int64
	if err := v.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM records").Scan(&latest); err != nil {
		return 0, fmt.Errorf("read vault changes: %w", err)
	}
	if err := v.foldChanges(ctx, keys, emb.Model(), seen, latest); err != nil {
		return 0, err
	}
	// Message passages follow the same changes (passages_vectors.go).
	if err := v.foldPassages(ctx, keys, emb.Model(), latest); err != nil {
		return 0, err
	}
	if maxEmbed == 0 || (!force && v.embedderResting()) {
		return 0, nil
	}
	n, err := v.embedMissing(ctx, keys, emb, maxEmbed)
	if err != nil {
		if ctx.Err() == nil {
			v.embedderFailed(err)
		}
		return n, err
	}
	v.embedRetry.Store(0)
	if n > 0 {
		v.embedderWorks()
	}
	return n, nil
}

// embedderFailed makes searches and writes leave the embedder alone for a
// while, so a stopped or hung Ollama does not slow each of them, and keeps
// the error for EmbeddingStatus.
// It reports whether the failure is news (not the one already recorded),
// so that callers warn once rather than at every search.
func (v *Vault) embedderFailed(err error) bool {
	v.embedRetry.Store(time.Now().Add(embedRetryAfter).UnixNano())
	msg := err.Error()
	old := v.embedErr.Swap(&msg)
	return old == nil || *old != msg
}

// embedderWorks clears the last failure after the embedder answered.
func (v *Vault) embedderWorks() {
	v.embedErr.Store(nil)
}

func (v *Vault) embedderResting() bool {
	return time.Now().UnixNano() < v.embedRetry.Load()
}

// foldChanges folds the changes after seen, up to latest, into the vector
// index a batch at a time, reading the next batch from SQLite while the
// current one is opened and indexed: at unlock the read is a third of the
// work, and on two cores this hides most of it.
func (v *Vault) foldChanges(ctx context.Context, keys *vaultKeys, model string, seen, latest int64) error {
	type page struct {
		batch []indexChange
		last  int64
		err   error
	}
	read := func(after int64) <-chan page {
		ch := make(chan page, 1) // the reader never waits, even if no one takes it
		go func() {
			batch, last, err := v.readChanges(ctx, model, after)
			ch <- page{batch, last, err}
		}()
		return ch
	}
	if seen >= latest {
		return nil
	}
	next := read(seen)
	for next != nil {
		p := <-next
		if p.err != nil {
			return p.err
		}
		if p.last == seen {
			return nil // nothing past seen after all: never spin
		}
		next = nil
		if p.last < latest {
			next = read(p.last)
		}
		if err := v.foldBatch(keys, model, p.batch, p.last); err != nil {
			return err
		}
		seen = p.last
	}
	return nil
}

// foldBatch applies one batch of changes, read up to seq last, to the
// vector index. Live memories without an embedding for the model are noted
// as missing, unless there is nothing to embed (a soft-forgotten memory, a
// newer schema, a damaged record); so the missing note is exactly what
// EmbedAll has left to do.
func (v *Vault) foldBatch(keys *vaultKeys, model string, batch []indexChange, last int64) error {
	// Opening payloads is the slow part; do it before taking the lock that
	// searches wait on.
	for i := range batch {
		c := &batch[i]
		if c.sealed != nil {
			c.embeddable = keys.embeddable(&Record{ID: c.id, Kind: c.kind, Sealed: c.sealed})
			c.sealed = nil
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != keys {
		return ErrLocked
	}
	var load []indexChange
	for _, c := range batch {
		v.dropVector(c.rid)
		switch {
		case c.deleted || c.kind != KindMemory:
		case c.quant == nil:
			if c.embeddable {
				v.missing[c.rid] = c.id
			}
		default:
			load = append(load, c)
		}
	}
	v.loadSealed(keys, model, load)
	v.seen = last
	return nil
}

type indexChange struct {
	rid        int64
	id         string
	kind       Kind
	deleted    bool
	quant      []byte // the sealed int8 embedding for the model, if any
	sealed     []byte // the record, for a live memory without that embedding
	embeddable bool   // a memory that should have an embedding
}

// embeddable reports whether a memory record should have an embedding:
// readable, of a schema this build knows, and not soft-forgotten.
func (keys *vaultKeys) embeddable(r *Record) bool {
	p, err := keys.openItem(r)
	return err == nil && p.ForgottenAt == nil
}

func (v *Vault) readChanges(ctx context.Context, model string, after int64) ([]indexChange, int64, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT r.rid, r.seq, r.id, r.kind, r.deleted, e.quant,
			CASE WHEN e.quant IS NULL AND r.kind = ? AND r.deleted = 0 THEN r.sealed END
		FROM records r LEFT JOIN embeddings e ON e.rid = r.rid AND e.model = ?
		WHERE r.seq > ? ORDER BY r.seq LIMIT ?`, KindMemory, model, after, catchUpBatch)
	if err != nil {
		return nil, after, fmt.Errorf("read vault changes: %w", err)
	}
	defer rows.Close()
	last := after
	var out []indexChange
	for rows.Next() {
		var c indexChange
		if err := rows.Scan(&c.rid, &last, &c.id, &c.kind, &c.deleted, &c.quant, &c.sealed); err != nil {
			return nil, after, fmt.Errorf("read vault changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("read vault changes: %w", err)
	}
	return out, last, nil
}

// loadSealed opens sealed int8 embeddings and puts them into the index, on
// every core: at unlock this is most of the work. The caller holds v.mu.
func (v *Vault) loadSealed(keys *vaultKeys, model string, load []indexChange) {
	if len(load) == 0 {
		return
	}
	rows := make([]quantRow, len(load))
	parallel(len(load), func(i int) { rows[i] = keys.openQuant(load[i].id, model, load[i].quant) })
	slots := make([]int, len(load))
	for i, c := range load {
		slots[i] = -1
		r := rows[i]
		if r.err == nil && v.vectors == nil {
			v.vectors = newVectorIndex(model, len(r.data))
			v.vectors.reserve(v.expect)
		}
		if r.err != nil || len(r.data) != v.vectors.dim {
			v.log.Warn("re-embedding a memory whose embedding is unreadable", "id", c.id, "err", r.err)
			v.missing[c.rid] = c.id
			continue
		}
		slots[i] = v.vectors.slot(c.rid)
		delete(v.missing, c.rid)
	}
	parallel(len(load), func(i int) {
		if slots[i] >= 0 {
			v.vectors.fill(slots[i], rows[i].data, rows[i].scale)
		}
	})
}

// parallel calls fn(0..n-1) spread over the available cores.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for start := 0; start < n; start += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}(start, min(start+chunk, n))
	}
	wg.Wait()
}

// dropVector forgets a row's vector; the caller holds v.mu.
func (v *Vault) dropVector(rid int64) {
	if v.vectors != nil {
		v.vectors.remove(rid)
	}
	delete(v.missing, rid)
}

// addVector puts a sealed int8 embedding into the index and reports
// whether it could; the caller holds v.mu.
func (v *Vault) addVector(keys *vaultKeys, model string, rid int64, id string, quant []byte) bool {
	v.loadSealed(keys, model, []indexChange{{rid: rid, id: id, kind: KindMemory, quant: quant}})
	_, stillMissing := v.missing[rid]
	return !stillMissing
}

// Embeddings are sealed like records, under their own subkey, bound to the
// record id, the model and which copy it is.
func embeddingAD(id, model string) (string, Kind) {
	return id + "/" + model, "embedding"
}

func quantAD(id, model string) (string, Kind) {
	return id + "/" + model, "embedding-int8"
}

type quantRow struct {
	data  []int8
	scale float32
	err   error
}

func (keys *vaultKeys) openQuant(id, model string, sealed []byte) quantRow {
	adID, kind := quantAD(id, model)
	raw, err := keys.vectors.open(adID, kind, sealed)
	if err != nil {
		return quantRow{err: err}
	}
	if len(raw) < 5 {
		return quantRow{err: fmt.Errorf("%w: int8 embedding is %d bytes", ErrCorrupt, len(raw))}
	}
	return quantRow{data: unsafeInt8(raw[4:]), scale: math.Float32frombits(binary.LittleEndian.Uint32(raw))}
}

// unsafeInt8 views bytes as int8s (same size, no copy).
func unsafeInt8(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

func (keys *vaultKeys) openVector(id, model string, sealed []byte) ([]float32, error) {
	adID, kind := embeddingAD(id, model)
	raw, err := keys.vectors.open(adID, kind, sealed)
	if err != nil {
		return nil, err
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("%w: embedding is %d bytes", ErrCorrupt, len(raw))
	}
	vec := make([]float32, len(raw)/4)
	for i := range vec {
		vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return vec, nil
}

// exactVectors loads the sealed float32 vectors of some rows, for rescoring.
func (v *Vault) exactVectors(ctx context.Context, keys *vaultKeys, model string, rids []int64) (map[int64][]float32, error) {
	if len(rids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(rids)+1)
	args = append(args, model)
	for _, r := range rids {
		args = append(args, r)
	}
	q := "SELECT e.rid, r.id, e.sealed FROM embeddings e JOIN records r ON r.rid = e.rid WHERE e.model = ? AND e.rid IN (?" + strings.Repeat(",?", len(rids)-1) + ")"
	rows, err := v.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("load embeddings: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]float32, len(rids))
	for rows.Next() {
		var rid int64
		var id string
		var sealed []byte
		if err := rows.Scan(&rid, &id, &sealed); err != nil {
			return nil, err
		}
		if vec, err := keys.openVector(id, model, sealed); err == nil {
			out[rid] = vec
		}
	}
	return out, rows.Err()
}
