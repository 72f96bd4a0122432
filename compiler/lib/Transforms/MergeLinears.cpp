//===- MergeLinears.cpp - one matmul for linears that read the same input -===//
//
// BERT's query, key and value projections read the same hidden states: as three matmuls they
// are three kernels that each stream the input; joined (their weights and biases concatenated
// once, at weight-binding time) they are one matmul with three times the columns, whose
// result the attention reads in slices, exactly as it reads timm's packed qkv. Only linears
// read by attentions alone are joined: the attention kernel takes slices of its operands,
// other kernels do not.
//
//===----------------------------------------------------------------------===//
#include "blockc/Transforms/Passes.h"

#include "llvm/ADT/MapVector.h"
#include "mlir/IR/Builders.h"

namespace blockc {
#define GEN_PASS_DEF_MERGELINEARS
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

/// The PyTorch [out, in] weight a linear's [in, out] weight is the bind-time transpose of.
Value pytorchWeight(LinearOp linear) {
  auto transpose = linear.getWeight().getDefiningOp<TransposeOp>();
  if (!transpose || cast<RankedTensorType>(transpose.getInput().getType()).getRank() != 2)
    return Value();
  return transpose.getInput();
}

/// Whether `linears` can become one: each weight a transposed [out, in] weight, all with a
/// bias or none and asked for in the same number format, and every result read only by
/// attentions (which read slices in their own kernel) after the last of the linears (where
/// the joined one goes).
bool mergeable(MutableArrayRef<LinearOp> linears, Operation *last) {
  for (LinearOp linear : linears) {
    if (!pytorchWeight(linear) || bool(linear.getBias()) != bool(linears.front().getBias()) ||
        linear.getPrecisionAttr() != linears.front().getPrecisionAttr())
      return false;
    for (Operation *user : linear->getUsers())
      if (!isa<MHAOp>(user) || user->getBlock() != last->getBlock() ||
          !last->isBeforeInBlock(user))
        return false;
  }
  return true;
}

struct MergeLinearsPass : blockc::impl::MergeLinearsBase<MergeLinearsPass> {
  void runOnOperation() override {
    llvm::MapVector<Value, SmallVector<LinearOp>> byInput;
    getOperation().walk([&](LinearOp linear) { byInput[linear.getInput()].push_back(linear); });
    for (auto &[input, linears] : byInput) {
      if (linears.size() < 2)
        continue;
      Operation *last = linears.front();
      for (LinearOp linear : linears)
        if (last->isBeforeInBlock(linear))
          last = linear;
      if (!mergeable(linears, last))
        continue;
      merge(input, linears, last);
    }
  }

  void merge(Value input, MutableArrayRef<LinearOp> linears, Operation *last) {
    OpBuilder builder(last);
    Location loc = last->getLoc();
    Type f32 = builder.getF32Type();
    SmallVector<Value> weights, biases;
    int64_t out = 0, in = 0;
    for (LinearOp linear : linears) {
      weights.push_back(pytorchWeight(linear));
      if (linear.getBias())
        biases.push_back(linear.getBias());
      auto shape = cast<RankedTensorType>(weights.back().getType()).getShape();
      out += shape[0];
      in = shape[1];
    }
    Value joined = builder.create<ConcatOp>(loc, RankedTensorType::get({out, in}, f32), weights);
    Value weight = builder.create<TransposeOp>(loc, RankedTensorType::get({in, out}, f32), joined);
    Value bias = biases.empty()
                     ? Value()
                     : builder.create<ConcatOp>(loc, RankedTensorType::get({out}, f32), biases);
    auto inputType = cast<RankedTensorType>(input.getType());
    SmallVector<int64_t> shape(inputType.getShape());
    shape.back() = out;
    Value merged = builder.create<LinearOp>(loc, RankedTensorType::get(shape, f32), input,
                                            weight, bias, Value(), Value(),
                                            linears.front().getPrecisionAttr());
    int64_t offset = 0;
    for (LinearOp linear : linears) {
      auto type = cast<RankedTensorType>(linear.getType());
      Value slice = builder.create<SliceOp>(linear.getLoc(), type, merged,
                                            builder.getI64IntegerAttr(offset),
                                            builder.getI64IntegerAttr(type.getShape().back()));
      offset += type.getShape().back();
      Operation *transpose = linear.getWeight().getDefiningOp();
      linear.replaceAllUsesWith(slice);
      linear.erase();
      if (transpose->use_empty())
        transpose->erase();
    }
  }
};
} // namespace
