package memory

import (
	"container/heap"
	"math"
	"slices"
	"sync"
)

// vectorIndex is the in-memory copy of one embedding model's vectors,
// quantised to int8 (a quarter of float32's bytes, so a quarter of the
// memory traffic per query). Vectors are unit length, so a dot product is
// the cosine similarity. Candidates found on the int8 copy are rescored
// exactly against the sealed float32 vectors.
//
// Past bitsThreshold rows even the int8 scan is bound by memory bandwidth
// (77 MB at 100k x 768), so a first pass compares sign bits (a 32nd of
// float32's bytes) by Hamming distance, and only the best candidates of that
// pass are scored on the int8 copy.
type vectorIndex struct {
	model  string
	dim    int
	words  int // uint64s of sign bits a row
	rids   []int64
	data   []int8    // len(rids) rows of dim
	scales []float32 // per row: value = int8 * scale
	bits   []uint64  // len(rids) rows of words: bit i set when value i > 0
	pos    map[int64]int
}

const (
	// bitsThreshold is the row count above which the sign-bit pass runs.
	bitsThreshold = 20_000
	// The sign-bit pass keeps bitsOversample candidates for each one
	// wanted, and at least bitsMinCandidates.
	bitsOversample    = 20
	bitsMinCandidates = 1000
	// bitsMargin is how many standard deviations of a Hamming distance the
	// widened pass allows beyond the bound's centre; bitsWidenings bounds
	// how often it widens before scanning every row, which it does at once
	// when the bound takes in a bitsFullScanShare-th of the rows or more.
	bitsMargin        = 3
	bitsWidenings     = 3
	bitsFullScanShare = 4
)

// scorePool holds scratch score slices, so concurrent queries need not
// allocate a row's worth of int32 each.
var scorePool sync.Pool

func newVectorIndex(model string, dim int) *vectorIndex {
	return &vectorIndex{model: model, dim: dim, words: (dim + 63) / 64, pos: map[int64]int{}}
}

// signBits sets bit i of dst when q[i] > 0. Rows and queries both take
// their bits from the int8 copy, so their Hamming distance compares like
// with like.
//
// Without a branch: embedding signs are random, so a branch per value
// mispredicted half the time and this was most of building the index.
func signBits(q []int8, dst []uint64) {
	for w := range dst {
		var word uint64
		for j, d := range q[min(w*64, len(q)):min((w+1)*64, len(q))] {
			word |= uint64(uint32(-int32(d))>>31) << j // 1 when d > 0
		}
		dst[w] = word
	}
}

func (x *vectorIndex) len() int { return len(x.rids) }

// quantize maps a vector to int8 with one scale: the largest magnitude
// becomes ±127.
func quantize(v []float32, dst []int8) float32 {
	var maxAbs float32
	for _, f := range v {
		if f < 0 {
			f = -f
		}
		if f > maxAbs {
			maxAbs = f
		}
	}
	if maxAbs == 0 {
		clear(dst)
		return 0
	}
	scale := maxAbs / 127
	inv := 1 / scale
	for i, f := range v {
		// Round half away from zero without math.Round's float64 detour.
		x := f * inv
		if x < 0 {
			dst[i] = int8(x - 0.5)
		} else {
			dst[i] = int8(x + 0.5)
		}
	}
	return scale
}

// reserve makes room for n more rows, so loading a large vault does not
// copy the matrix as it grows.
func (x *vectorIndex) reserve(n int) {
	x.rids = slices.Grow(x.rids, n)
	x.scales = slices.Grow(x.scales, n)
	x.data = slices.Grow(x.data, n*x.dim)
	x.bits = slices.Grow(x.bits, n*x.words)
}

// slot returns the row of rid, adding a zeroed row when it has none.
func (x *vectorIndex) slot(rid int64) int {
	if i, ok := x.pos[rid]; ok {
		return i
	}
	i := len(x.rids)
	x.pos[rid] = i
	x.rids = append(x.rids, rid)
	x.data = append(x.data, make([]int8, x.dim)...)
	x.bits = append(x.bits, make([]uint64, x.words)...)
	x.scales = append(x.scales, 0)
	return i
}

// fill copies a quantised vector into row i. Rows are disjoint, so fills of
// different rows may run at once.
func (x *vectorIndex) fill(i int, q []int8, scale float32) {
	copy(x.data[i*x.dim:(i+1)*x.dim], q)
	x.scales[i] = scale
	signBits(q, x.bits[i*x.words:(i+1)*x.words])
}

// remove drops a row by moving the last row into its place.
func (x *vectorIndex) remove(rid int64) {
	i, ok := x.pos[rid]
	if !ok {
		return
	}
	last := len(x.rids) - 1
	if i != last {
		x.rids[i] = x.rids[last]
		x.scales[i] = x.scales[last]
		copy(x.data[i*x.dim:(i+1)*x.dim], x.data[last*x.dim:])
		copy(x.bits[i*x.words:(i+1)*x.words], x.bits[last*x.words:])
		x.pos[x.rids[i]] = i
	}
	x.rids = x.rids[:last]
	x.scales = x.scales[:last]
	x.data = x.data[:last*x.dim]
	x.bits = x.bits[:last*x.words]
	delete(x.pos, rid)
}

