package memory

import (
	"container/heap"
	"math"
	"sync"
)

// vectorIndex is the in-memory copy of one embedding model's vectors,
// quantised to int8 (a quarter of float32's bytes, so a quarter of the
// memory traffic per query). Vectors are unit length, so a dot product is
// the cosine similarity. Candidates found on the int8 copy are rescored
// exactly against the sealed float32 vectors.
type vectorIndex struct {
	model  string
	dim    int
	rids   []int64
	data   []int8    // len(rids) rows of dim
	scales []float32 // per row: value = int8 * scale
	pos    map[int64]int
}

// scorePool holds scratch score slices, so concurrent queries need not
// allocate a row's worth of int32 each.
var scorePool sync.Pool

func newVectorIndex(model string, dim int) *vectorIndex {
	return &vectorIndex{model: model, dim: dim, pos: map[int64]int{}}
}

func (x *vectorIndex) len() int { return len(x.rids) }

// quantize maps a vector to int8 with one scale: the largest magnitude
// becomes ±127.
func quantize(v []float32, dst []int8) float32 {
	var maxAbs float32
	for _, f := range v {
		maxAbs = max(maxAbs, float32(math.Abs(float64(f))))
	}
	if maxAbs == 0 {
		clear(dst)
		return 0
	}
	scale := maxAbs / 127
	for i, f := range v {
		dst[i] = int8(math.Round(float64(f / scale)))
	}
	return scale
}

func (x *vectorIndex) upsert(rid int64, v []float32) {
	if len(v) != x.dim {
		return
	}
	i, ok := x.pos[rid]
	if !ok {
		i = len(x.rids)
		x.pos[rid] = i
		x.rids = append(x.rids, rid)
		x.data = append(x.data, make([]int8, x.dim)...)
		x.scales = append(x.scales, 0)
	}
	x.scales[i] = quantize(v, x.data[i*x.dim:(i+1)*x.dim])
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
		x.pos[x.rids[i]] = i
	}
	x.rids = x.rids[:last]
	x.scales = x.scales[:last]
	x.data = x.data[:last*x.dim]
	delete(x.pos, rid)
}

type candidate struct {
	rid   int64
	score float32
}

// nearest returns up to n rows with the highest approximate cosine
// similarity to the unit vector q, best first.
func (x *vectorIndex) nearest(q []float32, n int) []candidate {
	if x.len() == 0 || n <= 0 || len(q) != x.dim {
		return nil
	}
	qi := make([]int8, x.dim)
	qs := quantize(q, qi)
	buf, _ := scorePool.Get().(*[]int32)
	if buf == nil || cap(*buf) < x.len() {
		s := make([]int32, x.len())
		buf = &s
	}
	defer scorePool.Put(buf)
	scores := (*buf)[:x.len()]
	scanInt8(x.data, x.dim, qi, scores)
	h := make(minHeap, 0, n+1)
	for i, s := range scores {
		c := candidate{rid: x.rids[i], score: float32(s) * x.scales[i] * qs}
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
