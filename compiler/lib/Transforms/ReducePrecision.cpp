//===- ReducePrecision.cpp - linears' weights in a narrower format --------===//
//
// Halving a weight's bytes halves what a matmul streams, and CPUs with AVX512-BF16 multiply
// bf16 pairs at twice the float32 rate. The weight file stays float32: the rounding is one
// more bind-time op after the others (a BatchNorm is folded in float32, then rounded), so
// the prepare kernel that transposes or folds a weight also rounds it.
//
//===----------------------------------------------------------------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace blockc {
#define GEN_PASS_DEF_REDUCEPRECISION
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

struct ReducePrecisionPass : blockc::impl::ReducePrecisionBase<ReducePrecisionPass> {
  using ReducePrecisionBase::ReducePrecisionBase;

  void runOnOperation() override {
    if (!isKnownPrecision(precision)) {
      getOperation().emitError() << "unknown precision '" << precision
                                 << "' (expected fp32 or bf16)";
      return signalPassFailure();
    }
    if (precision == "fp32")
      return;
    // A weight several linears read (CSE joined their transposes) is rounded once.
    llvm::DenseMap<Value, Value> rounded;
    getOperation().walk([&](LinearOp linear) {
      Value weight = linear.getWeight();
      auto type = cast<RankedTensorType>(weight.getType());
      if (!type.getElementType().isF32())
        return;
      Value &bf16 = rounded[weight];
      if (!bf16) {
        OpBuilder builder(linear.getContext());
        builder.setInsertionPointAfterValue(weight);
        bf16 = builder.create<ToBF16Op>(weight.getLoc(),
                                        type.clone(builder.getBF16Type()), weight);
      }
      linear.getWeightMutable().assign(bf16);
    });
  }
};
} // namespace
