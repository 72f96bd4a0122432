//===- CompileWorker.h - the compile worker -----------------------*- C++ -*-===//
//
// `blockc-tune __compile`: compiles one kernel of a spec alone, with one schedule, into
// DIR/kernel.so and DIR/kernel.json (compileStandaloneKernel). A compile error is printed
// and exits 1.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_COMPILEWORKER_H
#define BLOCKC_TUNE_COMPILEWORKER_H

#include <cstdint>
#include <string>

namespace blockc::tune {

struct CompileWorkerOptions {
  std::string specPath, target, kernel;
  std::string precision; // every linear's format (as blockc compile's); empty: the spec's
  std::string scheduleJson; // ScheduleChoice::toJson
  std::string outputDir;
  std::string runtimeObject;
  int64_t batch = 1; // the batch size the autoschedulers estimate for
  std::string inject; // test only: "crash" aborts, "hang" sleeps forever
};

/// Returns the process exit status.
int runCompileWorker(const CompileWorkerOptions &options);

/// `blockc-tune __runtime`: compiles Halide's runtime for `target` into `objectPath`.
int compileRuntime(const std::string &target, const std::string &objectPath);

} // namespace blockc::tune

#endif // BLOCKC_TUNE_COMPILEWORKER_H
