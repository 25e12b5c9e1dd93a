package memory

// The int8 scan is the hot loop of vector search: 100k memories of 768
// dimensions are 77 MB to read per query. Go has no portable SIMD, so the
// kernel is C, compiled with AVX2 where the processor has it (chosen at run
// time) and a plain loop otherwise. One cgo call scores the whole matrix.

/*
#cgo CFLAGS: -O3
#include <stdint.h>
#include <immintrin.h>

static void scan_plain(const int8_t *m, int64_t n, int32_t dim, const int8_t *q, int32_t *out) {
	for (int64_t r = 0; r < n; r++) {
		const int8_t *row = m + r * dim;
		int32_t s = 0;
		for (int32_t i = 0; i < dim; i++) s += (int32_t)row[i] * (int32_t)q[i];
		out[r] = s;
	}
}

__attribute__((target("avx2")))
static void scan_avx2(const int8_t *m, int64_t n, int32_t dim, const int8_t *q, int32_t *out) {
	const __m256i ones = _mm256_set1_epi16(1);
	int32_t body = dim & ~31;
	for (int64_t r = 0; r < n; r++) {
		const int8_t *row = m + r * dim;
		__m256i acc = _mm256_setzero_si256();
		for (int32_t i = 0; i < body; i += 32) {
			__m256i a = _mm256_loadu_si256((const __m256i *)(row + i));
			__m256i b = _mm256_loadu_si256((const __m256i *)(q + i));
			// |a| * (b with a's sign) = a*b, in the unsigned x signed form
			// that maddubs takes. Values lie in [-127, 127], so the int16
			// pair sums cannot saturate.
			__m256i t = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(t, ones));
		}
		__m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
		s = _mm_hadd_epi32(s, s);
		s = _mm_hadd_epi32(s, s);
		int32_t total = _mm_cvtsi128_si32(s);
		for (int32_t i = body; i < dim; i++) total += (int32_t)row[i] * (int32_t)q[i];
		out[r] = total;
	}
}

static void scan_i8(const int8_t *m, int64_t n, int32_t dim, const int8_t *q, int32_t *out) {
	if (__builtin_cpu_supports("avx2")) scan_avx2(m, n, dim, q, out);
	else scan_plain(m, n, dim, q, out);
}

// score_rows is scan_i8 over the listed rows only.
static void score_rows(const int8_t *m, int32_t dim, const int32_t *rows, int64_t n, const int8_t *q, int32_t *out) {
	int avx2 = __builtin_cpu_supports("avx2");
	for (int64_t i = 0; i < n; i++) {
		const int8_t *row = m + (int64_t)rows[i] * dim;
		if (avx2) scan_avx2(row, 1, dim, q, out + i);
		else scan_plain(row, 1, dim, q, out + i);
	}
}

static int32_t hamming_plain(const uint64_t *a, const uint64_t *b, int32_t words) {
	int32_t d = 0;
	for (int32_t i = 0; i < words; i++) d += __builtin_popcountll(a[i] ^ b[i]);
	return d;
}

__attribute__((target("popcnt")))
static int32_t hamming_popcnt(const uint64_t *a, const uint64_t *b, int32_t words) {
	int32_t d = 0;
	for (int32_t i = 0; i < words; i++) d += __builtin_popcountll(a[i] ^ b[i]);
	return d;
}

// scan_bits writes the Hamming distance between q and each row of sign bits.
static void scan_bits(const uint64_t *m, int64_t n, int32_t words, const uint64_t *q, int32_t *out) {
	if (__builtin_cpu_supports("popcnt")) {
		for (int64_t r = 0; r < n; r++) out[r] = hamming_popcnt(m + r * words, q, words);
	} else {
		for (int64_t r = 0; r < n; r++) out[r] = hamming_plain(m + r * words, q, words);
	}
}
*/
import "C"

import "unsafe"

// scanInt8 writes the dot product of q with each dim-long row of m into out.
func scanInt8(m []int8, dim int, q []int8, out []int32) {
	n := len(m) / dim
	if n == 0 {
		return
	}
	C.scan_i8((*C.int8_t)(unsafe.Pointer(&m[0])), C.int64_t(n), C.int32_t(dim),
		(*C.int8_t)(unsafe.Pointer(&q[0])), (*C.int32_t)(unsafe.Pointer(&out[0])))
}

// scoreRows writes the dot product of q with each listed row of m into out.
func scoreRows(m []int8, dim int, rows []int32, q []int8, out []int32) {
	if len(rows) == 0 {
		return
	}
	C.score_rows((*C.int8_t)(unsafe.Pointer(&m[0])), C.int32_t(dim), (*C.int32_t)(unsafe.Pointer(&rows[0])), C.int64_t(len(rows)),
		(*C.int8_t)(unsafe.Pointer(&q[0])), (*C.int32_t)(unsafe.Pointer(&out[0])))
}

// scanBits writes the Hamming distance between q and each row of m (words
// uint64s a row) into out.
func scanBits(m []uint64, words int, q []uint64, out []int32) {
	n := len(m) / words
	if n == 0 {
		return
	}
	C.scan_bits((*C.uint64_t)(unsafe.Pointer(&m[0])), C.int64_t(n), C.int32_t(words),
		(*C.uint64_t)(unsafe.Pointer(&q[0])), (*C.int32_t)(unsafe.Pointer(&out[0])))
}
