package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// series is one benchmark's results over the runs: for each metric (unit)
// one value a run, in the order the runs came.
type series struct {
	name    string // without the "Benchmark" prefix: "Search/keyword/n=10000"
	pkg     string // import path, from the "pkg:" line before it
	metrics map[string][]float64
	units   []string // metrics in the order first seen
}

// family is the first element of the name: "Search" of "Search/keyword/n=10000".
func (s *series) family() string {
	f, _, _ := strings.Cut(s.name, "/")
	return f
}

// median of one metric, and whether the benchmark reported it.
func (s *series) median(unit string) (float64, bool) {
	v, ok := s.metrics[unit]
	if !ok || len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

// results is everything parsed from one or more `go test -bench` outputs.
type results struct {
	all    []*series
	byName map[string]*series
	cpu    string
}

func newResults() *results { return &results{byName: map[string]*series{}} }

func (r *results) get(name string) *series { return r.byName[name] }

// median of a benchmark's metric, and whether both exist.
func (r *results) median(name, unit string) (float64, bool) {
	s := r.get(name)
	if s == nil {
		return 0, false
	}
	return s.median(unit)
}

// parse reads `go test -bench` output: "pkg:" and "cpu:" header lines, and
// result lines "BenchmarkName  N  value unit  value unit ...". Lines of
// anything else (logs, PASS, ok) are skipped.
func (r *results) parse(in io.Reader) error {
	pkg := ""
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			r.cpu = strings.TrimSpace(c)
			continue
		}
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		r.addLine(pkg, strings.Fields(line))
	}
	return sc.Err()
}

func (r *results) addLine(pkg string, f []string) {
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return // not a result line (e.g. a log line that starts with a name)
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	s := r.byName[name]
	if s == nil {
		s = &series{name: name, pkg: pkg, metrics: map[string][]float64{}}
		r.byName[name] = s
		r.all = append(r.all, s)
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		unit := f[i+1]
		if _, seen := s.metrics[unit]; !seen {
			s.units = append(s.units, unit)
		}
		s.metrics[unit] = append(s.metrics[unit], v)
	}
}

// families lists the benchmark families in the order first seen.
func (r *results) families() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range r.all {
		if f := s.family(); !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// inFamily is the family's benchmarks in the order first seen.
func (r *results) inFamily(family string) []*series {
	var out []*series
	for _, s := range r.all {
		if s.family() == family {
			out = append(out, s)
		}
	}
	return out
}

// sizeKey splits a name with a numeric "key=N" element into N and the rest
// of the name without it: "Search/keyword/n=10000" with key "n" gives
// 10000 and "Search/keyword".
func sizeKey(name, key string) (float64, string, bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		v, ok := strings.CutPrefix(p, key+"=")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, "", false
		}
		rest := append(parts[:i:i], parts[i+1:]...)
		return n, strings.Join(rest, "/"), true
	}
	return 0, "", false
}
