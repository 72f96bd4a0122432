//===- MLIRGen.cpp - AST to the blockc dialect ----------------------------===//
#include "blockc/MLIRGen.h"

#include "blockc/Dialect/BlockcOps.h"
#include "blockc/Frontend/AST.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/ScopedHashTable.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace blockc;
using ast::BlockAST;
using ast::ExprAST;
using ast::LayerDecl;
using ast::LayerKind;
using ast::Assignment;
using ast::NumberExprAST;
using ast::VarExprAST;
using ast::BinaryExprAST;
using ast::LayerCallExprAST;
using ast::BuiltinCallExprAST;

namespace {

class MLIRGenImpl {
public:
  MLIRGenImpl(MLIRContext &context, const BlockAST &block)
      : builder(&context), block(block) {}

  OwningOpRef<ModuleOp> generate() {
    auto module = ModuleOp::create(loc(block.loc));
    builder.setInsertionPointToEnd(module.getBody());
    activation = activationType(block.dim);
    auto func = builder.create<func::FuncOp>(
        loc(block.loc), block.name, builder.getFunctionType({activation}, {activation}));
    Block *entry = func.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    variables["x"] = entry->getArgument(0);
    for (const Assignment &assignment : block.statements)
      variables[assignment.target] = gen(*assignment.value);
    builder.create<func::ReturnOp>(loc(block.loc), variables["x"]);
    if (!ignored.empty())
      BlockcDialect::IgnoredWeightsAttrHelper(builder.getContext())
          .setAttr(func, builder.getStrArrayAttr(SmallVector<StringRef>(ignored.begin(), ignored.end())));
    return module;
  }

private:
  Location loc(const ast::Location &l) {
    return FileLineColLoc::get(builder.getStringAttr(l.file), l.line, l.col);
  }

  RankedTensorType activationType(int64_t channels) {
    return RankedTensorType::get({ShapedType::kDynamic, block.tokens, channels},
                                 builder.getF32Type());
  }

  /// The weight `name`, created once at the function entry so it dominates every use.
  Value weight(const std::string &name, ArrayRef<int64_t> shape, Location l) {
    auto it = weights.find(name);
    if (it != weights.end())
      return it->second;
    OpBuilder::InsertionGuard guard(builder);
    Block *entry = builder.getInsertionBlock();
    if (lastWeight)
      builder.setInsertionPointAfter(lastWeight);
    else
      builder.setInsertionPointToStart(entry);
    auto w = builder.create<WeightOp>(l, RankedTensorType::get(shape, builder.getF32Type()),
                                      builder.getStringAttr(name));
    lastWeight = w;
    weights[name] = w;
    return w;
  }

  /// The weights of `layer`, one per tensor of its kind's row in the row's (state-dict)
  /// order: a null Value for a tensor the layer lacks (no bias) or that inference does
  /// not read, which is recorded as ignored instead.
  SmallVector<Value> layerWeights(const LayerDecl &layer, Location l) {
    SmallVector<Value> w;
    const ast::LayerKindInfo &info = layer.getInfo();
    for (const ast::LayerTensor &tensor : info.tensors) {
      std::string name = layer.name + "." + tensor.suffix.str();
      if (!ast::hasTensor(info, tensor, layer)) {
        w.push_back(Value());
      } else if (!tensor.read) {
        if (!llvm::is_contained(ignored, name))
          ignored.push_back(name);
        w.push_back(Value());
      } else {
        assert(tensor.dtype == ast::TensorDType::F32 && "kernels read F32 weights");
        w.push_back(weight(name, layer.getShape(tensor), l));
      }
    }
    return w;
  }

  /// x W^T + b with PyTorch's [out, in] weight, transposed once at weight-binding time.
  Value linear(Value input, Value w, Value b, Location l) {
    auto shape = cast<RankedTensorType>(w.getType()).getShape();
    int64_t out = shape[0], in = shape[1];
    Value wt = builder.create<TransposeOp>(
        l, RankedTensorType::get({in, out}, builder.getF32Type()), w);
    return builder.create<LinearOp>(l, activationType(out), input, wt, b);
  }

  Value mha(Value q, Value k, Value v, int64_t heads, Location l) {
    return builder.create<MHAOp>(l, q.getType(), q, k, v, builder.getI64IntegerAttr(heads));
  }

