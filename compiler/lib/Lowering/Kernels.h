//===- Kernels.h - kernel groups as Halide pipelines --------------*- C++ -*-===//
//
// Each kind of blockc.kernel has its algorithm in <Kind>Algorithm.cpp and its schedule in
// <Kind>Schedule.cpp. Tensors map to Halide functions as follows: an activation
// [B, N, C] is f(c, r) over rows r = b * N + n; a per-channel parameter [C] is p(c); a
// 2-D weight [in, out] is w(o, i) (Halide's first dimension is the innermost).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_KERNELS_H
#define BLOCKC_LOWERING_KERNELS_H

#include "Target.h"
#include "blockc/Dialect/BlockcOps.h"
#include "blockc/Schedule/ScheduleChoice.h"

#include "llvm/ADT/DenseMap.h"

#include <functional>
#include <optional>

namespace blockc {

/// How one kernel argument sees its storage (docs/module-format.md: offset, row-major
/// shape with -k meaning k * B, row-major strides).
struct ArgView {
  mlir::Value value;  // the tensor (a kernel operand, or a kernel result for outputs)
  int64_t offset = 0;
  std::vector<int64_t> shape, strides;
  Halide::OutputImageParam buffer; // the Halide argument or output buffer it binds
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
  ScheduleSpace space;
  std::function<void(const KnobValues &)> schedule;
};

/// A knob with the `candidates` up to `limit` (and never below 0) as its choices, and
/// `defaultValue` (always among them) as its default.
Knob makeKnob(std::string name, std::vector<int64_t> candidates, int64_t limit,
              int64_t defaultValue);

/// Halide functions of the values inside a kernel body.
using ValueFuncs = llvm::DenseMap<mlir::Value, Halide::Func>;

/// Shared loop variables: channel (or output feature) and row.
struct RowVars {
  Halide::Var c{"c"}, r{"r"};
};

/// A norm over the channels of each row. `stats` are per-row (LayerNorm, RMSNorm) or
/// per-channel (BatchNorm) functions the schedule places; `reductions` are the row sums
/// among them, with the reduction domain `k` over channels.
struct NormFuncs {
  Halide::Func out;
  std::vector<Halide::Func> reductions;  // updated over k, per row
  std::vector<Halide::Func> perChannel;  // pure functions of c (BatchNorm's scale, shift)
  std::vector<Halide::Func> perRow;      // pure functions of r (1/std)
  Halide::RDom k;
  int64_t rows = 0;                      // rows per sample (N): every batch has at least these
};

/// A JSON array of integers (shapes and strides in manifests and kernel descriptions).
llvm::json::Array toJsonArray(llvm::ArrayRef<int64_t> values);

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

// OpSemantics.cpp: the math of each op, shared by every kernel kind.
bool isNormOp(mlir::Operation *op);
NormFuncs defineNorm(mlir::Operation *norm, Halide::Func input, const ValueFuncs &funcs,
                     const RowVars &v);
Halide::Func defineElementwise(mlir::Operation *op, const ValueFuncs &funcs, const RowVars &v);
/// Defines `funcs[op result]` for a norm or elementwise op over (c, r); returns the norm's
/// functions (for the schedule) when `op` is a norm.
std::optional<NormFuncs> defineRowOp(mlir::Operation *op, ValueFuncs &funcs, const RowVars &v);
/// The kernel's single result as its output function (c, r), bound as an activation output.
Halide::Func rowOutput(KernelOp kernel, const ValueFuncs &funcs, const RowVars &v,
                       LoweredKernel &lowered);

// KernelIO.cpp: parameters and output constraints for each argument layout.
int64_t channelsOf(mlir::Value activation);
int64_t tokensOf(mlir::Value activation);
/// An activation [B, N, C] as a 2-D function (c, r).
Halide::ImageParam activationParam(mlir::Value operand, const std::string &name,
                                   LoweredKernel &kernel);
/// A static weight or constant, all dimensions fixed.
Halide::ImageParam weightParam(mlir::Value operand, const std::string &name,
                               LoweredKernel &kernel);
/// Binds `result` ([B, N, C]) as a 2-D output (c, r) of `out`.
void activationOutput(mlir::Value result, Halide::Func out, LoweredKernel &kernel);
/// Maps every block argument of `kernel` to a parameter: activations 2-D, weights static.
ValueFuncs bindInputs(KernelOp kernel, LoweredKernel &lowered);

// One algorithm per kernel kind; each fills in its schedule space and schedule.
LoweredKernel lowerMatmul(KernelOp kernel, const TargetInfo &target);
LoweredKernel lowerAttention(KernelOp kernel, const TargetInfo &target);
LoweredKernel lowerRowwise(KernelOp kernel, const TargetInfo &target);
LoweredKernel lowerPrepare(KernelOp kernel, const TargetInfo &target);
/// The algorithm of any kernel kind; Halide's errors are returned naming the kernel.
llvm::Expected<LoweredKernel> lowerKernel(KernelOp kernel, const TargetInfo &target);

// Schedules: for each kind, its space (the knobs, with the hand-written choice as each
// knob's default) and the schedule applied with values of those knobs.
struct MatmulFuncs {
  Halide::Func input;                // A(k, r): the (normalized) input rows
  std::optional<NormFuncs> prologue; // the norm computed into `input`, if fused
  Halide::Func weight;               // W(o, k)
  Halide::Func acc;                  // acc(o, r) = bias + sum_k A(k, r) W(o, k)
  Halide::RDom k;
  Halide::Func out;
  std::vector<Halide::Func> perChannel; // parameters of epilogue BatchNorms
  RowVars v;
  int64_t inFeatures, outFeatures, tokens;
};
ScheduleSpace matmulSpace(const MatmulFuncs &f, const TargetInfo &target);
ScheduleSpace matmulGpuSpace(const MatmulFuncs &f);
void scheduleMatmul(MatmulFuncs &f, const TargetInfo &target, const KnobValues &knobs);

struct AttentionFuncs {
  Halide::ImageParam q;     // q(d, h, i, b): the queries
  Halide::Func keysT;       // kT(j, d, h, b): keys transposed so scores vectorize over keys
  Halide::Func scoresAcc;   // sum_d q(d, h, i, b) k(d, h, j, b), accumulated in registers
  Halide::Func scores;      // s(j, i, h, b)
  Halide::Func rowMax, expScores, rowSum;
  Halide::Func weightedAcc; // o(d, i, h, b) = sum_j e(j, i, h, b) v(d, h, j, b)
  Halide::Func out;         // out(d, h, i, b) = o / rowSum
  Halide::RDom rd, rj;
  Halide::Var d{"d"}, h{"h"}, i{"i"}, j{"j"}, b{"b"};
  int64_t tokens, headDim;
};
ScheduleSpace attentionSpace(const AttentionFuncs &f, const TargetInfo &target);
void scheduleAttention(AttentionFuncs &f, const TargetInfo &target, const KnobValues &knobs);

/// Vectorizes the reduction of `f` over the 1-D domain `over`: `vec` partial results
/// (one per lane, rfactor), computed per iteration of `f`'s pure variable `at`.
void vectorizeReduction(Halide::Func f, Halide::RDom over, Halide::Var at,
                        const TargetInfo &target);

/// GPU: computes `f` (and its updates) at the root as its own kernel, one thread per
/// element of its pure dimensions; for norm statistics, per-channel parameters and the
/// bind-time kernels.
void gpuRoot(Halide::Func f);

/// Places a norm's statistics per block of rows at `at` (inside a kernel's loop nest). On a
/// GPU, `gpuRows` rows per thread block (at most the rows per sample), a warp per row.
void scheduleNormStats(NormFuncs &norm, Halide::LoopLevel at, const RowVars &v,
                       const TargetInfo &target, int gpuRows = 8);
/// `rowStats`: some norm of the kernel has per-row statistics (LayerNorm, RMSNorm).
ScheduleSpace rowwiseSpace(int64_t channels, int64_t tokens, bool rowStats,
                           const TargetInfo &target);
void scheduleRowwise(Halide::Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                     int64_t channels, const TargetInfo &target, const KnobValues &knobs);
/// `perChannel`: the [C] intermediates of a BatchNorm fold (scale, shift).
void schedulePrepare(std::vector<Halide::Func> &outputs, std::vector<Halide::Func> &perChannel,
                     const TargetInfo &target);

} // namespace blockc

#endif // BLOCKC_LOWERING_KERNELS_H
