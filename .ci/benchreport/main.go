// Command benchreport turns `go test -bench` output (several -count runs,
// from one or more files) into docs/BENCHMARKS.md and its plots: the
// machine, the date, the Go and Ollama versions, the headline tables, and
// for each benchmark and metric the median and the spread of the runs.
// `make bench` runs it; every figure in the report comes from the measured
// output, none is typed in.
//
// Any benchmark appears in the report; families listed in describe
// (families.go) get a paragraph saying what they measure, and those in
// plots (plot.go) a chart against their size. A measurement that is not a
// Go benchmark joins in by printing lines of the same form, one per run,
// name, an iteration count, then value-unit pairs:
//
//	BenchmarkDesktopIdle/app  1  182.4 PSS-MB  0.91 start-s
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "", "go test -bench output files, comma-separated (default stdin)")
	out := flag.String("out", "docs/BENCHMARKS.md", "report to write")
	plotDir := flag.String("plots", "docs/bench", "directory for the plots (SVG)")
	ollama := flag.String("ollama", "", "the ollama binary the benchmarks ran against, for its version")
	cmdline := flag.String("cmd", "make bench", "the command that produced the input, for the report")
	flag.Parse()
	if err := run(*in, *out, *plotDir, *ollama, *cmdline); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(in, out, plotDir, ollama, cmdline string) error {
	r, err := readResults(in)
	if err != nil {
		return err
	}
	if len(r.all) == 0 {
		return errors.New("no benchmark results in the input: did `go test -bench` run and pass?")
	}
	charts, err := writeCharts(r, plotDir, filepath.Dir(out))
	if err != nil {
		return err
	}
	h := header{
		command:   cmdline,
		date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		machine:   machine(r.cpu),
		load:      load(),
		goVersion: cmp.Or(goVersion(), runtime.Version()),
		ollama:    ollamaVersion(ollama),
		commit:    commit(out, plotDir),
	}
	if err := os.WriteFile(out, []byte(render(r, h, charts)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchreport: wrote %s (%d benchmarks, %d plots)\n", out, len(r.all), len(charts))
	return nil
}

func readResults(in string) (*results, error) {
	r := newResults()
	if in == "" {
		return r, r.parse(os.Stdin)
	}
	for _, path := range strings.Split(in, ",") {
		if err := parseFile(r, strings.TrimSpace(path)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func parseFile(r *results, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := r.parse(io.Reader(f)); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// writeCharts draws each plot whose family was measured, and removes the
// file of one that was not, so no stale chart is left beside the report.
// Links are relative to the report's directory.
func writeCharts(r *results, dir, reportDir string) ([]chart, error) {
	var charts []chart
	for _, p := range plots {
		path := filepath.Join(dir, p.file)
		lines, unit := chartData(r, p)
		if len(lines) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(svgChart(p, lines, unit)), 0o644); err != nil {
			return nil, err
		}
		link, err := filepath.Rel(reportDir, path)
		if err != nil {
			link = path
		}
		charts = append(charts, chart{title: p.title, link: filepath.ToSlash(link)})
	}
	return charts, nil
}