  /// Splits a packed [B, N, 3C] qkv into q, k and v (timm's layout) and attends.
  Value packedMHA(Value qkv, int64_t heads, Location l) {
    int64_t c = cast<RankedTensorType>(qkv.getType()).getDimSize(2) / 3;
    Value parts[3];
    for (int i = 0; i < 3; ++i)
      parts[i] = builder.create<SliceOp>(l, activationType(c), qkv,
                                         builder.getI64IntegerAttr(i * c),
                                         builder.getI64IntegerAttr(c));
    return mha(parts[0], parts[1], parts[2], heads, l);
  }

  Value gen(const ExprAST &expr) {
    if (auto *var = llvm::dyn_cast<VarExprAST>(&expr))
      return variables.lookup(var->name);
    if (auto *binary = llvm::dyn_cast<BinaryExprAST>(&expr))
      return genBinary(*binary);
    if (auto *call = llvm::dyn_cast<LayerCallExprAST>(&expr))
      return genLayer(*call->layer, gen(*call->arg), loc(call->loc));
    if (auto *call = llvm::dyn_cast<BuiltinCallExprAST>(&expr))
      return genBuiltin(*call);
    llvm_unreachable("numbers only appear as factors of '*' (checked by Sema)");
  }

  Value genBinary(const BinaryExprAST &binary) {
    Location l = loc(binary.loc);
    auto *lhsNumber = llvm::dyn_cast<NumberExprAST>(binary.lhs.get());
    auto *rhsNumber = llvm::dyn_cast<NumberExprAST>(binary.rhs.get());
    if (binary.op == '*' && (lhsNumber || rhsNumber)) {
      Value tensor = gen(lhsNumber ? *binary.rhs : *binary.lhs);
      double factor = lhsNumber ? lhsNumber->value : rhsNumber->value;
      return builder.create<ScaleOp>(l, tensor, builder.getF64FloatAttr(factor));
    }
    Value lhs = gen(*binary.lhs), rhs = gen(*binary.rhs);
    if (binary.op == '*')
      return builder.create<MulOp>(l, lhs, rhs);
    return builder.create<AddOp>(l, lhs, rhs);
  }

  /// The op of one layer kind, on the weights its row lists.
  Value genLayer(const LayerDecl &layer, Value input, Location l) {
    SmallVector<Value> w = layerWeights(layer, l);
    switch (layer.kind) {
    case LayerKind::LayerNorm:
      return builder.create<LayerNormOp>(l, input, w[0], w[1], layer.eps);
    case LayerKind::RMSNorm:
      return builder.create<RMSNormOp>(l, input, w[0], layer.eps);
    case LayerKind::BatchNorm:
      return builder.create<BatchNormOp>(l, input, w[0], w[1], w[2], w[3], layer.eps);
    case LayerKind::Linear:
      return linear(input, w[0], w[1], l);
    case LayerKind::Attention: {
      Value qkv = linear(input, w[0], w[1], l);
      Value heads = packedMHA(qkv, layer.heads, l);
      return linear(heads, w[2], w[3], l);
    }
    case LayerKind::LayerScale:
      return builder.create<MulOp>(l, input, w[0]);
    }
    llvm_unreachable("unknown layer kind");
  }

  Value genBuiltin(const BuiltinCallExprAST &call) {
    Location l = loc(call.loc);
    using B = BuiltinCallExprAST::Builtin;
    if (call.builtin == B::MHA) {
      SmallVector<Value> operands;
      for (const auto &arg : call.args) // in source order
        operands.push_back(gen(*arg));
      if (operands.size() == 1)
        return packedMHA(operands[0], call.heads, l);
      return mha(operands[0], operands[1], operands[2], call.heads, l);
    }
    Value input = gen(*call.args[0]);
    switch (call.builtin) {
    case B::Gelu:
      return builder.create<GeluOp>(l, input);
    case B::GeluTanh:
      return builder.create<GeluTanhOp>(l, input);
    case B::Relu:
      return builder.create<ReluOp>(l, input);
    case B::Silu:
      return builder.create<SiluOp>(l, input);
    case B::MHA:
      break;
    }
    llvm_unreachable("unknown builtin");
  }

  OpBuilder builder;
  const BlockAST &block;
  RankedTensorType activation;
  Operation *lastWeight = nullptr;
  llvm::StringMap<Value> variables;
  llvm::StringMap<Value> weights;
  std::vector<std::string> ignored;
};

} // namespace

OwningOpRef<ModuleOp> blockc::mlirGen(MLIRContext &context, const BlockAST &block) {
  context.loadDialect<BlockcDialect, func::FuncDialect>();
  return MLIRGenImpl(context, block).generate();
}
