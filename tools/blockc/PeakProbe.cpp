//===- PeakProbe.cpp - this machine's arithmetic peak per number format ---===//
#include "PeakProbe.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

using namespace blockc::cli;

namespace {

// The asm constraint of a vector register.
#if defined(__aarch64__)
#define VREG "+w"
#else
#define VREG "+x"
#endif

/// One chain step on each of 12 accumulators per iteration; the empty asm keeps the compiler
/// from merging or hoisting them. Returns a value of the accumulators (kept alive).
#define CHAINS(T, INIT, STEP, REDUCE)                                                        \
  T c0 = INIT, c1 = INIT, c2 = INIT, c3 = INIT, c4 = INIT, c5 = INIT, c6 = INIT, c7 = INIT,   \
    c8 = INIT, c9 = INIT, c10 = INIT, c11 = INIT;                                            \
  for (int64_t i = 0; i < iterations; ++i) {                                                 \
    STEP(c0); STEP(c1); STEP(c2); STEP(c3); STEP(c4); STEP(c5);                              \
    STEP(c6); STEP(c7); STEP(c8); STEP(c9); STEP(c10); STEP(c11);                            \
    __asm__ volatile("" : VREG(c0), VREG(c1), VREG(c2), VREG(c3), VREG(c4), VREG(c5),        \
                     VREG(c6), VREG(c7), VREG(c8), VREG(c9), VREG(c10), VREG(c11));           \
  }                                                                                          \
  return REDUCE(c0) + REDUCE(c1) + REDUCE(c2) + REDUCE(c3) + REDUCE(c4) + REDUCE(c5) +       \
         REDUCE(c6) + REDUCE(c7) + REDUCE(c8) + REDUCE(c9) + REDUCE(c10) + REDUCE(c11);

/// The first lane of an accumulator, as a float (what keeps the chains alive).
template <class Element, class Vector> float firstLane(const Vector &v) {
  Element e;
  std::memcpy(&e, &v, sizeof e);
  return static_cast<float>(e);
}

/// A probe: runs `iterations` rounds of 12 chains; `products` multiply-adds per instruction.
struct Probe {
  float (*run)(int64_t iterations) = nullptr;
  int products = 0;
  const char *instruction = "";
};

#if defined(__x86_64__)
__attribute__((target("avx512f"))) float fmaAvx512(int64_t iterations) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
#define STEP(c) c = _mm512_fmadd_ps(c, a, b)
#define REDUCE(c) firstLane<float>(c)
  CHAINS(__m512, b, STEP, REDUCE)
#undef STEP
#undef REDUCE
}

__attribute__((target("avx2,fma"))) float fmaAvx2(int64_t iterations) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
#define STEP(c) c = _mm256_fmadd_ps(c, a, b)
#define REDUCE(c) firstLane<float>(c)
  CHAINS(__m256, b, STEP, REDUCE)
#undef STEP
#undef REDUCE
}

__attribute__((target("avx512f,avx512bf16"))) float dpbf16(int64_t iterations) {
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80); // bf16 1.0
#define STEP(c) c = _mm512_dpbf16_ps(c, a, a)
#define REDUCE(c) firstLane<float>(c)
  CHAINS(__m512, _mm512_setzero_ps(), STEP, REDUCE)
#undef STEP
#undef REDUCE
}

__attribute__((target("avx512f,avx512vnni"))) float dpbusd(int64_t iterations) {
  const __m512i a = _mm512_set1_epi8(1);
#define STEP(c) c = _mm512_dpbusd_epi32(c, a, a)
#define REDUCE(c) firstLane<int32_t>(c)
  CHAINS(__m512i, _mm512_setzero_si512(), STEP, REDUCE)
#undef STEP
#undef REDUCE
}

__attribute__((target("avx2"))) float maddwd(int64_t iterations) {
  __m256i a = _mm256_set1_epi16(1);
  // `a` changes in the asm, so the multiplies stay in the loop.
#define STEP(c)                                                                               \
  c = _mm256_add_epi32(c, _mm256_madd_epi16(a, a));                                          \
  __asm__ volatile("" : "+x"(a))
#define REDUCE(c) firstLane<int32_t>(c)
  CHAINS(__m256i, _mm256_setzero_si256(), STEP, REDUCE)
#undef STEP
#undef REDUCE
}

Probe probeFor(const std::string &precision) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (precision == "bf16")
    return __builtin_cpu_supports("avx512bf16") ? Probe{dpbf16, 32, "vdpbf16ps"} : Probe{};
  if (precision == "int8") {
    if (__builtin_cpu_supports("avx512vnni"))
      return {dpbusd, 64, "vpdpbusd"};
    return __builtin_cpu_supports("avx2") ? Probe{maddwd, 16, "vpmaddwd"} : Probe{};
  }
  if (avx512)
    return {fmaAvx512, 16, "AVX-512 FMA"};
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
             ? Probe{fmaAvx2, 8, "AVX2 FMA"}
             : Probe{};
}
#elif defined(__aarch64__)
float fmaNeon(int64_t iterations) {
  const float32x4_t a = vdupq_n_f32(0.999999f), b = vdupq_n_f32(1e-7f);
#define STEP(c) c = vfmaq_f32(b, c, a)
#define REDUCE(c) firstLane<float>(c)
  CHAINS(float32x4_t, b, STEP, REDUCE)
#undef STEP
#undef REDUCE
}

__attribute__((target("arch=armv8.2-a+dotprod"))) float sdot(int64_t iterations) {
  const int8x16_t a = vdupq_n_s8(1);
#define STEP(c) c = vdotq_s32(c, a, a)
#define REDUCE(c) firstLane<int32_t>(c)
  CHAINS(int32x4_t, vdupq_n_s32(0), STEP, REDUCE)
#undef STEP
#undef REDUCE
}

Probe probeFor(const std::string &precision) {
  if (precision == "int8")
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? Probe{sdot, 16, "sdot"} : Probe{};
  if (precision == "bf16")
    return {};
  return {fmaNeon, 4, "NEON FMA"};
}
#else
Probe probeFor(const std::string &) { return {}; }
#endif

/// G operations/s of `threads` threads each running `iterations` rounds of `probe`.
double timeProbe(const Probe &probe, int threads, int64_t iterations) {
  std::vector<std::thread> pool;
  std::vector<float> sinks(threads);
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { sinks[t] = probe.run(iterations); });
  for (std::thread &t : pool)
    t.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 2.0 * 12 * probe.products * static_cast<double>(iterations) * threads / s / 1e9;
}

} // namespace

Peak blockc::cli::measurePeak(const std::string &precision, int threads) {
  const Probe probe = probeFor(precision);
  if (!probe.run)
    return {};
  threads = std::max(1, threads);
  // Calibrate to about 0.1 s a run, then keep the best of three.
  int64_t iterations = 100000;
  const double calibration = timeProbe(probe, threads, iterations);
  iterations = std::max<int64_t>(
      1, static_cast<int64_t>(0.1 * calibration * 1e9 / (2.0 * 12 * probe.products * threads)));
  double best = 0;
  for (int i = 0; i < 3; ++i)
    best = std::max(best, timeProbe(probe, threads, iterations));
  return {best, probe.instruction};
}
