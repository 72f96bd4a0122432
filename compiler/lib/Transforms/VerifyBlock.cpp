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
    // With blockc.max_tokens, the tokens (dimension 1) may be dynamic too.
    IntegerAttr maxTokens = BlockcDialect::MaxTokensAttrHelper(&getContext()).getAttr(func);
    bool runTimeTokens = false;
    for (auto [index, io] : llvm::enumerate(llvm::concat<const Type>(type.getInputs(), type.getResults()))) {
      auto tensor = dyn_cast<RankedTensorType>(io);
      bool isInput = index < type.getNumInputs();
      auto dynamicAfterBatch = [&](RankedTensorType t) {
        for (int64_t d = 1; d < t.getRank(); ++d)
          if (t.isDynamicDim(d) && !(d == 1 && maxTokens && t.getRank() <= 3))
            return true;
        return false;
      };
      if (!tensor || tensor.getRank() < 2 || !ShapedType::isDynamic(tensor.getDimSize(0)) ||
          dynamicAfterBatch(tensor) ||
          !(tensor.getElementType().isF32() || (isInput && isIds(tensor)))) {
        func.emitError() << "inputs and outputs must be tensor<?x...xf32> (inputs also "
                            "tensor<?xNxi64> or i32), the batch dynamic and every other "
                            "size static (the tokens may be dynamic with blockc.max_tokens), got "
                         << io;
        return signalPassFailure();
      }
      runTimeTokens |= isInput && tensor.isDynamicDim(1);
    }
    if (maxTokens && !runTimeTokens) {
      func.emitError("blockc.max_tokens is given, but no input has run-time tokens");
      return signalPassFailure();
    }
    if (maxTokens) {
      WalkResult tables = func.walk([&](EmbeddingOp embedding) {
        int64_t rows = embedding.getTable().getType().getDimSize(0);
        if (embedding.getIds().getDefiningOp<PositionsOp>() && rows < maxTokens.getInt()) {
          embedding.emitOpError() << "has " << rows << " rows for up to " << maxTokens.getInt()
                                  << " positions (blockc.max_tokens)";
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      });
      if (tables.wasInterrupted())
        return signalPassFailure();
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
