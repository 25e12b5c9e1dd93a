package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkConcurrentWrites: 64 writers add memories for 3 seconds while
// 8 readers search, each write committed on its own (the old way: every
// writer waits for SQLite's lock holding a pooled connection, and pays an
// fsync) or in groups (groupcommit.go), side by side in one run.
func BenchmarkConcurrentWrites(b *testing.B) {
	for _, mode := range []string{"each", "group"} {
		b.Run("commit="+mode, func(b *testing.B) {
			ctx := context.Background()
			v, _ := newTestVault(b)
			if mode == "each" {
				v.writes = nil
			}
			for i := range 2000 {
				if _, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("seed note %d about bees and w%d", i, i%97)}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				run, cancel := context.WithTimeout(ctx, 3*time.Second)
				var adds atomic.Int64
				var mu sync.Mutex
				var searches []time.Duration
				var wg sync.WaitGroup
				for w := range 64 {
					wg.Go(func() {
						for i := 0; run.Err() == nil; i++ {
							if _, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("writer %d note %d w%d", w, i, i%97)}); err != nil {
								b.Error(err)
								return
							}
							adds.Add(1)
						}
					})
				}
				for r := range 8 {
					wg.Go(func() {
						for i := 0; run.Err() == nil; i++ {
							t0 := time.Now()
							if _, err := v.Search(ctx, Query{Text: fmt.Sprintf("w%d", (r+i)%97), Mode: Keyword, Limit: 10}); err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							searches = append(searches, time.Since(t0))
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				cancel()
				slices.Sort(searches)
				b.ReportMetric(float64(adds.Load())/3, "adds/s")
				b.ReportMetric(float64(len(searches))/3, "searches/s")
				b.ReportMetric(float64(searches[len(searches)/2].Microseconds())/1000, "search-p50-ms")
				b.ReportMetric(float64(searches[len(searches)*99/100].Microseconds())/1000, "search-p99-ms")
			}
		})
	}
}
