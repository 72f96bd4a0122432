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
  for (mlir::Operation &op : kernel.getBody().front().without_terminator()) {
    if (isNormOp(&op)) {
      NormFuncs norm = defineNorm(&op, funcs.lookup(op.getOperand(0)), funcs, v);
      funcs[op.getResult(0)] = norm.out;
      norms.push_back(norm);
    } else {
      funcs[op.getResult(0)] = defineElementwise(&op, funcs, v);
    }
  }
  mlir::Value result = mlir::cast<YieldOp>(kernel.getBody().front().getTerminator()).getValues()[0];
  Func out(kernel.getSymName().str());
  out(v.c, v.r) = funcs.lookup(result)(v.c, v.r);
  activationOutput(kernel.getResult(0), out, lowered);
  scheduleRowwise(out, norms, v, channelsOf(result), target);
  lowered.pipeline = Pipeline(out);
  return lowered;
}
