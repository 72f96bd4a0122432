//===- FoldBatchNorm.cpp - fold inference BatchNorm into linears ----------===//
//
// Folding happens at weight-binding time (fold_bn_* ops become `prepare` kernels) because
// a module is compiled from the spec alone, before any weights exist; the runtime computes
// the folded weights once when a weight file is bound, so running costs nothing extra.
//
//===----------------------------------------------------------------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace blockc {
#define GEN_PASS_DEF_FOLDBATCHNORM
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

/// Rebuilds `linear` around a folded weight and bias produced by `FoldOp`.
template <typename FoldOp>
LinearOp foldInto(OpBuilder &builder, LinearOp linear, BatchNormOp norm, Value input) {
  builder.setInsertionPoint(linear);
  auto biasType = RankedTensorType::get(
      {cast<RankedTensorType>(linear.getWeight().getType()).getDimSize(1)},
      builder.getF32Type());
  auto fold = builder.create<FoldOp>(
      norm.getLoc(), linear.getWeight().getType(), biasType, linear.getWeight(),
      norm.getGamma(), norm.getBeta(), norm.getRunningMean(), norm.getRunningVar(),
      linear.getBias(), norm.getEpsilonAttr());
  return builder.create<LinearOp>(linear.getLoc(), linear.getType(), input,
                                  fold.getFoldedWeight(), fold.getFoldedBias(), Value(), Value(),
                                  linear.getPrecisionAttr());
}

struct FoldBatchNormPass : blockc::impl::FoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    OpBuilder builder(&getContext());
    SmallVector<BatchNormOp> norms;
    getOperation().walk([&](BatchNormOp norm) { norms.push_back(norm); });
    for (BatchNormOp norm : norms) {
      // BatchNorm feeding linears only: y = (x s + t) W + b = x (s W) + (t W + b).
      bool feedsLinearsOnly = !norm->use_empty() && llvm::all_of(norm->getUsers(), [&](Operation *user) {
        auto linear = dyn_cast<LinearOp>(user);
        return linear && linear.getInput() == norm.getResult();
      });
      if (feedsLinearsOnly) {
        for (Operation *user : llvm::make_early_inc_range(norm->getUsers())) {
          auto linear = cast<LinearOp>(user);
          LinearOp folded = foldInto<FoldBatchNormInputOp>(builder, linear, norm, norm.getInput());
          linear.replaceAllUsesWith(folded.getResult());
          linear.erase();
        }
        norm.erase();
        continue;
      }
      // BatchNorm as the only user of a linear: (x W + b) s + t = x (W s) + (b s + t).
      auto linear = norm.getInput().getDefiningOp<LinearOp>();
      if (linear && linear->hasOneUse()) {
        LinearOp folded = foldInto<FoldBatchNormOutputOp>(builder, linear, norm, linear.getInput());
        norm.replaceAllUsesWith(folded.getResult());
        norm.erase();
        linear.erase();
      }
    }
  }
};
} // namespace
