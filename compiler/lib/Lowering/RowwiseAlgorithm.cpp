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
  scheduleRowwise(out, norms, v, channelsOf(kernel.getResult(0)), target);
  lowered.pipeline = Pipeline(out);
  return lowered;
}
