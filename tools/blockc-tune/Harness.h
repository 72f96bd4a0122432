//===- Harness.h - the timing worker ------------------------------*- C++ -*-===//
//
// `blockc-tune __time`: loads one standalone kernel (DIR/kernel.so and DIR/kernel.json,
// compileStandaloneKernel), fills its inputs with fixed pseudo-random values in
// [0.25, 1.25), runs it once and checks its outputs against the reference (the default
// schedule's outputs on the same inputs: max |diff| <= 1e-4 * max(1, max |ref|), no NaN),
// then times it: warm-up, then repeated samples, and reports the median and the spread
// (max - min). The default schedule's run writes the reference instead of checking it.
// The result goes to a small JSON file; a kernel error is a non-zero exit.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_HARNESS_H
#define BLOCKC_TUNE_HARNESS_H

#include <cstdint>
#include <string>

namespace blockc::tune {

struct HarnessOptions {
  std::string kernelDir;     // kernel.so + kernel.json
  int64_t batch = 1;
  std::string referencePath; // the default's outputs
  bool writeReference = false; // write the reference (the default schedule) instead of checking
  bool time = true;          // false: only the correctness run (writing the reference)
  std::string resultPath;    // {"status", "time_us", "spread_us", "message", ...}
  int threads = 0;           // Halide threads; 0: Halide's default
  std::string inject;        // test only: "crash" aborts, "hang" sleeps forever
};

/// Runs the timing worker; returns the process exit status (0: a result was written;
/// 3: the kernel failed; 1: the harness could not run it).
int runHarness(const HarnessOptions &options);

} // namespace blockc::tune

#endif // BLOCKC_TUNE_HARNESS_H
