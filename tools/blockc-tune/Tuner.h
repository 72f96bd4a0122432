//===- Tuner.h - blockc-tune's tuning run -------------------------*- C++ -*-===//
//
// One run of `blockc-tune SPEC --target T --db FILE`: lists the block's distinct kernels,
// runs a Search per kernel in rounds (compile the round's candidates in parallel workers,
// then check and time them one at a time in a timing worker), logs every trial to
// FILE.trials, replays logged trials instead of measuring them again (resume), shares a
// time budget between kernels by weight, and writes each kernel's best schedule to the
// database after every round (docs/tuning.md).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_TUNER_H
#define BLOCKC_TUNE_TUNER_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace blockc::tune {

constexpr int kExitInterrupted = 130;

struct TuneOptions {
  std::string specPath, target = "host", dbPath;
  std::string precision; // every linear's format (as blockc compile's); empty: the spec's
  std::optional<double> budgetMinutes; // the whole run's wall time
  std::optional<int64_t> trials;       // per kernel (counting logged ones)
  uint64_t seed = 0;
  int64_t batch = 1;
  int jobs = 2;                        // compile workers at once
  std::string kernel;                  // only this kernel
  double compileTimeoutS = 180, runTimeoutS = 60;
  int threads = 0;                     // Halide threads when timing; 0: Halide's default
  /// Test only: trial number -> "crash", "hang" (the timing worker), "compile-crash",
  /// "compile-hang" (the compile worker), for every kernel.
  std::map<int64_t, std::string> faults;
  bool keepWork = false;               // keep FILE.work (debugging)
  std::string toolVersion;
};

/// Prints the distinct kernels of the spec with their schedule spaces (--list); returns
/// the exit code.
int listKernels(const std::string &specPath, const std::string &target,
                const std::string &precision, bool json);

/// Runs the tuner; returns the process exit code (0 done, 1 failure, 130 interrupted).
int runTuner(const TuneOptions &options);

} // namespace blockc::tune

#endif // BLOCKC_TUNE_TUNER_H
