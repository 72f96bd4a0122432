/* The FP32 FMA peak of this machine, for bench/models.py: each of `threads` threads runs
 * 12 independent chains of vector FMAs (enough to cover the FMA latency on every x86 core
 * seen so far: 4 cycles x 2 pipes = 8 chains needed) on the widest vectors the compiler
 * targets (build with -O2 -march=native: AVX-512 where the CPU has it, else AVX2), for
 * `iterations` rounds. Returns the GFLOP/s of the whole run (2 flops per FMA and lane).
 *
 *   cc -O2 -march=native -pthread -shared -fPIC bench/peak.c -o peak.so
 */
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
  int64_t iterations;
  float result;
} job;

static void *run(void *arg) {
  job *j = (job *)arg;
  vec a, b, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
  for (int l = 0; l < LANES; ++l) {
    a[l] = 0.999999f;
    b[l] = 1e-7f;
  }
  c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = b;
  for (int64_t i = 0; i < j->iterations; ++i) {
    /* 12 chains in registers, one FMA each per iteration; the empty asm keeps the
       compiler from merging or hoisting them. */
    c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b;
    c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b;
    c8 = c8 * a + b; c9 = c9 * a + b; c10 = c10 * a + b; c11 = c11 * a + b;
    __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5),
                     "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));
  }
  vec s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  float r = 0;
  for (int l = 0; l < LANES; ++l) r += s[l];
  j->result = r;
  return 0;
}

/* Lanes of the vectors used (8: AVX2, 16: AVX-512). */
int peak_lanes(void) { return LANES; }

double peak_gflops(int threads, int64_t iterations) {
  pthread_t tid[256];
  job jobs[256];
  if (threads < 1) threads = 1;
  if (threads > 256) threads = 256;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int t = 0; t < threads; ++t) {
    jobs[t].iterations = iterations;
    pthread_create(&tid[t], 0, run, &jobs[t]);
  }
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  float sink = 0;
  for (int t = 0; t < threads; ++t) sink += jobs[t].result;
  if (sink == 12345.678f) s += 1e-12; /* keeps the results alive */
  return 2.0 * CHAINS * LANES * (double)iterations * threads / s / 1e9;
}
