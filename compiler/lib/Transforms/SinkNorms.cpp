//===- SinkNorms.cpp - norms below the poolings that read them ------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace blockc {
#define GEN_PASS_DEF_SINKNORMS
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

/// Whether `norm` gives the same result before and after `pool`: a per-token norm commutes
/// with taking a token, a per-channel affine one (inference BatchNorm) with any pooling.
bool commutes(Operation *norm, Operation *pool) {
  // Not with a masked mean: a sample without tokens pools to zeros, not to the shift.
  if (isa<BatchNormOp>(norm))
    return isa<TakeTokenOp>(pool) || (isa<MeanTokensOp>(pool) && !cast<MeanTokensOp>(pool).getMask());
  return isa<LayerNormOp, RMSNormOp>(norm) && isa<TakeTokenOp>(pool);
}

/// Rebuilds `norm` after each of its users, which are all poolings it commutes with.
void sinkBelowPoolings(Operation *norm) {
  if (norm->use_empty() ||
      !llvm::all_of(norm->getUsers(), [&](Operation *user) { return commutes(norm, user); }))
    return;
  OpBuilder builder(norm->getContext());
  Value input = norm->getOperand(0);
  for (Operation *pool : llvm::make_early_inc_range(norm->getUsers())) {
    builder.setInsertionPoint(pool);
    IRMapping mapping;
    mapping.map(norm->getResult(0), input);
    Operation *pooled = builder.clone(*pool, mapping);
    // The norm on the pooled rows: its parameters as they were, its input and type pooled.
    OperationState state(norm->getLoc(), norm->getName());
    state.addOperands(pooled->getResult(0));
    state.addOperands(norm->getOperands().drop_front());
    state.addAttributes(norm->getAttrs());
    state.addTypes(pooled->getResult(0).getType());
    Operation *moved = builder.create(state);
    pool->replaceAllUsesWith(moved);
    pool->erase();
  }
  norm->erase();
}

struct SinkNormsPass : blockc::impl::SinkNormsBase<SinkNormsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> norms;
    getOperation().walk([&](Operation *op) {
      if (isa<LayerNormOp, RMSNormOp, BatchNormOp>(op))
        norms.push_back(op);
    });
    for (Operation *norm : norms)
      sinkBelowPoolings(norm);
  }
};
} // namespace
