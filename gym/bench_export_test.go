package gym

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGymExportParquet: the Parquet export of a gym holding N
// accepted SFT items (CAIRN_BENCH_GYM_ITEMS, default 1,000,000) from 1,000
// keys, with 10,000 shared task results for peer agreement to score. The
// gym is filled straight through SQL (accepting 1M items through
// Contribute would take the benchmark's whole budget); the export is the
// real one. MB-peak-rss is the process's peak resident set during the
// export (VmHWM, reset before it).
func BenchmarkGymExportParquet(b *testing.B) {
	items := 1_000_000
	if s := os.Getenv("CAIRN_BENCH_GYM_ITEMS"); s != "" {
		var err error
		if items, err = strconv.Atoi(s); err != nil {
			b.Fatalf("CAIRN_BENCH_GYM_ITEMS=%q: a number of items", s)
		}
	}
	ctx := context.Background()
	n, err := OpenNode(ctx, NodeConfig{Dir: b.TempDir(), License: testLicense})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	if err := fillGym(ctx, n, items, 1000); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var peak float64
	cpu0 := cpuTime()
	for range b.N {
		dir := b.TempDir()
		debug.FreeOSMemory()
		resetPeakRSS(b)
		rep, err := n.ExportParquet(ctx, dir, 0)
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, peakRSS(b))
		if rep.Rows[SFT] != items {
			b.Fatalf("%d rows exported of %d", rep.Rows[SFT], items)
		}
	}
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(secs, "s/export")
	b.ReportMetric(float64(items)/secs, "rows/s")
	b.ReportMetric(peak, "MB-peak-rss")
	// On a shared machine the wall clock follows the load; the CPU time
	// follows the code.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/export")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillGym stores items accepted SFT items from keys contributors, each
// with its log leaf, and 10 results by 10 keys on each of 1,000 tasks.
func fillGym(ctx context.Context, n *Node, items, keys int) error {
	pubs := make([]PublicKey, keys)
	for i := range pubs {
		pub, _, _ := ed25519.GenerateKey(nil)
		pubs[i] = EncodeKey(pub)
	}
	w := newWords(3)
	at := time.Now().UnixMilli()
	return n.tx(ctx, func(tx *sql.Tx) error {
		item, err := tx.PrepareContext(ctx, "INSERT INTO items (hash, format, raw, contributor, envelope, received, license) VALUES (?, 'sft', ?, ?, 'bench', ?, ?)")
		if err != nil {
			return err
		}
		leaf, err := tx.PrepareContext(ctx, "INSERT INTO log_leaves (n, item) VALUES (?, ?)")
		if err != nil {
			return err
		}
		for i := range items {
			c := sftItem(w.text(30))
			if _, err := item.ExecContext(ctx, c.Hash, []byte(c.Item), pubs[i%keys], at+int64(i), testLicense); err != nil {
				return err
			}
			if _, err := leaf.ExecContext(ctx, i, c.Hash); err != nil {
				return err
			}
		}
		for task := range 1000 {
			id := fmt.Sprintf("t%d", task)
			if _, err := tx.ExecContext(ctx, "INSERT INTO tasks (id, set_id, body) VALUES (?, 's', '{}')", id); err != nil {
				return err
			}
			for k := range 10 {
				verdict := "chosen:" + strings.Repeat("a", k%3)
				if _, err := tx.ExecContext(ctx, "INSERT INTO results (task, contributor, hash, verdict, received) VALUES (?, ?, ?, ?, ?)",
					id, pubs[(task+k*97)%keys], fmt.Sprintf("%s-%d", id, k), verdict, at); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// resetPeakRSS and peakRSS read the process's peak resident set (Linux:
// writing 5 to clear_refs resets VmHWM).
func resetPeakRSS(tb testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Skipf("cannot reset the peak RSS here: %v", err)
	}
}

func peakRSS(tb testing.TB) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	tb.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkGymScores: scoring every key of a gym (1,000 keys, 10,000
// items, 10,000 shared task results), as an export does: **one-pass**
// reads peer agreement once for all keys (what exports do), **per-key**
// calls Record for each key, which reads it again each time (timed on 20
// keys, given for 1,000).
func BenchmarkGymScores(b *testing.B) {
	ctx := context.Background()
	n, err := OpenNode(ctx, NodeConfig{Dir: b.TempDir(), License: testLicense})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	if err := fillGym(ctx, n, 10_000, 1000); err != nil {
		b.Fatal(err)
	}
	keys, err := queryStrings(ctx, n.db, "SELECT DISTINCT contributor FROM items")
	if err != nil || len(keys) != 1000 {
		b.Fatalf("%d keys, %v", len(keys), err)
	}
	b.Run("one-pass", func(b *testing.B) {
		for range b.N {
			sc, err := n.scorer(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if all, err := sc.all(ctx); err != nil || len(all) != len(keys) {
				b.Fatalf("%d scored, %v", len(all), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1000-keys")
	})
	b.Run("per-key", func(b *testing.B) {
		for range b.N {
			for _, k := range keys[:20] {
				if _, err := n.Record(ctx, PublicKey(k)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)*float64(len(keys))/20, "ms/1000-keys")
	})
}
