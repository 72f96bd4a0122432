//===- Prepare.h - bind-time kernels: weight transformations ------*- C++ -*-===//
//
// Run once per weight file: the transpose of a PyTorch [out, in] weight and BatchNorm
// folded into a linear's weight and bias (PrepareAlgorithm.cpp), with a CPU and a GPU
// schedule and no knobs (PrepareCpuSchedule.cpp, PrepareGpuSchedule.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_PREPARE_H
#define BLOCKC_LOWERING_PREPARE_H

#include "KernelIO.h"

namespace blockc {

LoweredKernel lowerPrepare(KernelOp kernel, const TargetInfo &target);

/// `perChannel`: the [C] intermediates of a BatchNorm fold (scale, shift).
void schedulePrepareCpu(std::vector<Halide::Func> &outputs,
                        std::vector<Halide::Func> &perChannel, const TargetInfo &target);
void schedulePrepareGpu(std::vector<Halide::Func> &outputs,
                        std::vector<Halide::Func> &perChannel);

} // namespace blockc

#endif // BLOCKC_LOWERING_PREPARE_H