type candidate struct {
	rid   int64
	score float32
}

// nearest returns up to n rows with the highest approximate cosine
// similarity to the unit vector q, best first.
//
// Above bitsThreshold rows the sign-bit pass picks the candidates, and is
// checked against what it found: the rows a wider pass could add are those
// whose Hamming distance may still be that of a row as similar as the n-th
// best so far. For a query near stored vectors that bound lies well inside
// the first candidates; for one near none (a fresh direction, where every
// similarity is small and the sign bits say little) it takes in most rows,
// and the int8 copy is scanned whole.
func (x *vectorIndex) nearest(q []float32, n int) []candidate {
	if x.len() == 0 || n <= 0 || len(q) != x.dim {
		return nil
	}
	qi := make([]int8, x.dim)
	qs := quantize(q, qi)
	buf := scratch(x.len())
	defer scorePool.Put(buf)
	scores := (*buf)[:x.len()]
	if x.len() <= bitsThreshold {
		scanInt8(x.data, x.dim, qi, scores)
		return x.best(nil, scores, qs, n)
	}

	dist := scores
	qb := make([]uint64, x.words)
	signBits(qi, qb)
	scanBits(x.bits, x.words, qb, dist)
	counts := histogram(dist, x.dim)
	rows := closest(dist, counts, max(n*bitsOversample, bitsMinCandidates))
	for range bitsWidenings {
		rowScores := make([]int32, len(rows))
		scoreRows(x.data, x.dim, rows, qi, rowScores)
		out := x.best(rows, rowScores, qs, n)
		within := below(counts, x.hammingBound(out, dist, n))
		if within <= len(rows) {
			return out // the candidates hold every row within the bound
		}
		if within*bitsFullScanShare >= x.len() {
			break
		}
		rows = closest(dist, counts, within)
	}
	// The sign bits cannot narrow this query down: score every row.
	scanInt8(x.data, x.dim, qi, scores)
	return x.best(nil, scores, qs, n)
}

// best returns the n highest of the int8 scores, as cosine estimates, best
// first; scores[i] is of rows[i], or of row i when rows is nil.
func (x *vectorIndex) best(rows []int32, scores []int32, qs float32, n int) []candidate {
	h := make(minHeap, 0, n+1)
	for i, s := range scores {
		row := i
		if rows != nil {
			row = int(rows[i])
		}
		c := candidate{rid: x.rids[row], score: float32(s) * x.scales[row] * qs}
		if len(h) < n {
			heap.Push(&h, c)
		} else if c.score > h[0].score {
			h[0] = c
			heap.Fix(&h, 0)
		}
	}
	out := make([]candidate, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(candidate)
	}
	return out
}

// hammingBound is the largest Hamming distance at which a row could still
// be as similar to the query as the n-th best row found: the larger of the
// distance that similarity implies for directions in general (the angle
// over pi, a share of the bits) and the largest distance among the rows
// found, plus bitsMargin standard deviations of a distance of that size.
// With fewer than n rows found any row may count.
func (x *vectorIndex) hammingBound(found []candidate, dist []int32, n int) int {
	if len(found) < n {
		return x.dim
	}
	cos := min(max(float64(found[len(found)-1].score), -1), 1)
	d := float64(x.dim) * math.Acos(cos) / math.Pi
	for _, c := range found {
		d = max(d, float64(dist[x.pos[c.rid]]))
	}
	p := d / float64(x.dim)
	return int(math.Ceil(d + bitsMargin*math.Sqrt(float64(x.dim)*p*(1-p))))
}

func scratch(n int) *[]int32 {
	buf, _ := scorePool.Get().(*[]int32)
	if buf == nil || cap(*buf) < n {
		s := make([]int32, n)
		buf = &s
	}
	return buf
}

// histogram counts the rows at each Hamming distance, 0 to dim.
func histogram(dist []int32, dim int) []int {
	counts := make([]int, dim+1)
	for _, d := range dist {
		counts[min(int(d), dim)]++
	}
	return counts
}

// below is how many rows lie at distance at most d.
func below(counts []int, d int) int {
	n := 0
	for _, c := range counts[:min(d+1, len(counts))] {
		n += c
	}
	return n
}

// closest returns the indexes of the m smallest distances, in row order,
// by counting (counts is histogram(dist)): linear in the rows, with no sort.
func closest(dist []int32, counts []int, m int) []int32 {
	if m >= len(dist) {
		all := make([]int32, len(dist))
		for i := range all {
			all[i] = int32(i)
		}
		return all
	}
	// cut: the distance at which m rows are reached; take all below it and
	// as many at it as fit.
	cut, below := 0, 0
	for cut < len(counts) && below+counts[cut] < m {
		below += counts[cut]
		cut++
	}
	atCut := m - below
	out := make([]int32, 0, m)
	for i, d := range dist {
		switch {
		case int(d) < cut:
			out = append(out, int32(i))
		case int(d) == cut && atCut > 0:
			out = append(out, int32(i))
			atCut--
		}
	}
	return out
}

type minHeap []candidate

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *minHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// normalize scales v to unit length in place and reports whether it could.
func normalize(v []float32) bool {
	var sum float64
	for _, f := range v {
		sum += float64(f) * float64(f)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return false
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return true
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
