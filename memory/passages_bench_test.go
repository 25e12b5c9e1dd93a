package memory

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkMessageSearch is one message search (limit 10, keyword, with
// titles; neighbours too in the with-neighbours case) in a vault of 100,000
// messages (2,000 conversations of 50), each indexed as passages with its
// neighbouring turns.
func BenchmarkMessageSearch(b *testing.B) {
	const n, perConv = 100_000, 50
	v, _ := chatVault(b, n, perConv)
	ctx := context.Background()
	// The keyword candidates alone, side by side: FTS5 ranking every row
	// holding any term, against rows holding all common terms first.
	keys, _ := v.unlockedKeys()
	for _, allFirst := range []bool{false, true} {
		name := "candidates-any"
		if allFirst {
			name = "candidates-all-first"
		}
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			latencies(b, func(i int) {
				q := fmt.Sprintf("w%d w%d", 20+i%500, 100+i%700)
				var err error
				if allFirst {
					_, err = v.passageRows(ctx, keys, q, 100)
				} else {
					_, err = v.keywordCandidates(ctx, keys, passageIndex, q, 100)
				}
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	for _, neighbours := range []bool{false, true} {
		name := "plain"
		if neighbours {
			name = "with-neighbours"
		}
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			latencies(b, func(i int) {
				if _, err := v.SearchMessages(ctx, MessageQuery{Text: fmt.Sprintf("w%d w%d", 20+i%500, 100+i%700), Mode: Keyword, Neighbours: neighbours}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
