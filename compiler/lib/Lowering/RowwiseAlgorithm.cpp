//===- RowwiseAlgorithm.cpp - the norm and elementwise kernels -------------===//
#include "Rowwise.h"

using namespace blockc;
using namespace Halide;

LoweredKernel blockc::lowerRowwise(KernelOp kernel, const TargetInfo &target) {
  LoweredKernel lowered;
  ValueFuncs funcs = bindInputs(kernel, lowered, target);
  RowVars v;
  std::vector<NormFuncs> norms;
  for (mlir::Operation &op : kernel.getBody().front().without_terminator())
    if (std::optional<NormFuncs> norm = defineRowOp(&op, funcs, v, lowered))
      norms.push_back(*norm);
  Func out = rowOutput(kernel, funcs, v, lowered);
  const int64_t channels = channelsOf(kernel.getResult(0));
  const bool rowStats =
      llvm::any_of(norms, [](const NormFuncs &n) { return !n.reductions.empty(); });
  const int64_t tokens = plannedTokens(kernel.getResult(0));
  lowered.space = target.isGpu() ? rowwiseGpuSpace(channels, tokens, rowStats)
                                 : rowwiseCpuSpace(channels, tokens, target);
  lowered.schedule = [out, norms, v, target](const KnobValues &knobs) mutable {
    if (target.isGpu())
      scheduleRowwiseGpu(out, norms, v, target, knobs);
    else
      scheduleRowwiseCpu(out, norms, v, target, knobs);
  };
  lowered.pipeline = Pipeline(out);
  return lowered;
}
