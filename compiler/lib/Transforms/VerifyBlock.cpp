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
    if (type.getNumInputs() < 1 || type.getNumResults() < 1) {
      func.emitError("a block or model maps one or more tensors to one or more tensors");
      return signalPassFailure();
    }
    // The run-time batch first, every other size known: what the kernels index.
    auto isIds = [](RankedTensorType t) {
      return t.getRank() == 2 && (t.getElementType().isSignlessInteger(64) ||
                                  t.getElementType().isSignlessInteger(32));
    };
    for (auto [index, io] : llvm::enumerate(llvm::concat<const Type>(type.getInputs(), type.getResults()))) {
      auto tensor = dyn_cast<RankedTensorType>(io);
      bool isInput = index < type.getNumInputs();
      if (!tensor || tensor.getRank() < 2 || !ShapedType::isDynamic(tensor.getDimSize(0)) ||
          llvm::any_of(tensor.getShape().drop_front(), ShapedType::isDynamic) ||
          !(tensor.getElementType().isF32() || (isInput && isIds(tensor)))) {
        func.emitError() << "inputs and outputs must be tensor<?x...xf32> (inputs also "
                            "tensor<?xNxi64> or i32), the batch dynamic and every other "
                            "size static, got "
                         << io;
        return signalPassFailure();
      }
    }
    // Each output is a buffer of the caller's that a kernel writes.
    Operation *ret = func.getBody().front().getTerminator();
    llvm::SmallPtrSet<Value, 4> returned;
    for (Value result : ret->getOperands())
      if (isa<BlockArgument>(result) || !returned.insert(result).second) {
        ret->emitError("an output must be computed by the block or model, and be no "
                       "input and no other output");
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
