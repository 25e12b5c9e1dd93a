package main

import (
	"fmt"
	"slices"
	"strings"
)

// peerFloors are the peers that are floors, not stores a person would
// pick: they never count as the fastest peer.
var peerFloors = []string{"exact-float32", "plain-int8-read"}

// recallSets are the query sets BenchmarkPeers reports recall@10 on.
var recallSets = []string{"near", "between", "random"}

// peersSection is Cairn's vector search beside the peers of BenchmarkPeers
// at each size: build rate, latency, recall on each query set, size, and
// how many times Cairn's p50 each peer's p50 is; then, a size, the fastest
// peer whose recall@10 is at least 0.95 on every set.
func peersSection(r *results) string {
	bySize := map[float64][]string{}
	var sizes []float64
	for _, s := range r.inFamily("Peers") {
		n, rest, ok := sizeKey(s.name, "n")
		if !ok {
			continue
		}
		if _, seen := bySize[n]; !seen {
			sizes = append(sizes, n)
		}
		bySize[n] = append(bySize[n], strings.TrimPrefix(rest, "Peers/"))
	}
	if len(sizes) == 0 {
		return ""
	}
	slices.Sort(sizes)
	var b strings.Builder
	b.WriteString("## Vector search against peers\n\n" + describe["Peers"] + "\n\n")
	b.WriteString("| memories | store | build records/s | p50 / p95 ms | recall@10 near | between | random | MB | p50 ÷ Cairn's |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var best []string
	for _, n := range sizes {
		name := func(peer string) string { return fmt.Sprintf("Peers/%s/n=%.0f", peer, n) }
		cairn := name("cairn")
		fastest, fastestP50 := "", 0.0
		for _, peer := range bySize[n] {
			row := []string{countLabel(n), peer, cell(r, name(peer), "build-records/s"), p50p95(r, name(peer))}
			good := true
			for _, set := range recallSets {
				row = append(row, cell(r, name(peer), "recall@10-"+set))
				if v, ok := r.median(name(peer), "recall@10-"+set); !ok || v < 0.95 {
					good = false
				}
			}
			row = append(row, cell(r, name(peer), "MB"), ratio(r, name(peer), cairn))
			fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
			p50, ok := r.median(name(peer), "p50-ms")
			if good && ok && peer != "cairn" && !slices.Contains(peerFloors, peer) && (fastest == "" || p50 < fastestP50) {
				fastest, fastestP50 = peer, p50
			}
		}
		if fastest != "" {
			best = append(best, fmt.Sprintf("- %s: the fastest peer at recall@10 ≥ 0.95 on every set is **%s**; Cairn is **%s** faster (p50).",
				countLabel(n), fastest, ratio(r, name(fastest), cairn)))
		}
	}
	b.WriteString("\n")
	if len(best) > 0 {
		b.WriteString(strings.Join(best, "\n") + "\n\n")
	}
	return b.String()
}
