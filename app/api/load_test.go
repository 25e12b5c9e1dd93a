package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// Fifty clients search and add at once for five seconds: no request
// fails, and every add the server acknowledged is in the vault afterwards.
func TestFiftyClients(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var (
		mu       sync.Mutex
		acked    []string
		failures atomic.Int64
		searches atomic.Int64
		firstErr atomic.Value
	)
	fail := func(err error) {
		failures.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	var wg sync.WaitGroup
	for c := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				var req *http.Request
				add := i%3 == 0
				if add {
					req, _ = http.NewRequest("POST", f.srv.URL+"/api/v1/memories", strings.NewReader(fmt.Sprintf(`{"text":"client %d note %d about bees and boats"}`, c, i)))
				} else {
					req, _ = http.NewRequest("GET", f.srv.URL+"/api/v1/memories?q=bees+boats&limit=5", nil)
				}
				req.Header.Set("Authorization", "Bearer "+f.admin)
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					continue
				}
				var it memory.Item
				err = json.NewDecoder(resp.Body).Decode(&it)
				resp.Body.Close()
				switch {
				case add && resp.StatusCode != http.StatusCreated:
					fail(fmt.Errorf("add: %s", resp.Status))
				case !add && resp.StatusCode != http.StatusOK:
					fail(fmt.Errorf("search: %s", resp.Status))
				case err != nil:
					fail(err)
				case add:
					mu.Lock()
					acked = append(acked, it.ID)
					mu.Unlock()
				default:
					searches.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d requests failed; first: %v", n, firstErr.Load())
	}
	items, err := f.vault.List(context.Background(), memory.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, it := range items {
		have[it.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged add %s is not in the vault", id)
		}
	}
	if len(acked) == 0 || searches.Load() == 0 {
		t.Fatalf("%d adds and %d searches in 5 s", len(acked), searches.Load())
	}
	t.Logf("50 clients, 5 s: %d adds and %d searches, no errors", len(acked), searches.Load())
}

// BenchmarkAPILoad: 200 clients search and add (one add in three) for 30
// seconds over loopback against a vault of 10,000 memories; p50 and p99 of
// each kind of request.
func BenchmarkAPILoad(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	for i := range 10_000 {
		if _, err := f.vault.Add(ctx, memory.NewItem{Text: fmt.Sprintf("note %d about bees, boats and w%d", i, i%997)}); err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	for b.Loop() {
		run, cancel := context.WithTimeout(ctx, 30*time.Second)
		var mu sync.Mutex
		var adds, searches []time.Duration
		var failures atomic.Int64
		var wg sync.WaitGroup
		for c := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; run.Err() == nil; i++ {
					add := i%3 == 0
					var req *http.Request
					if add {
						req, _ = http.NewRequest("POST", f.srv.URL+"/api/v1/memories", strings.NewReader(fmt.Sprintf(`{"text":"client %d note %d"}`, c, i)))
					} else {
						req, _ = http.NewRequest("GET", fmt.Sprintf("%s/api/v1/memories?q=bees+w%d&limit=10", f.srv.URL, i%997), nil)
					}
					req.Header.Set("Authorization", "Bearer "+f.admin)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						failures.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					d := time.Since(t0)
					if resp.StatusCode >= 300 {
						failures.Add(1)
						continue
					}
					mu.Lock()
					if add {
						adds = append(adds, d)
					} else {
						searches = append(searches, d)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		cancel()
		if n := failures.Load(); n > 0 {
			b.Fatalf("%d requests failed", n)
		}
		pct := func(ds []time.Duration, p float64) float64 {
			slices.Sort(ds)
			return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(searches, 0.50), "search-p50-ms")
		b.ReportMetric(pct(searches, 0.99), "search-p99-ms")
		b.ReportMetric(pct(adds, 0.50), "add-p50-ms")
		b.ReportMetric(pct(adds, 0.99), "add-p99-ms")
		b.ReportMetric(float64(len(searches)+len(adds))/30, "req/s")
	}
}
