//===- EmitModule.h - kernels to a loadable module ----------------*- C++ -*-===//
#ifndef BLOCKC_LOWERING_EMITMODULE_H
#define BLOCKC_LOWERING_EMITMODULE_H

#include "blockc/Schedule/ScheduleChoice.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace blockc {

/// A kernel's schedule from a tuning database.
struct TunedSchedule {
  ScheduleChoice choice;
  int64_t batch = 1; // the batch size it was tuned at (an autoscheduler's estimates)
};

struct EmitOptions {
  std::string target = "host";
  /// The tuned schedule of a kernel, by its signature and the resolved target string;
  /// kernels without one (or when unset) get the default schedule.
  std::function<std::optional<TunedSchedule>(const std::string &signature,
                                             const std::string &target)>
      tuning;
  std::string outputDir;
  std::string specHash;  // sha256 of the spec source, recorded in the manifest
  bool emitStmt = false; // also write each kernel's Halide .stmt and assembly
};

struct EmitSummary {
  std::string target;
  int runKernels = 0, prepareKernels = 0, compiledFunctions = 0;
  std::vector<std::string> tunedKernels; // run kernels compiled with a tuned schedule
};

/// Links `inputs` (C sources and objects) into the shared object `outputPath` with `linker`
/// (a C compiler driver on PATH), writing its output to `logPath`; the log of a failed link
/// is in the error.
llvm::Error linkSharedObject(const std::string &linker, const std::vector<std::string> &inputs,
                             const std::string &outputPath, const std::string &logPath);

/// Lowers every blockc.kernel of `module` (after the pass pipeline) to a Halide pipeline,
/// compiles them for the target and links `outputDir/module.so` with its manifest
/// (docs/module-format.md); also writes `outputDir/manifest.json`.
llvm::Expected<EmitSummary> emitModule(mlir::ModuleOp module, const EmitOptions &options);

} // namespace blockc

#endif // BLOCKC_LOWERING_EMITMODULE_H
