/* This machine's arithmetic peak per number format, for bench/: each of `threads` threads
 * runs 12 independent chains of vector multiply-adds (enough to cover the latency on every
 * x86 core seen so far: 4 cycles x 2 pipes = 8 chains needed) on the widest vectors the
 * compiler targets (build with -O2 -march=native), for `iterations` rounds. Returns the
 * operations per second of the whole run in G (2 per multiply-add), or -1 where this CPU
 * (as compiled for) has no instruction for the format:
 *   format 0, fp32: FMA (vfmadd, AVX-512 or AVX2);
 *   format 1, bf16: vdpbf16ps (AVX512-BF16), 2 products per 32-bit lane;
 *   format 2, int8: vpdpbusd (AVX512-VNNI), 4 byte products per 32-bit lane, or on AVX2
 *             vpmaddwd + vpaddd, 2 16-bit products per lane (what blockc's int8 kernels use
 *             there).
 *
 *   cc -O2 -march=native -pthread -shared -fPIC bench/peak.c -o peak.so
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#if defined(__AVX512F__)
#define VEC_BYTES 64
#elif defined(__AVX__)
#define VEC_BYTES 32
#else
#define VEC_BYTES 16
#endif
typedef float vec __attribute__((vector_size(VEC_BYTES)));
#define LANES (VEC_BYTES / 4)
#define CHAINS 12

typedef struct {
  int format;
  int64_t iterations;
  float result;
} job;

/* 12 chains in registers, one instruction each per iteration; the empty asm keeps the
   compiler from merging or hoisting them. */
#define CHAIN_STEP(T, STEP)                                                                  \
  for (int64_t i = 0; i < j->iterations; ++i) {                                            \
    STEP(c0); STEP(c1); STEP(c2); STEP(c3); STEP(c4); STEP(c5);                            \
    STEP(c6); STEP(c7); STEP(c8); STEP(c9); STEP(c10); STEP(c11);                          \
    __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5),      \
                     "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));         \
  }

static void *run(void *arg) {
  job *j = (job *)arg;
  if (j->format == 0) {
    vec a, b, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    for (int l = 0; l < LANES; ++l) {
      a[l] = 0.999999f;
      b[l] = 1e-7f;
    }
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = b;
#define FMA(c) c = c * a + b
    CHAIN_STEP(vec, FMA)
    vec s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    for (int l = 0; l < LANES; ++l) j->result += s[l];
  }
#if defined(__AVX512BF16__)
  if (j->format == 1) {
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = a; /* bf16 1.0 */
    __m512 c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm512_setzero_ps();
#define DPBF16(c) c = _mm512_dpbf16_ps(c, a, b)
    CHAIN_STEP(__m512, DPBF16)
    j->result = _mm512_reduce_add_ps(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
  }
#endif
#if defined(__AVX512VNNI__)
  if (j->format == 2) {
    __m512i a = _mm512_set1_epi8(1), b = a;
    __m512i c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm512_setzero_si512();
#define DPBUSD(c) c = _mm512_dpbusd_epi32(c, a, b)
    CHAIN_STEP(__m512i, DPBUSD)
    j->result = (float)_mm512_reduce_add_epi32(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 +
                                               c10 + c11);
  }
#elif defined(__AVX2__)
  if (j->format == 2) {
    /* b changes in the asm below, so the multiplies are not hoisted out of the loop. */
    __m256i a = _mm256_set1_epi16(1), b = a;
    __m256i c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm256_setzero_si256();
#define MADDWD(c) c = _mm256_add_epi32(c, _mm256_madd_epi16(a, b)); __asm__ volatile("" : "+x"(b))
    CHAIN_STEP(__m256i, MADDWD)
    c0 = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                          _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
    c0 = _mm256_add_epi32(c0, _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
    j->result = (float)_mm256_extract_epi32(c0, 0);
  }
#endif
  return 0;
}

/* Multiply-adds per instruction of each format, 0 where this build has none. */
static int products(int format) {
  switch (format) {
  case 0:
    return LANES;
#if defined(__AVX512BF16__)
  case 1:
    return 32;
#endif
#if defined(__AVX512VNNI__)
  case 2:
    return 64;
#elif defined(__AVX2__)
  case 2:
    return 16;
#endif
  default:
    return 0;
  }
}

/* Lanes of the float vectors used (8: AVX2, 16: AVX-512). */
int peak_lanes(void) { return LANES; }

double peak_gops(int format, int threads, int64_t iterations) {
  if (!products(format))
    return -1;
  pthread_t tid[256];
  job jobs[256];
  if (threads < 1) threads = 1;
  if (threads > 256) threads = 256;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int t = 0; t < threads; ++t) {
    jobs[t].format = format;
    jobs[t].iterations = iterations;
    jobs[t].result = 0;
    pthread_create(&tid[t], 0, run, &jobs[t]);
  }
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  float sink = 0;
  for (int t = 0; t < threads; ++t) sink += jobs[t].result;
  if (sink == 12345.678f) s += 1e-12; /* keeps the results alive */
  return 2.0 * CHAINS * products(format) * (double)iterations * threads / s / 1e9;
}
