package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMessageSearch is one message search (limit 10, keyword, with
// titles; neighbours too in the with-neighbours cases) in a vault of
// 100,000 messages (2,000 conversations of 50), each indexed as passages
// with its neighbouring turns. The texts are Zipf-distributed (exponent
// 1.1 over 20,000 words); plain and with-neighbours search for two words
// ranked 20th to 800th (in 3% to 60% of the messages), the classes common
// (two or three of the 50 commonest), rare (two ranked 2,000th or lower)
// and mixed (two common, one rare), as BenchmarkSearchZipf does.
func BenchmarkMessageSearch(b *testing.B) {
	const n, perConv = 100_000, 50
	v, _ := chatVault(b, n, perConv)
	ctx := context.Background()
	classes := zipfClasses(rand.New(rand.NewPCG(3, 3)), 50, 2000, 20000)
	mid := func(i int) string { return fmt.Sprintf("w%d w%d", 20+i%500, 100+i%700) }
	// The keyword candidates alone, side by side: FTS5 ranking every row
	// holding any term, against the planner's (keywordplan.go).
	keys, _ := v.unlockedKeys()
	for _, planned := range []bool{false, true} {
		name := "candidates-any"
		if planned {
			name = "candidates-planned"
		}
		for _, qc := range append([]queryClass{{name: "mid"}}, classes...) {
			b.Run(fmt.Sprintf("%s/%s/n=%d", name, qc.name, n), func(b *testing.B) {
				latencies(b, func(i int) {
					q := mid(i)
					if qc.queries != nil {
						q = qc.queries[i%len(qc.queries)]
					}
					toks := uniqueTokens(blindTokens(passageIndex.key(keys), words(q)))
					var err error
					if planned {
						_, err = v.plannedRows(ctx, keys, passageIndex, toks, 100)
					} else {
						_, err = v.rankRows(ctx, passageIndex, anyOf(toks), 100, 0)
					}
					if err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
	for _, neighbours := range []bool{false, true} {
		name := "plain"
		if neighbours {
			name = "with-neighbours"
		}
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			latencies(b, func(i int) {
				if _, err := v.SearchMessages(ctx, MessageQuery{Text: mid(i), Mode: Keyword, Neighbours: neighbours}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	for _, qc := range classes {
		b.Run(fmt.Sprintf("with-neighbours/%s/n=%d", qc.name, n), func(b *testing.B) {
			latencies(b, func(i int) {
				if _, err := v.SearchMessages(ctx, MessageQuery{Text: qc.queries[i%len(qc.queries)], Mode: Keyword, Neighbours: true}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
