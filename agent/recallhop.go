package agent

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/cairnlabs/cairn/memory"
)

// messageSearcher is the part of the store the second hop needs.
type messageSearcher interface {
	SearchMessages(context.Context, memory.MessageQuery) ([]memory.MessageResult, error)
}

// A question that joins two things said apart ("in which town does the
// aunt who gave me the cello live?") names the first (the cello) but not
// what links it to the second (the aunt's name, said in another
// conversation). searchTwoHops searches once, then again with what the
// best message found does not answer (the words of the question it lacks)
// and what it adds (its words the question lacks: the name), and fuses
// the two lists by reciprocal rank, so that what only the second hop finds
// (the aunt's town, said next to her name) gets a place.
func searchTwoHops(ctx context.Context, store messageSearcher, q memory.MessageQuery) ([]memory.MessageResult, error) {
	first, err := store.SearchMessages(ctx, q)
	if err != nil || len(first) == 0 {
		return first, err
	}
	top := first[0].Message.Content
	bridge, rest := wordsNotIn(top, q.Text), wordsNotIn(q.Text, top)
	if bridge == "" || rest == "" {
		return first, nil // nothing to link, or nothing left to ask
	}
	hop := q
	hop.Text = rest + " " + bridge
	second, err := store.SearchMessages(ctx, hop)
	if err != nil {
		return first, nil // the first hop stands on its own
	}
	return fuseHops(first, second, q.Limit), nil
}

// wordsNotIn are the words of text, once each, that other does not have.
func wordsNotIn(text, other string) string {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	have := map[string]bool{}
	for _, w := range split(other) {
		have[w] = true
	}
	var out []string
	for _, w := range split(text) {
		if !have[w] {
			have[w] = true
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// fuseHops keeps the first hop's best half of the limit in its order, and
// fills the other half with what the second hop found that those lack,
// best first, then with the rest of the first hop: the second hop adds,
// it never pushes down what the question itself found best.
func fuseHops(first, second []memory.MessageResult, limit int) []memory.MessageResult {
	limit = max(limit, 1)
	keep := first[:min(len(first), (limit+1)/2)]
	out := slices.Clone(keep)
	seen := map[string]bool{}
	for _, r := range keep {
		seen[r.Message.ID] = true
	}
	for _, list := range [][]memory.MessageResult{second, first} {
		for _, r := range list {
			if len(out) == limit {
				return out
			}
			if !seen[r.Message.ID] {
				seen[r.Message.ID] = true
				out = append(out, r)
			}
		}
	}
	return out
}
