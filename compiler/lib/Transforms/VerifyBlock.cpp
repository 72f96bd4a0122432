//===- VerifyBlock.cpp - block-level invariants ---------------------------===//
#include "blockc/Transforms/Passes.h"

#include "llvm/ADT/StringMap.h"

namespace blockc {
#define GEN_PASS_DEF_VERIFYBLOCK
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {
struct VerifyBlockPass : blockc::impl::VerifyBlockBase<VerifyBlockPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FunctionType type = func.getFunctionType();
    if (type.getNumInputs() != 1 || type.getNumResults() != 1 ||
        type.getInput(0) != type.getResult(0)) {
      func.emitError("a block maps one [B, N, D] tensor to one of the same type");
      return signalPassFailure();
    }
    auto io = dyn_cast<RankedTensorType>(type.getInput(0));
    if (!io || io.getRank() != 3 || !ShapedType::isDynamic(io.getDimSize(0)) ||
        ShapedType::isDynamic(io.getDimSize(1)) || ShapedType::isDynamic(io.getDimSize(2))) {
      func.emitError("the block's input must be tensor<?xNxDxf32>");
      return signalPassFailure();
    }
    llvm::StringMap<WeightOp> weights;
    WalkResult result = func.walk([&](WeightOp weight) {
      auto [it, inserted] = weights.try_emplace(weight.getName(), weight);
      if (!inserted && it->second.getType() != weight.getType()) {
        weight.emitError() << "weight '" << weight.getName() << "' used as " << weight.getType()
                           << " and as " << it->second.getType();
        return WalkResult::interrupt();
      }
      if (weight->use_empty()) {
        weight.emitError() << "weight '" << weight.getName() << "' is never used";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
