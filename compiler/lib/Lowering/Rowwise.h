//===- Rowwise.h - row-wise kernels: the norm and elementwise kinds -*- C++ -*-===//
//
// The IR's `norm` and `elementwise` kernels are both row-wise: a chain of per-row ops over
// (c, r) (a post-norm "Add & Norm" is add -> LayerNorm, a sandwich norm is LayerNorm ->
// add), lowered by one algorithm (RowwiseAlgorithm.cpp) with one CPU and one GPU schedule
// (RowwiseCpuSchedule.cpp, RowwiseGpuSchedule.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_ROWWISE_H
#define BLOCKC_LOWERING_ROWWISE_H

#include "OpSemantics.h"

namespace blockc {

LoweredKernel lowerRowwise(KernelOp kernel, const TargetInfo &target);

// Each schedule's space (its knobs, with the hand-written choice as each knob's default)
// and the schedule applied with values of those knobs. `rowStats`: some norm of the
// kernel has per-row statistics (LayerNorm, RMSNorm).
ScheduleSpace rowwiseCpuSpace(int64_t channels, int64_t tokens, const TargetInfo &target);
void scheduleRowwiseCpu(Halide::Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                        const TargetInfo &target, const KnobValues &knobs);
ScheduleSpace rowwiseGpuSpace(int64_t channels, int64_t tokens, bool rowStats);
void scheduleRowwiseGpu(Halide::Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                        const TargetInfo &target, const KnobValues &knobs);

} // namespace blockc

#endif // BLOCKC_LOWERING_ROWWISE_H
