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
