// Command benchreport turns `go test -bench` output (several -count runs)
// into docs/BENCHMARKS.md: the machine, the date, and for each benchmark and
// metric the median and the spread of the runs. `make bench` runs it; every
// figure in the report comes from the measured output, none is typed in.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type series struct {
	name    string
	metrics map[string][]float64
	order   []string
}

func main() {
	in := flag.String("in", "", "go test -bench output (default stdin)")
	out := flag.String("out", "docs/BENCHMARKS.md", "report to write")
	cmdline := flag.String("cmd", "make bench", "the command that produced the input, for the report")
	flag.Parse()
	r := io.Reader(os.Stdin)
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		r = f
	}
	all, cpu, err := parse(r)
	if err != nil {
		fail(err)
	}
	if len(all) == 0 {
		fail(fmt.Errorf("no benchmark results in the input"))
	}
	if err := os.WriteFile(*out, []byte(render(all, cpu, *cmdline)), 0o644); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "benchreport: wrote %s (%d benchmarks)\n", *out, len(all))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

func parse(r io.Reader) ([]*series, string, error) {
	byName := map[string]*series{}
	var all []*series
	var cpu string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = c
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		s := byName[name]
		if s == nil {
			s = &series{name: name, metrics: map[string][]float64{}}
			byName[name] = s
			all = append(all, s)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, ok := s.metrics[unit]; !ok {
				s.order = append(s.order, unit)
			}
			s.metrics[unit] = append(s.metrics[unit], v)
		}
	}
	return all, cpu, sc.Err()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func machine(cpu string) string {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				mem = fmt.Sprintf(", %.0f GiB memory", kb/1024/1024)
			}
		}
	}
	osName := runtime.GOOS
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s", cpu, runtime.NumCPU(), mem, osName)
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func render(all []*series, cpu, cmdline string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `%s` on %s. Do not edit by hand: run it again.\n\n", cmdline, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s\n- Go: %s\n", machine(cpu), goVersion())
	fmt.Fprintf(&b, "- Each figure is the median of the runs, with their range; latencies are per operation, p50/p95 over every operation of a run.\n\n")
	b.WriteString(explain)
	fmt.Fprintf(&b, "| benchmark | metric | median | range | runs |\n|---|---|---:|---:|---:|\n")
	for _, s := range all {
		for _, unit := range s.order {
			v := s.metrics[unit]
			if unit == "ns/op" && len(s.order) > 1 {
				continue // the custom metrics say more
			}
			lo, hi := slices.Min(v), slices.Max(v)
			fmt.Fprintf(&b, "| %s | %s | %s | %s–%s | %d |\n", s.name, unit, num(median(v)), num(lo), num(hi), len(v))
		}
	}
	b.WriteString(ratios(all))
	return b.String()
}

// ratios puts side-by-side measurements of one run next to each other.
func ratios(all []*series) string {
	find := func(name, unit string) (float64, bool) {
		for _, s := range all {
			if s.name == name {
				if v, ok := s.metrics[unit]; ok {
					return median(v), true
				}
			}
		}
		return 0, false
	}
	var b strings.Builder
	for _, n := range []string{"10000", "100000", "1000000"} {
		scan, ok1 := find("VectorScan/int8/n="+n, "p50-ms")
		plain, ok2 := find("VectorScan/plain/n="+n, "p50-ms")
		if ok1 && ok2 && plain > 0 {
			if b.Len() == 0 {
				b.WriteString("\n## Side by side\n\n| comparison | ratio |\n|---|---:|\n")
			}
			fmt.Fprintf(&b, "| int8 scan of every vector ÷ plain read of the same bytes, n=%s (p50) | %s |\n", n, num(scan/plain))
		}
	}
	return b.String()
}

const explain = `## What is measured

- **Search/{keyword,vector,hybrid}/n=N**: one search (limit 10) in a vault of N
  memories with 768-dimension embeddings, including decrypting and ranking the
  results; ` + "`vault-MB`" + ` is the vault file's size.
- **VectorScan/int8** is the int8 dot product with every stored vector;
  **VectorScan/plain** reads the same bytes with ` + "`bytes.IndexByte`" + ` (memory
  speed); **VectorScan/nearest** is the candidate search used by vector search
  (above 20,000 vectors a sign-bit pass first, then int8 on its best 1,000).
- **Recall** is recall@10 of the vault's vector search against exact float32
  search over the same seeded corpus (1,000 clusters).
- **Unlock/n=N** is opening and unlocking (Argon2id, 64 MiB, 3 passes, 4 lanes)
  plus building the in-memory index from the sealed embeddings;
  **Unlock/kdf-only** is the Argon2id step alone.
- **Add/n=N** is adding one memory (sealed, indexed, embedded, committed with
  fsync) to a vault of N.

`
