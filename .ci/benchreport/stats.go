package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is the range of the runs and its half-width as a percentage of
// the median: "1.45–1.57 (±4%)".
func spread(v []float64) string {
	lo, hi := slices.Min(v), slices.Max(v)
	m := median(v)
	if m == 0 || lo == hi {
		return fmt.Sprintf("%s–%s", num(lo), num(hi))
	}
	return fmt.Sprintf("%s–%s (±%.0f%%)", num(lo), num(hi), math.Abs((hi-lo)/2/m*100))
}

// num prints three significant figures or so: 1234, 12.3, 1.23, 0.123.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 0.001:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// readableTime turns ns/op into the unit that suits its size.
func readableTime(unit string, v []float64) (string, []float64) {
	if unit != "ns/op" || len(v) == 0 {
		return unit, v
	}
	scale, to := 1.0, "ns/op"
	switch m := median(v); {
	case m >= 1e9:
		scale, to = 1e9, "s/op"
	case m >= 1e6:
		scale, to = 1e6, "ms/op"
	case m >= 1e3:
		scale, to = 1e3, "µs/op"
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / scale
	}
	return to, out
}
