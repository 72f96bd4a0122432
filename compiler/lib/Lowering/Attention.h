//===- Attention.h - multi-head attention kernels -----------------*- C++ -*-===//
//
// Per (batch, head, tile of queries): scores against every key, their softmax and the
// weighted sum of values. The algorithm is in AttentionAlgorithm.cpp, its CPU and GPU
// schedules and their knobs in AttentionCpuSchedule.cpp and AttentionGpuSchedule.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_ATTENTION_H
#define BLOCKC_LOWERING_ATTENTION_H

#include "KernelIO.h"

namespace blockc {

LoweredKernel lowerAttention(KernelOp kernel, const TargetInfo &target);

/// The functions of an attention kernel that its schedules place.
/// In bf16 (MHAOp `in bf16`) the queries, keys, values and softmax weights are stored
/// rounded to bf16. Where the target has a bf16 dot product (2 products per float lane),
/// the keys and values are stored in pairs of their reduction dimension (`pairedKeys`,
/// `pairedValues`), so that a vector of them is a vector of pairs.
struct AttentionFuncs {
  Halide::ImageParam q;     // q(d, h, i, b): the queries
  Halide::Func queries;     // q(d, h, i, b) as (d, i, h, b), in the core's format
  Halide::Func keysT;       // kT(j, d, h, b): keys transposed so scores vectorize over keys
  Halide::Func pairedKeys;  // kT(j, 2 dp + p) at (p, j, dp, h, b), when reduced in pairs
  Halide::Func scoresAcc;   // sum_d q(d, h, i, b) k(d, h, j, b), accumulated in registers
  Halide::Func scores;      // s(j, i, h, b)
  Halide::Func rowMax, expScores, rowSum;
  Halide::Func pairedValues; // v(d, h, 2 jp + p, b) at (p, d, jp, h, b), when reduced in pairs
  Halide::Func weightedAcc; // o(d, i, h, b) = sum_j e(j, i, h, b) v(d, h, j, b)
  Halide::Func out;         // out(d, h, i, b) = o / rowSum
  Halide::RDom rd, rj;
  Halide::RDom rv;          // the weighted sum's keys: key rv.y pair + rv.x, in whole pairs
  Halide::Var d{"d"}, h{"h"}, i{"i"}, j{"j"}, b{"b"};
  bool bf16 = false;        // the products of bf16 values
  int pair = 1;             // the products a dot product instruction sums per float lane
  int64_t tokens;             // plannedTokens: a sample's N, or the most a run takes
  bool runTimeTokens = false; // N is chosen at run time (then it is k's extent)

  /// The tokens every run has at least (what inward-shifted tiles may span).
  int64_t fewestTokens() const { return runTimeTokens ? 1 : tokens; }
  int64_t headDim;
};

// Each schedule's space (its knobs, with the hand-written choice as each knob's default)
// and the schedule applied with values of those knobs.
ScheduleSpace attentionCpuSpace(const AttentionFuncs &f, const TargetInfo &target);
void scheduleAttentionCpu(AttentionFuncs &f, const TargetInfo &target, const KnobValues &knobs);
ScheduleSpace attentionGpuSpace(const AttentionFuncs &f);
void scheduleAttentionGpu(AttentionFuncs &f, const TargetInfo &target, const KnobValues &knobs);

} // namespace blockc

#endif // BLOCKC_LOWERING_ATTENTION_H
