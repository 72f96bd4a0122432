//===- Matmul.h - matmul kernels: linear with prologue and epilogue -*- C++ -*-===//
//
// out(o, r) = epilogue(bias(o) + sum_k A(k, r) W(o, k)), where A is the input or the norm
// of it (a fused prologue) and the epilogue is the kernel's elementwise chain. The
// algorithm is in MatmulAlgorithm.cpp, its CPU and GPU schedules and their knobs in
// MatmulCpuSchedule.cpp and MatmulGpuSchedule.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_MATMUL_H
#define BLOCKC_LOWERING_MATMUL_H

#include "OpSemantics.h"

namespace blockc {

LoweredKernel lowerMatmul(KernelOp kernel, const TargetInfo &target);

/// The hand-written register tile's columns of a CPU matmul with `outFeatures` outputs.
int64_t matmulCpuTileCols(int64_t outFeatures, const TargetInfo &target);
/// The panel width P of a bind-time constant that CPU matmuls read as their weight [in, out]:
/// stored panel-major, [out / P][in][P], so the register tile of P columns reads its
/// panel contiguously (a stream the prefetchers follow) instead of P floats of every row.
/// 0 (row-major [in, out]) for GPU targets, a weight any other op reads, or a width P
/// does not divide.
int64_t weightPanelWidth(mlir::Value constant, const TargetInfo &target);
/// How many consecutive inputs of a panel's column are stored together ([out / P][in / G][P][G])
/// because a dot product instruction multiplies them in one lane: 2 for a bf16 weight on a
/// target with bf16 dot products (vdpbf16ps), 4 for an int8 weight on one with int8 dot
/// products (vpdpbusd, sdot), 2 for other int8 weights (pmaddwd pairs); 1 otherwise.
int64_t weightGroup(mlir::Value constant, const TargetInfo &target);
/// The type a CPU matmul's weight is stored as: its own, but for an int8 weight on an x86
/// target without int8 dot products, stored widened to int16 (vpmaddwd multiplies 16-bit
/// pairs: widening every loaded vector would cost an instruction per multiply).
Halide::Type weightStorageType(mlir::Value constant, const TargetInfo &target);

/// The functions of a matmul kernel that its schedules place.
struct MatmulFuncs {
  Halide::Func input;                // A(k, r): the (normalized) input rows
  // A in the weight's narrower format, once per row block: rounded to bf16, or quantized to
  // 8 bits per group of inputs of a row (int8). Undefined for a float32 weight.
  Halide::Func narrowInput;
  int64_t group = 1;                 // weightGroup of the weight
  // int8: each row's inputs in groups of `quantGroup`, each group quantized with its own
  // range [groupMin, groupMax] (over `inGroup`), whose scale, its inverse and zero point
  // are groupScale, groupInverseScale and groupZeroPoint (once per row block);
  // `dot(c, r, g)` is the int32 sum of group g's products (its update, over `k`, is the
  // dot product), and acc sums the groups (over `groups`), each times its scale. Undefined
  // otherwise: acc's update is the dot product.
  Halide::Func groupMin, groupMax, groupScale, groupInverseScale, groupZeroPoint, dot;
  Halide::RDom inGroup, groups;
  int64_t quantGroup = 0;
  std::optional<NormFuncs> prologue; // the norm computed into `input`, if fused
  bool patches = false;              // `input` gathers an image's patches (conv2d)
  Halide::Func weight;               // W(o, k)
  Halide::Func acc;                  // acc(o, r) = bias + sum_k A(k, r) W(o, k)
  Halide::RDom k;
  Halide::Func out;
  std::vector<Halide::Func> perChannel; // parameters of epilogue BatchNorms
  RowVars v;
  int64_t inFeatures, outFeatures;
  int64_t tokens;             // plannedTokens: a sample's N, or the most a run takes
  bool runTimeTokens = false; // N is chosen at run time: rows may be fewer than `tokens`

  /// The rows every run has at least per sample (what inward-shifted tiles may span).
  int64_t fewestTokens() const { return runTimeTokens ? 1 : tokens; }
};

// Each schedule's space (its knobs, with the hand-written choice as each knob's default)
// and the schedule applied with values of those knobs.
ScheduleSpace matmulCpuSpace(const MatmulFuncs &f, const TargetInfo &target);
void scheduleMatmulCpu(MatmulFuncs &f, const TargetInfo &target, const KnobValues &knobs);
ScheduleSpace matmulGpuSpace(const MatmulFuncs &f);
void scheduleMatmulGpu(MatmulFuncs &f, const TargetInfo &target, const KnobValues &knobs);

} // namespace blockc

#endif // BLOCKC_LOWERING_MATMUL_H
