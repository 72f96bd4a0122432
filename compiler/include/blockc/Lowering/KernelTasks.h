//===- KernelTasks.h - kernels one at a time, for the tuner --------*- C++ -*-===//
//
// The tuner's view of a compiled block: its distinct run kernels (one per signature), each
// with its schedule space, and a way to compile one of them alone, with a given schedule,
// into a shared object a harness can load and time (docs/tuning.md).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_KERNELTASKS_H
#define BLOCKC_LOWERING_KERNELTASKS_H

#include "blockc/Schedule/KernelTask.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace blockc {

class KernelOp;

/// A structural signature of a kernel: kernels with equal signatures compute the same
/// function of inputs of the same shapes, and share one compiled function and one tuning
/// record.
std::string kernelSignature(KernelOp kernel);

/// The resolved Halide target string of a blockc target name ("host", "x86-64-avx2", ...),
/// as tuning records name targets.
llvm::Expected<std::string> resolvedTargetString(const std::string &target);

/// Whether the kernels of a blockc target name run on a GPU (TargetInfo::isGpu).
llvm::Expected<bool> isGpuTarget(const std::string &target);

/// The distinct run kernels of `module` (after the pass pipeline) for `target`, in order.
llvm::Expected<std::vector<KernelTask>> listKernelTasks(mlir::ModuleOp module,
                                                         const std::string &target);

struct StandaloneKernelOptions {
  std::string target = "host";
  std::string kernel;         // a kernel name from listKernelTasks
  ScheduleChoice schedule;    // empty: the default schedule
  int64_t batch = 1;          // the batch size an autoscheduler's estimates are for
  std::string outputDir;      // receives kernel.so and kernel.json
  /// A Halide runtime object for the target (compileHalideRuntime) to link in; compiled
  /// into outputDir when empty.
  std::string runtimeObject;
};

/// Compiles one kernel alone into `outputDir/kernel.so`, which exports
/// `int blockc_kernel_argv(void **args)` (Halide's argv calling convention: one
/// halide_buffer_t* per argument, inputs then outputs), and writes `outputDir/kernel.json`:
///   {"kernel": NAME, "signature": SIG, "args": [{"offset": O, "shape": [...],
///    "strides": [...], "output": false}, ...]}
/// with shapes as in docs/module-format.md (-k meaning k * batch).
llvm::Error compileStandaloneKernel(mlir::ModuleOp module,
                                    const StandaloneKernelOptions &options);

/// Compiles Halide's runtime for `target` into `objectPath`.
llvm::Error compileHalideRuntime(const std::string &target, const std::string &objectPath);

} // namespace blockc

#endif // BLOCKC_LOWERING_KERNELTASKS_H
