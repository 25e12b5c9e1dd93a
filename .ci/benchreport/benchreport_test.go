package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parsed(t *testing.T, path string) *results {
	t.Helper()
	r := newResults()
	if err := parseFile(r, path); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseKeepsEveryRunOfEveryBenchmark(t *testing.T) {
	r := parsed(t, "testdata/bench.txt")
	if r.cpu != "AMD EPYC" {
		t.Errorf("cpu = %q", r.cpu)
	}
	s := r.get("Search/keyword/n=10000")
	if s == nil || len(s.metrics["p50-ms"]) != 3 || s.pkg != "github.com/cairnlabs/cairn/memory" {
		t.Fatalf("Search/keyword/n=10000: %+v", s)
	}
	if m, _ := s.median("p50-ms"); m != 1.48 {
		t.Errorf("median p50 = %v, want 1.48 (of 1.48, 1.45, 1.57)", m)
	}
	if s := r.get("SyncConverge/records=10000"); s == nil || s.pkg != "github.com/cairnlabs/cairn/sync" || len(s.metrics["s"]) != 2 {
		t.Errorf("a second package's benchmark: %+v", s)
	}
	if r.get("NewThing/case") == nil {
		t.Error("a benchmark with only ns/op is missing")
	}
}

func TestSizeKey(t *testing.T) {
	for _, c := range []struct {
		name, key, rest string
		n               float64
		ok              bool
	}{
		{"Search/keyword/n=10000", "n", "Search/keyword", 10000, true},
		{"SyncConverge/records=100", "records", "SyncConverge", 100, true},
		{"Unlock/kdf-only", "n", "", 0, false},
		{"X/n=many", "n", "", 0, false},
	} {
		n, rest, ok := sizeKey(c.name, c.key)
		if n != c.n || rest != c.rest || ok != c.ok {
			t.Errorf("sizeKey(%q, %q) = %v, %q, %v", c.name, c.key, n, rest, ok)
		}
	}
}

// The report has the headline tables, a table for a family it knows
// nothing about, and the sync chart when sync was measured; without it the
// chart's old file goes and the report does not link it.
func TestReportAndCharts(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "docs", "BENCHMARKS.md")
	plots := filepath.Join(dir, "docs", "bench")
	os.MkdirAll(filepath.Dir(out), 0o755)
	if err := run("testdata/bench.txt", out, plots, "", "make bench"); err != nil {
		t.Fatal(err)
	}
	report := read(t, out)
	for _, want := range []string{
		"| 10k | 1.48 / 2.49 | 2.00 / 2.63 | 3.24 / 4.61 | 0.195 | 10.3× |",                                           // search beside the plain read
		"| keyword | inflected | 124 | 0.855 |",                                                                       // retrieval quality
		"| 1.00 / 0.990 / 0.970 |\n",                                                                                  // recall on each query set
		"| 100k | sqlite-vec-int8 | 17948 | 112 / 120 | 0.970 | 0.970 | 0.960 | 81.0 | 28.0× |",                       // a peer beside Cairn
		"- 100k: the fastest peer at recall@10 ≥ 0.95 on every set is **sqlite-vec-int8**; Cairn is **28.0×** faster", // not the bit table (recall), nor a floor
		"| NewThing/case | µs/op | 1.23 |",                                                                            // unknown family, still reported
		"(No description yet",
		"![Memory search latency (p50) against vault size](bench/search-latency.svg)",
		"![Sync convergence time against record count](bench/sync-convergence.svg)",
		"| Search/keyword/n=10000 | p50-ms | 1.48 | 1.45–1.57 (±4%) | 3 |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	svg := read(t, filepath.Join(plots, "sync-convergence.svg"))
	if strings.Count(svg, "<circle") != 3 || !strings.Contains(svg, ">1k</text>") {
		t.Errorf("sync chart: want 3 points and a 1k tick:\n%s", svg)
	}

	noSync := filepath.Join(dir, "nosync.txt")
	var kept []string
	for _, l := range strings.Split(read(t, "testdata/bench.txt"), "\n") {
		if !strings.Contains(l, "SyncConverge") {
			kept = append(kept, l)
		}
	}
	os.WriteFile(noSync, []byte(strings.Join(kept, "\n")), 0o644)
	if err := run(noSync, out, plots, "", "make bench"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(plots, "sync-convergence.svg")); !os.IsNotExist(err) {
		t.Errorf("the sync chart of an earlier run is still there: %v", err)
	}
	if strings.Contains(read(t, out), "sync-convergence") {
		t.Error("the report links a sync chart that was not drawn")
	}
}

func TestNoResultsIsAnError(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, []byte("FAIL\tgithub.com/cairnlabs/cairn/memory\n"), 0o644)
	if err := run(empty, filepath.Join(t.TempDir(), "B.md"), t.TempDir(), "", "x"); err == nil {
		t.Error("a run with no results wrote a report")
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
