//===- RowwiseAlgorithm.cpp - norm and elementwise kernels ----------------===//
//
// `norm` and `elementwise` kernels are both a chain of per-row ops over (c, r): a
// post-norm "Add & Norm" is add -> LayerNorm, a sandwich norm is LayerNorm -> add.
//
//===----------------------------------------------------------------------===//
#include "Kernels.h"

using namespace blockc;
using namespace Halide;

LoweredKernel blockc::lowerRowwise(KernelOp kernel, const TargetInfo &target) {
  LoweredKernel lowered;
  ValueFuncs funcs = bindInputs(kernel, lowered);
  RowVars v;
  std::vector<NormFuncs> norms;
  for (mlir::Operation &op : kernel.getBody().front().without_terminator())
    if (std::optional<NormFuncs> norm = defineRowOp(&op, funcs, v))
      norms.push_back(*norm);
  Func out = rowOutput(kernel, funcs, v, lowered);
  const int64_t channels = channelsOf(kernel.getResult(0));
  const bool rowStats =
      llvm::any_of(norms, [](const NormFuncs &n) { return !n.reductions.empty(); });
  lowered.space = rowwiseSpace(channels, tokensOf(kernel.getResult(0)), rowStats, target);
  lowered.schedule = [out, norms, v, channels, target](const KnobValues &knobs) mutable {
    scheduleRowwise(out, norms, v, channels, target, knobs);
  };
  lowered.pipeline = Pipeline(out);
  return lowered;
}
