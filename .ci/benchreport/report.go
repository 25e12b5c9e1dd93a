package main

import (
	"fmt"
	"slices"
	"strings"
)

// header is what the report says about where and how it was measured.
type header struct {
	command, date, machine, load, goVersion, ollama, commit string
}

// chart is a plot written next to the report, as the report links it.
type chart struct{ title, link string }

func render(r *results, h header, charts []chart) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `%s` on %s from the measured runs; do not edit by hand: run it again.\n\n", h.command, h.date)
	fmt.Fprintf(&b, "- Machine: %s\n- Load: %s\n- Go: %s\n- Ollama: %s\n- Cairn: %s\n", h.machine, h.load, h.goVersion, h.ollama, h.commit)
	fmt.Fprintf(&b, "- Runs: each benchmark ran %s times on one core (`-cpu 1`). A figure is the median of the runs, "+
		"with their range and its half-width as a share of the median; p50/p95/p99 are over every operation of a run.\n\n", runCounts(r))
	b.WriteString(searchSection(r, charts))
	b.WriteString(peersSection(r))
	b.WriteString(retrievalSection(r))
	b.WriteString(chartSection(charts))
	b.WriteString(allFigures(r))
	return b.String()
}

// runCounts is "3", or "2 to 3" when benchmarks ran different numbers of times.
func runCounts(r *results) string {
	lo, hi := 0, 0
	for _, s := range r.all {
		for _, v := range s.metrics {
			if lo == 0 || len(v) < lo {
				lo = len(v)
			}
			hi = max(hi, len(v))
		}
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// searchSizes are the vault sizes memory search was measured at.
func searchSizes(r *results) []float64 {
	var sizes []float64
	for _, s := range r.inFamily("Search") {
		if n, _, ok := sizeKey(s.name, "n"); ok && !slices.Contains(sizes, n) {
			sizes = append(sizes, n)
		}
	}
	slices.Sort(sizes)
	return sizes
}

// searchSection is the headline table: each mode's latency at each vault
// size beside plain reads of the same bytes in the same run, and recall.
func searchSection(r *results, charts []chart) string {
	sizes := searchSizes(r)
	if len(sizes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Memory search\n\n")
	b.WriteString("Latency of one search (limit 10) at each vault size, p50 / p95 in ms, medians of the runs. " +
		"*Read* columns are a plain read of the same bytes in the same run: every int8 vector (the floor for " +
		"looking at every vector) and every memory's text (what grep over the plaintext would cost); the ratio " +
		"is search p50 ÷ read p50. Recall@10 is the quantised vector search against exact float32 search, for queries " +
		"near stored vectors / between two clusters / in random directions (the hard ones for a sign-bit prefilter).\n\n")
	b.WriteString("| memories | keyword | vector | hybrid | read vectors | vector ÷ read | hybrid ÷ read | read texts | keyword ÷ read | recall@10 |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range sizes {
		N := fmt.Sprintf("n=%.0f", n)
		readVec := cell(r, "VectorScan/plain/"+N, "p50-ms")
		readText := cell(r, "TextScan/plain/"+N, "p50-ms")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", countLabel(n),
			p50p95(r, "Search/keyword/"+N), p50p95(r, "Search/vector/"+N), p50p95(r, "Search/hybrid/"+N),
			readVec, ratio(r, "Search/vector/"+N, "VectorScan/plain/"+N), ratio(r, "Search/hybrid/"+N, "VectorScan/plain/"+N),
			readText, ratio(r, "Search/keyword/"+N, "TextScan/plain/"+N), recallCell(r, N))
	}
	b.WriteString("\n")
	for _, c := range charts {
		if strings.HasSuffix(c.link, "/search-latency.svg") {
			fmt.Fprintf(&b, "![%s](%s)\n\n", c.title, c.link)
		}
	}
	return b.String()
}

// recallCell is recall@10 on each recall set, "near / between / random",
// or a run's single recall figure from before the sets.
func recallCell(r *results, size string) string {
	if _, ok := r.median("Recall/near/"+size, "recall@10"); !ok {
		return cell(r, "Recall/"+size, "recall@10")
	}
	var out []string
	for _, set := range recallSets {
		out = append(out, cell(r, "Recall/"+set+"/"+size, "recall@10"))
	}
	return strings.Join(out, " / ")
}

func cell(r *results, name, unit string) string {
	if v, ok := r.median(name, unit); ok {
		return num(v)
	}
	return "–"
}

func p50p95(r *results, name string) string {
	p50, ok1 := r.median(name, "p50-ms")
	p95, ok2 := r.median(name, "p95-ms")
	if !ok1 || !ok2 {
		return "–"
	}
	return num(p50) + " / " + num(p95)
}

// ratio of two benchmarks' p50 medians, "–" when either is missing.
func ratio(r *results, num_, den string) string {
	a, ok1 := r.median(num_, "p50-ms")
	d, ok2 := r.median(den, "p50-ms")
	if !ok1 || !ok2 || d == 0 {
		return "–"
	}
	return num(a/d) + "×"
}

// retrievalSection is keyword search's quality on the synthetic corpus.
func retrievalSection(r *results) string {
	members := r.inFamily("Retrieval")
	if len(members) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Retrieval quality\n\n" + describe["Retrieval"] + "\n\n")
	b.WriteString("| search | questions | how many | recall@1 | recall@5 | recall@10 | MRR@10 |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, s := range members {
		mode, kind, _ := strings.Cut(strings.TrimPrefix(s.name, "Retrieval/"), "/")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mode, kind,
			cell(r, s.name, "queries"), cell(r, s.name, "recall@1"), cell(r, s.name, "recall@5"),
			cell(r, s.name, "recall@10"), cell(r, s.name, "MRR@10"))
	}
	b.WriteString("\n")
	return b.String()
}

func chartSection(charts []chart) string {
	if len(charts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Plots\n\nMedians of the runs, with their range as an error bar; size on a log scale.\n\n")
	for _, c := range charts {
		if strings.HasSuffix(c.link, "/search-latency.svg") {
			fmt.Fprintf(&b, "- [%s](%s) (above)\n", c.title, c.link)
		} else {
			fmt.Fprintf(&b, "- %s:\n\n  ![%s](%s)\n", c.title, c.title, c.link)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// allFigures is every metric of every benchmark, by family, each family
// with what it measures when that is known.
func allFigures(r *results) string {
	var b strings.Builder
	b.WriteString("## All figures\n\n")
	for _, f := range r.families() {
		members := r.inFamily(f)
		fmt.Fprintf(&b, "### %s\n\n", f)
		if d, ok := describe[f]; ok {
			b.WriteString(d + "\n\n")
		} else {
			b.WriteString("(No description yet: add one to `describe` in .ci/benchreport/families.go.)\n\n")
		}
		fmt.Fprintf(&b, "Package `%s`.\n\n", members[0].pkg)
		b.WriteString("| benchmark | metric | median | range | runs |\n|---|---|---:|---:|---:|\n")
		for _, s := range members {
			for _, unit := range shownUnits(s) {
				u, v := readableTime(unit, s.metrics[unit])
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", s.name, u, num(median(v)), spread(v), len(v))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// shownUnits leaves out ns/op when a benchmark reports its own figures:
// they say more than the time of a b.Loop iteration.
func shownUnits(s *series) []string {
	if len(s.units) == 1 {
		return s.units
	}
	var out []string
	for _, u := range s.units {
		if u != "ns/op" {
			out = append(out, u)
		}
	}
	return out
}
