package memory

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestClosest(t *testing.T) {
	dist := []int32{5, 1, 9, 1, 3, 7, 1, 0}
	counts := histogram(dist, 10)
	got := closest(dist, counts, 3)
	slices.Sort(got)
	// 0 (index 7) then two of the three 1s, in index order.
	if !slices.Equal(got, []int32{1, 3, 7}) {
		t.Fatalf("closest 3 = %v", got)
	}
	if got := closest(dist, counts, 20); len(got) != len(dist) {
		t.Fatalf("asking for more than there are: %v", got)
	}
}

// Both search paths (int8 scan alone, and the sign-bit pass before it) find
// the exact nearest neighbours on a clustered corpus, and stay right after
// rows are removed and replaced: for queries near the stored vectors and
// for the hard ones, points between two clusters and fresh random
// directions (where the sign bits say least).
func TestVectorIndexRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const dim = 256
	centres := make([][]float32, 300)
	for i := range centres {
		centres[i] = gaussian(rng, dim, 1)
	}
	for _, n := range []int{5_000, bitsThreshold + 10_000} {
		x := newVectorIndex("m", dim)
		vecs := map[int64][]float32{}
		for i := range n {
			v := around(rng, centres[rng.IntN(len(centres))], 0.6)
			vecs[int64(i)] = v
			upsert(x, int64(i), v)
		}
		// Remove a tenth and replace another tenth with new vectors.
		for i := 0; i < n/10; i++ {
			x.remove(int64(i))
			delete(vecs, int64(i))
			j := int64(n/10 + i)
			v := around(rng, centres[rng.IntN(len(centres))], 0.6)
			vecs[j] = v
			upsert(x, j, v)
		}
		if x.len() != len(vecs) {
			t.Fatalf("index holds %d rows, want %d", x.len(), len(vecs))
		}
		queries := map[string]func() []float32{
			"near": func() []float32 { return around(rng, centres[rng.IntN(len(centres))], 0.6) },
			"between": func() []float32 {
				a, b := centres[rng.IntN(len(centres))], centres[rng.IntN(len(centres))]
				mid := make([]float32, dim)
				for i := range mid {
					mid[i] = (a[i] + b[i]) / 2
				}
				return around(rng, mid, 0.6)
			},
			"random": func() []float32 {
				v := gaussian(rng, dim, 1)
				normalize(v)
				return v
			},
		}
		for set, query := range queries {
			if recall := indexRecall(x, vecs, query); recall < 0.95 {
				t.Fatalf("n=%d, %s queries: recall@10 within the 40 candidates %.3f, want >= 0.95", n, set, recall)
			}
		}
	}
}

// indexRecall is the share of the exact top 10 that nearest's 40
// candidates hold, over 30 queries.
func indexRecall(x *vectorIndex, vecs map[int64][]float32, query func() []float32) float64 {
	hit, total := 0, 0
	for range 30 {
		q := query()
		var exact []candidate
		for rid, v := range vecs {
			exact = append(exact, candidate{rid, dot(q, v)})
		}
		slices.SortFunc(exact, func(a, b candidate) int { return cmpScore(b.score, a.score) })
		got := map[int64]bool{}
		for _, c := range x.nearest(q, 40) {
			got[c.rid] = true
		}
		for _, e := range exact[:10] {
			total++
			if got[e.rid] {
				hit++
			}
		}
	}
	return float64(hit) / float64(total)
}

// upsert quantises v and stores it as rid's row.
func upsert(x *vectorIndex, rid int64, v []float32) {
	q := make([]int8, x.dim)
	x.fill(x.slot(rid), q, quantize(v, q))
}

// signBits sets exactly the bits of the positive values, for every value
// an int8 takes and dimensions that do not fill the last word.
func TestSignBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dim := range []int{1, 63, 64, 65, 384, 768, 1000} {
		q := make([]int8, dim)
		for i := range q {
			q[i] = int8(rng.IntN(256) - 128)
		}
		q[0] = -128
		if dim > 2 {
			q[1], q[2] = 0, 127
		}
		got := make([]uint64, (dim+63)/64)
		for i := range got {
			got[i] = ^uint64(0) // stale bits from a reused row
		}
		signBits(q, got)
		for i, d := range q {
			if set := got[i/64]>>(i%64)&1 == 1; set != (d > 0) {
				t.Fatalf("dim %d: bit %d is %v for value %d", dim, i, set, d)
			}
		}
		if rest := dim % 64; rest != 0 && got[len(got)-1]>>rest != 0 {
			t.Fatalf("dim %d: bits set past the last value", dim)
		}
	}
}
