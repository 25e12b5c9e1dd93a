package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// plotSpec is a chart of one benchmark family against the numeric value of
// a "key=N" element of its names (log scale), one line for each value of
// the rest of the name: Search/keyword/n=10000 and Search/keyword/n=100000
// make the line "keyword". A family that is absent draws nothing.
type plotSpec struct {
	file    string   // written into the plots directory
	title   string   // shown above the chart and as the link text
	family  string   // benchmark family, e.g. "Search"
	key     string   // "n" for n=10000
	metrics []string // the first one the family reports is drawn
	xLabel  string
}

// plots are the charts the report draws when their family was measured.
var plots = []plotSpec{
	{file: "search-latency.svg", title: "Memory search latency (p50) against vault size",
		family: "Search", key: "n", metrics: []string{"p50-ms"}, xLabel: "memories in the vault"},
	{file: "unlock.svg", title: "Unlock and index time against vault size",
		family: "Unlock", key: "n", metrics: []string{"p50-ms"}, xLabel: "memories in the vault"},
	{file: "apply-rate.svg", title: "Apply rate against vault size",
		family: "Apply", key: "n", metrics: []string{"records/s"}, xLabel: "records in the vault"},
	{file: "sync-convergence.svg", title: "Sync convergence time against record count",
		family: "SyncConverge", key: "records", metrics: []string{"s", "ms", "s/op", "ms/op", "p50-ms"}, xLabel: "records changed"},
}

// point is one size: the median and range of the runs.
type point struct{ x, y, lo, hi float64 }

type line struct {
	label  string
	points []point
}

// chartData gathers the lines of a plot, and the metric drawn; no lines
// when the family was not measured.
func chartData(r *results, p plotSpec) ([]line, string) {
	members := r.inFamily(p.family)
	unit := pickMetric(members, p.metrics)
	if unit == "" {
		return nil, ""
	}
	var lines []line
	index := map[string]int{}
	for _, s := range members {
		x, rest, ok := sizeKey(s.name, p.key)
		v := s.metrics[unit]
		if !ok || len(v) == 0 {
			continue
		}
		label := strings.TrimPrefix(strings.TrimPrefix(rest, p.family), "/")
		if label == "" {
			label = p.family
		}
		i, seen := index[label]
		if !seen {
			i = len(lines)
			index[label] = i
			lines = append(lines, line{label: label})
		}
		lines[i].points = append(lines[i].points, point{x: x, y: median(v), lo: slices.Min(v), hi: slices.Max(v)})
	}
	for i := range lines {
		slices.SortFunc(lines[i].points, func(a, b point) int { return cmpFloat(a.x, b.x) })
	}
	return lines, unit
}

// pickMetric is the first preferred metric any member reports, else the
// first custom metric, else ns/op.
func pickMetric(members []*series, preferred []string) string {
	for _, want := range preferred {
		for _, s := range members {
			if _, ok := s.metrics[want]; ok {
				return want
			}
		}
	}
	for _, s := range members {
		for _, u := range s.units {
			if u != "ns/op" && u != "MB/s" && u != "B/op" && u != "allocs/op" {
				return u
			}
		}
	}
	for _, s := range members {
		if _, ok := s.metrics["ns/op"]; ok {
			return "ns/op"
		}
	}
	return ""
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH                       = 720, 420
	padLeft, padRight, padTop, padBottom = 70, 150, 40, 55
	plotW, plotH                         = chartW - padLeft - padRight, chartH - padTop - padBottom
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"}

// axis maps values to pixels along one side of the plot area.
type axis struct {
	lo, hi float64
	log    bool
	ticks  []float64
}

func (a axis) frac(v float64) float64 {
	if a.log {
		return (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	}
	return (v - a.lo) / (a.hi - a.lo)
}

// logAxis spans whole decades around the values, with a tick at each, and
// at 2 and 5 times each when there are few decades.
func logAxis(min, max float64, minor bool) axis {
	lo := math.Pow(10, math.Floor(math.Log10(min)))
	hi := math.Pow(10, math.Ceil(math.Log10(max)))
	if hi <= lo {
		hi = lo * 10
	}
	a := axis{lo: lo, hi: hi, log: true}
	minor = minor && hi/lo <= 1000
	for t := lo; t <= hi*1.0001; t *= 10 {
		a.ticks = append(a.ticks, t)
		if minor && t*10 <= hi*1.0001 {
			a.ticks = append(a.ticks, 2*t, 5*t)
		}
	}
	return a
}

// linearAxis starts at zero and ends at a round number above max.
func linearAxis(max float64) axis {
	if max <= 0 {
		max = 1
	}
	step := niceStep(max / 5)
	hi := math.Ceil(max/step) * step
	a := axis{lo: 0, hi: hi}
	for t := 0.0; t <= hi+step/2; t += step {
		a.ticks = append(a.ticks, t)
	}
	return a
}

func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// valueAxis is log when the values span more than a factor of 30.
func valueAxis(lines []line) axis {
	lo, hi := math.Inf(1), 0.0
	for _, l := range lines {
		for _, p := range l.points {
			lo, hi = math.Min(lo, p.lo), math.Max(hi, p.hi)
		}
	}
	if lo > 0 && hi/lo > 30 {
		return logAxis(lo, hi, true)
	}
	return linearAxis(hi)
}

// svgChart draws the lines: log x, one colour a line, each point's range
// of runs as an error bar.
func svgChart(p plotSpec, lines []line, unit string) string {
	xmin, xmax := math.Inf(1), 0.0
	for _, l := range lines {
		for _, pt := range l.points {
			xmin, xmax = math.Min(xmin, pt.x), math.Max(xmax, pt.x)
		}
	}
	xa, ya := logAxis(xmin, xmax, false), valueAxis(lines)
	px := func(v float64) float64 { return padLeft + xa.frac(v)*plotW }
	py := func(v float64) float64 { return padTop + (1-ya.frac(v))*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padLeft, esc(p.title))
	for _, t := range xa.ticks {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, padTop, x, padTop+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, padTop+plotH+18, countLabel(t))
	}
	for _, t := range ya.ticks {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padLeft, y, padLeft+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-6, y+4, strconv.FormatFloat(t, 'f', -1, 64))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", padLeft, padTop, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s (log scale)</text>`+"\n", padLeft+plotW/2, chartH-12, esc(p.xLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">%s%s</text>`+"\n", padTop+plotH/2, esc(unit), map[bool]string{true: " (log scale)"}[ya.log])
	for i, l := range lines {
		drawLine(&b, l, palette[i%len(palette)], px, py)
		ly := padTop + 10 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", padLeft+plotW+12, ly, padLeft+plotW+32, ly, palette[i%len(palette)])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", padLeft+plotW+38, ly+4, esc(l.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func drawLine(b *strings.Builder, l line, colour string, px, py func(float64) float64) {
	var pts []string
	for _, p := range l.points {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.x), py(p.y)))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), colour)
	for _, p := range l.points {
		x := px(p.x)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x, py(p.lo), x, py(p.hi), colour)
		fmt.Fprintf(b, `<g><title>%s: %s at %s</title><circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/></g>`+"\n",
			esc(l.label), num(p.y), countLabel(p.x), x, py(p.y), colour)
	}
}

// countLabel writes 10000 as 10k and 1000000 as 1M.
func countLabel(v float64) string {
	switch {
	case v >= 1e6 && math.Mod(v, 1e6) == 0:
		return fmt.Sprintf("%.0fM", v/1e6)
	case v >= 1e3 && math.Mod(v, 1e3) == 0:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return num(v)
}

func esc(s string) string { return html.EscapeString(s) }
