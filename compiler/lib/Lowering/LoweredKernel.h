//===- LoweredKernel.h - a kernel as a Halide pipeline ------------*- C++ -*-===//
//
// Each kind of blockc.kernel has a header here (Matmul.h, Attention.h, Rowwise.h,
// Prepare.h) with its algorithm in <Kind>Algorithm.cpp and its schedules in
// <Kind>CpuSchedule.cpp and <Kind>GpuSchedule.cpp. Tensors map to Halide functions as
// follows: an activation [B, N, C] is f(c, r) over rows r = b * N + n; a per-channel
// parameter [C] is p(c); a 2-D weight [in, out] is w(o, i) (Halide's first dimension is
// the innermost).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_LOWEREDKERNEL_H
#define BLOCKC_LOWERING_LOWEREDKERNEL_H

#include "Target.h"
#include "blockc/Dialect/BlockcOps.h"
#include "blockc/Schedule/ScheduleChoice.h"

#include <functional>
#include <map>

namespace blockc {

/// How one kernel argument sees its storage (docs/module-format.md: offset, row-major
/// shape with -k meaning k * B, row-major strides; with run-time tokens, the entries whose
/// bit is set in tokensShape or tokensStrides are also times S). `isTokens`: the argument is
/// the scalar S itself, with no view.
struct ArgView {
  mlir::Value value;  // the tensor (a kernel operand, or a kernel result for outputs)
  int64_t offset = 0;
  std::vector<int64_t> shape, strides;
  Halide::OutputImageParam buffer; // the Halide argument or output buffer it binds
  uint32_t tokensShape = 0, tokensStrides = 0;
  bool isTokens = false;
  int64_t panelWidth = 0; // a CPU matmul's weight stored as panels of this width (Matmul.h)
};

/// Knob values of a kind's schedule space, every knob present (resolveKnobs).
using KnobValues = std::map<std::string, int64_t>;

/// A kernel's algorithm, ready to schedule and compile: `inputs` and `outputs` line up with
/// the pipeline's arguments and outputs, in the order the generated function takes them.
/// The schedule is kept apart from the algorithm: `schedule` applies the kind's schedule
/// with values for the knobs of `space`, or an autoscheduler schedules the pipeline instead.
struct LoweredKernel {
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> arguments;
  std::vector<ArgView> inputs, outputs;
  /// The run's token count S, an argument of kernels that index tokens when the tokens are
  /// chosen at run time (tokenCount in KernelIO.h creates it).
  std::optional<Halide::Param<int>> tokens;
  ScheduleSpace space;
  std::function<void(const KnobValues &)> schedule;
};

/// The algorithm of any kernel kind; Halide's errors are returned naming the kernel.
llvm::Expected<LoweredKernel> lowerKernel(KernelOp kernel, const TargetInfo &target);

/// How compileKernel schedules a kernel and what it writes.
struct KernelCompileOptions {
  ScheduleChoice schedule; // empty: the default schedule
  bool tuned = false;      // the schedule is the tuning database's (errors say so)
  int64_t batch = 1;       // the batch size an autoscheduler's estimates are for
  std::string function;    // the C function to generate
  std::map<Halide::OutputFileType, std::string> outputs; // the files to write
};

/// Compiles `kernel` alone: lowers it (lowerKernel), schedules it as `options.schedule`
/// says (knob values checked by resolveKnobs, or a Halide autoscheduler) and compiles it as
/// `options.function`, without Halide's runtime, into `options.outputs`. Halide's errors,
/// and a schedule Halide finds "guaranteed to fail" on these shapes, are returned naming
/// the kernel (and the schedule, when they are the schedule's).
llvm::Expected<LoweredKernel> compileKernel(KernelOp kernel, const TargetInfo &target,
                                            const KernelCompileOptions &options);

} // namespace blockc

#endif // BLOCKC_LOWERING_LOWEREDKERNEL_H
