package agent

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// recallItem is one thing a turn recalls: an extracted memory or a
// passage of a past message.
type recallItem struct {
	Memory  *memory.Item
	Passage *memory.MessageResult
	score   float64
}

// Weights of the fusion: reciprocal rank fusion over the two lists, plus
// small boosts (never more than a few ranks' worth) for recent, pinned and
// in-period items.
const (
	recallRRFK      = 60
	recallRecency   = 0.3 / (recallRRFK + 1)
	recallPin       = 0.5 / (recallRRFK + 1)
	recallInPeriod  = 0.5 / (recallRRFK + 1)
	recallHalfLife  = 90 * 24 * time.Hour
	defaultPassages = 6
)

// recallQuery is what a turn searches for.
type recallQuery struct {
	Text string
	// Started is when the turn began: messages written since (the one
	// being answered, stored meanwhile) are not recalled.
	Started time.Time
}

// recall starts retrieving what is relevant to the person's message in
// the background (embedding the query is a round trip to the embedding
// model, which overlaps with storing the message): extracted memories and
// passages of past messages, fused. A backend that may not receive memory
// gets nothing. The returned func waits for the result.
func (a *Agent) recall(ctx context.Context, backend Backend, text string) func() []recallItem {
	if !a.backends.ReceivesMemory(backend) {
		return func() []recallItem { return nil }
	}
	q := recallQuery{Text: text, Started: time.Now()}
	ch := make(chan []recallItem, 1)
	go func() { ch <- a.retrieve(ctx, q) }()
	var once sync.Once
	var items []recallItem
	return func() []recallItem {
		once.Do(func() { items = <-ch })
		return items
	}
}

// retrieve runs both searches at once and fuses them.
func (a *Agent) retrieve(ctx context.Context, q recallQuery) []recallItem {
	var mems []memory.Result
	var passages []memory.MessageResult
	var inPeriod bool
	var wg sync.WaitGroup
	wg.Go(func() {
		res, err := a.store.Search(ctx, memory.Query{Text: q.Text, Limit: a.cfg.Memories})
		if err != nil && !errors.Is(err, memory.ErrNoEmbedder) && ctx.Err() == nil {
			a.log.Warn("memory search failed; answering without memories", "err", safeErr(err))
		}
		mems = res
	})
	wg.Go(func() { passages, inPeriod = a.searchPassages(ctx, q) })
	wg.Wait()
	return fuseRecall(mems, passages, inPeriod, q.Started)
}

// searchPassages searches past messages (in two hops, recallhop.go), narrowed to the period the
// question names when it names one and something was said then.
func (a *Agent) searchPassages(ctx context.Context, q recallQuery) ([]memory.MessageResult, bool) {
	n := a.cfg.Passages
	if n == 0 {
		n = defaultPassages
	}
	if n < 0 {
		return nil, false
	}
	mq := memory.MessageQuery{Text: q.Text, Limit: 2 * n, Neighbours: true}
	search := a.passageSearch()
	if p, rest, ok := whenIn(q.Text, q.Started); ok {
		narrowed := mq
		narrowed.Since, narrowed.Until = p.Since, p.Until
		if rest != "" {
			narrowed.Text = rest
		}
		if res, err := search(ctx, a.store, narrowed); err == nil && len(res) > 0 {
			return trimPassages(res, q.Started, n), true
		}
	}
	res, err := search(ctx, a.store, mq)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("message search failed; answering without past messages", "err", safeErr(err))
		}
		return nil, false
	}
	return trimPassages(res, q.Started, n), false
}

// messageVectors is what the store says of vector message search
// (memory.Vault has it).
type messageVectors interface{ MessageVectors() bool }

// passageSearch is how a turn searches past messages: hybrid in one hop
// while message vectors serve (the vector side finds what a second hop
// would, and a second hop pushed those out: on the recall benchmark,
// hybrid R@10 0.98-1.00 in one hop against 0.73 in two), keyword in two
// hops without them.
func (a *Agent) passageSearch() func(context.Context, messageSearcher, memory.MessageQuery) ([]memory.MessageResult, error) {
	if mv, ok := a.store.(messageVectors); ok && mv.MessageVectors() {
		return func(ctx context.Context, s messageSearcher, q memory.MessageQuery) ([]memory.MessageResult, error) {
			return s.SearchMessages(ctx, q)
		}
	}
	return searchTwoHops
}

// trimPassages drops messages written since the turn began (the one being
// answered) and keeps n.
func trimPassages(res []memory.MessageResult, started time.Time, n int) []memory.MessageResult {
	res = slices.DeleteFunc(res, func(r memory.MessageResult) bool {
		return !r.Message.CreatedAt.Before(started.Add(-time.Second))
	})
	return res[:min(len(res), n)]
}

// fuseRecall merges the two rankings by reciprocal rank fusion, with
// boosts for recent and pinned memories, recent messages, and messages of
// the period the question named.
func fuseRecall(mems []memory.Result, passages []memory.MessageResult, inPeriod bool, now time.Time) []recallItem {
	recency := func(t time.Time) float64 {
		return recallRecency * math.Exp2(-max(now.Sub(t), 0).Hours()/recallHalfLife.Hours())
	}
	var out []recallItem
	for i := range mems {
		m := &mems[i].Item
		s := 1/float64(recallRRFK+i+1) + recency(m.UpdatedAt)
		if m.Pinned {
			s += recallPin
		}
		out = append(out, recallItem{Memory: m, score: s})
	}
	for i := range passages {
		p := &passages[i]
		s := 1/float64(recallRRFK+i+1) + recency(p.Message.CreatedAt)
		if inPeriod {
			s += recallInPeriod
		}
		out = append(out, recallItem{Passage: p, score: s})
	}
	slices.SortStableFunc(out, func(a, b recallItem) int { return cmp.Compare(b.score, a.score) })
	return out
}
