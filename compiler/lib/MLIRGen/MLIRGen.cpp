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
using ast::SpecAST;
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
  MLIRGenImpl(MLIRContext &context, const SpecAST &spec) : builder(&context), spec(spec) {}

  OwningOpRef<ModuleOp> generate() {
    const BlockAST &top = spec.top();
    auto module = ModuleOp::create(loc(top.loc));
    builder.setInsertionPointToEnd(module.getBody());
    // A block is a function of its input x; a model of its declared inputs.
    SmallVector<Type> inputs;
    SmallVector<std::string> inputNames;
    if (top.isModel) {
      for (const ast::InputDecl &input : top.inputs) {
        SmallVector<int64_t> shape = {ShapedType::kDynamic};
        shape.append(input.shape.begin(), input.shape.end());
        Type element = input.dtype == "int64"   ? Type(builder.getI64Type())
                       : input.dtype == "int32" ? Type(builder.getI32Type())
                                                : Type(builder.getF32Type());
        inputs.push_back(RankedTensorType::get(shape, element));
        inputNames.push_back(input.name);
      }
    } else {
      inputs.push_back(RankedTensorType::get({ShapedType::kDynamic, top.tokens, top.dim},
                                             builder.getF32Type()));
      inputNames.push_back("x");
      if (top.readsMask) { // a block alone takes its mask as a second input
        inputs.push_back(RankedTensorType::get({ShapedType::kDynamic, top.tokens},
                                               builder.getI64Type()));
        inputNames.push_back("mask");
      }
    }
    auto func = builder.create<func::FuncOp>(loc(top.loc), top.name,
                                             builder.getFunctionType(inputs, {}));
    Block *entry = func.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    Scope scope;
    for (auto [name, arg] : llvm::zip(inputNames, entry->getArguments()))
      scope[name] = arg;
    SmallVector<Value> results;
    SmallVector<std::string> resultNames;
    genStatements(top, "", scope, &results, &resultNames);
    if (!top.isModel) {
      results.push_back(scope["x"]);
      resultNames.push_back("y");
    }
    builder.create<func::ReturnOp>(loc(top.loc), results);
    func.setFunctionType(builder.getFunctionType(inputs, ValueRange(results).getTypes()));
    if (top.isModel || top.readsMask) {
      StringAttr key = builder.getStringAttr(BlockcDialect::kNameAttrName);
      for (auto [i, name] : llvm::enumerate(inputNames))
        func.setArgAttr(i, key, builder.getStringAttr(name));
      for (auto [i, name] : llvm::enumerate(resultNames))
        func.setResultAttr(i, key, builder.getStringAttr(name));
    }
    setIdBounds(func);
    for (auto [i, input] : llvm::enumerate(top.inputs))
      if (input.zeroDefault)
        func.setArgAttr(i, BlockcDialect::kZeroDefaultAttrName, builder.getUnitAttr());
    static_assert(ast::kRunTimeTokens == ShapedType::kDynamic, "run-time tokens are dynamic");
    if (top.maxTokens)
      BlockcDialect::MaxTokensAttrHelper(builder.getContext())
          .setAttr(func, builder.getI64IntegerAttr(top.maxTokens));
    if (!top.ignored.empty()) {
      SmallVector<StringRef> prefixes;
      for (const auto &entry : top.ignored)
        prefixes.push_back(entry.first);
      BlockcDialect::IgnoredPrefixesAttrHelper(builder.getContext())
          .setAttr(func, builder.getStrArrayAttr(prefixes));
    }
    if (!ignored.empty())
      BlockcDialect::IgnoredWeightsAttrHelper(builder.getContext())
          .setAttr(func, builder.getStrArrayAttr(SmallVector<StringRef>(ignored.begin(), ignored.end())));
    return module;
  }

private:
  using Scope = llvm::StringMap<Value>;

  /// Each integer input's `blockc.bound`: the values the runtime lets through are [0, bound),
  /// the rows of the smallest table it indexes, or 2 for a mask (1 = token, 0 = padding).
  void setIdBounds(func::FuncOp func) {
    llvm::DenseMap<Value, int64_t> bounds;
    auto bound = [&](Value ids, int64_t limit) {
      if (!isa<BlockArgument>(ids))
        return;
      auto [it, inserted] = bounds.try_emplace(ids, limit);
      it->second = std::min(it->second, limit);
    };
    func.walk([&](Operation *op) {
      if (auto embedding = dyn_cast<EmbeddingOp>(op))
        bound(embedding.getIds(), embedding.getTable().getType().getDimSize(0));
      else if (auto mha = dyn_cast<MHAOp>(op); mha && mha.getMask())
        bound(mha.getMask(), 2);
      else if (auto mean = dyn_cast<MeanTokensOp>(op); mean && mean.getMask())
        bound(mean.getMask(), 2);
    });
    for (auto [ids, limit] : bounds)
      func.setArgAttr(cast<BlockArgument>(ids).getArgNumber(), BlockcDialect::kBoundAttrName,
                      builder.getI64IntegerAttr(limit));
  }

  Location loc(const ast::Location &l) {
    return FileLineColLoc::get(builder.getStringAttr(l.file), l.line, l.col);
  }

  /// `like` with `channels` features: [B, N, channels] or [B, channels].
  RankedTensorType withChannels(Value like, int64_t channels) {
    SmallVector<int64_t> shape(cast<RankedTensorType>(like.getType()).getShape());
    shape.back() = channels;
    return RankedTensorType::get(shape, builder.getF32Type());
  }

  /// The statements of `body`, its layers' tensors named under `prefix`. A model's
  /// `output` values are appended to `outputs`.
  void genStatements(const BlockAST &body, const std::string &prefix, Scope &scope,
                     SmallVector<Value> *outputs = nullptr,
                     SmallVector<std::string> *outputNames = nullptr) {
    for (const Assignment &assignment : body.statements) {
      Value value = gen(*assignment.value, prefix, scope);
      scope[assignment.target] = value;
      if (assignment.output) {
        outputs->push_back(value);
        outputNames->push_back(assignment.target);
      }
    }
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
  SmallVector<Value> layerWeights(const LayerDecl &layer, const std::string &prefix,
                                  Location l) {
    SmallVector<Value> w;
    const ast::LayerKindInfo &info = layer.getInfo();
    for (const ast::LayerTensor &tensor : info.tensors) {
      std::string name = prefix + ast::tensorKey(layer.name, tensor);
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

  /// x W^T + b with PyTorch's [out, in] weight (a conv2d's [out, C, K, K] flattened),
  /// transposed once at weight-binding time; in the number format `layer` asks for.
  Value linear(const LayerDecl &layer, Value input, Value w, Value b, Location l) {
    auto shape = cast<RankedTensorType>(w.getType()).getShape();
    int64_t out = shape[0], in = channelsOf(input);
    Value wt = builder.create<TransposeOp>(
        l, RankedTensorType::get({in, out}, builder.getF32Type()), w);
    return builder.create<LinearOp>(l, withChannels(input, out), input, wt, b, Value(), Value(),
                                    precisionOf(&layer));
  }

  /// The layer's own `precision` (a builtin's: none), else that of the innermost body
  /// that gives one; none (float32) where nothing does.
  PrecisionAttr precisionOf(const LayerDecl *layer) {
    llvm::StringRef name = layer ? llvm::StringRef(layer->precision) : "";
    for (const BlockAST *body : llvm::reverse(bodies))
      if (name.empty())
        name = body->precision;
    if (name.empty())
      return PrecisionAttr();
    std::optional<Precision> precision = symbolizePrecision(name);
    assert(precision && "Sema checked the name against kPrecisions");
    return PrecisionAttr::get(builder.getContext(), *precision);
  }

  static int64_t channelsOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); }

  /// The attention core, in the format of `layer` (an attention layer's, or none for the
  /// builtin `mha`).
  Value mha(Value q, Value k, Value v, Value mask, int64_t heads, const LayerDecl *layer,
            Location l) {
    return builder.create<MHAOp>(l, q.getType(), q, k, v, mask, builder.getI64IntegerAttr(heads),
                                 precisionOf(layer));
  }

  /// Splits a packed [B, N, 3C] qkv into q, k and v (timm's layout) and attends.
  Value packedMHA(Value qkv, Value mask, int64_t heads, const LayerDecl *layer, Location l) {
    int64_t c = channelsOf(qkv) / 3;
    Value parts[3];
    for (int i = 0; i < 3; ++i)
      parts[i] = builder.create<SliceOp>(l, withChannels(qkv, c), qkv,
                                         builder.getI64IntegerAttr(i * c),
                                         builder.getI64IntegerAttr(c));
    return mha(parts[0], parts[1], parts[2], mask, heads, layer, l);
  }

  Value gen(const ExprAST &expr, const std::string &prefix, Scope &scope) {
    if (auto *var = llvm::dyn_cast<VarExprAST>(&expr)) {
      if (Value value = scope.lookup(var->name))
        return value;
      return parameter(var->name, prefix, scope); // Sema resolved it to a parameter
    }
    if (auto *binary = llvm::dyn_cast<BinaryExprAST>(&expr))
      return genBinary(*binary, prefix, scope);
    if (auto *call = llvm::dyn_cast<LayerCallExprAST>(&expr))
      return genLayer(*call->layer, gen(*call->arg, prefix, scope), prefix, loc(call->loc));
    if (auto *call = llvm::dyn_cast<ast::InstanceCallExprAST>(&expr))
      return genInstances(*call, gen(*call->arg, prefix, scope),
                          call->mask.empty() ? Value() : scope.lookup(call->mask), prefix);
    if (auto *call = llvm::dyn_cast<BuiltinCallExprAST>(&expr))
      return genBuiltin(*call, prefix, scope);
    llvm_unreachable("numbers only appear as factors of '*' (checked by Sema)");
  }

  /// The parameter layer `name` of the body being generated, as its weight.
  Value parameter(const std::string &name, const std::string &prefix, Scope &scope) {
    const LayerDecl *layer = nullptr;
    for (const BlockAST *body : bodies)
      for (const auto &decl : body->layers)
        if (decl->name == name)
          layer = decl.get();
    assert(layer && layer->kind == LayerKind::Parameter && "Sema resolved the name");
    return layerWeights(*layer, prefix, loc(layer->loc)).front();
  }

  /// Each instance's block, inlined with its tensors named under the instance; `mask` is
  /// the blocks' `mask`, if they read one.
  Value genInstances(const ast::InstanceCallExprAST &call, Value input, Value mask,
                     const std::string &prefix) {
    for (const auto &[name, block] : call.instances) {
      Scope inner;
      inner["x"] = input;
      if (mask)
        inner["mask"] = mask;
      bodies.push_back(block);
      genStatements(*block, prefix + name + ".", inner);
      bodies.pop_back();
      input = inner["x"];
    }
    return input;
  }

  Value genBinary(const BinaryExprAST &binary, const std::string &prefix, Scope &scope) {
    Location l = loc(binary.loc);
    auto *lhsNumber = llvm::dyn_cast<NumberExprAST>(binary.lhs.get());
    auto *rhsNumber = llvm::dyn_cast<NumberExprAST>(binary.rhs.get());
    if (binary.op == '*' && (lhsNumber || rhsNumber)) {
      Value tensor = gen(lhsNumber ? *binary.rhs : *binary.lhs, prefix, scope);
      double factor = lhsNumber ? lhsNumber->value : rhsNumber->value;
      return builder.create<ScaleOp>(l, tensor, builder.getF64FloatAttr(factor));
    }
    Value lhs = gen(*binary.lhs, prefix, scope), rhs = gen(*binary.rhs, prefix, scope);
    if (binary.op == '*')
      return builder.create<MulOp>(l, lhs, rhs);
    // A [1, N, C] table (a weight, without the batch) is added to the tokens, as the rhs.
    if (!cast<RankedTensorType>(lhs.getType()).isDynamicDim(0))
      std::swap(lhs, rhs);
    return builder.create<AddOp>(l, lhs, rhs);
  }

  /// The op of one layer kind, on the weights its row lists.
  Value genLayer(const LayerDecl &layer, Value input, const std::string &prefix, Location l) {
    SmallVector<Value> w = layerWeights(layer, prefix, l);
    switch (layer.kind) {
    case LayerKind::LayerNorm:
      return builder.create<LayerNormOp>(l, input, w[0], w[1], layer.eps);
    case LayerKind::RMSNorm:
      return builder.create<RMSNormOp>(l, input, w[0], layer.eps);
    case LayerKind::BatchNorm:
      return builder.create<BatchNormOp>(l, input, w[0], w[1], w[2], w[3], layer.eps);
    case LayerKind::Linear:
      return linear(layer, input, w[0], w[1], l);
    case LayerKind::Attention:
    case LayerKind::MultiheadAttention: {
      Value qkv = linear(layer, input, w[0], w[1], l);
      Value heads = packedMHA(qkv, Value(), layer.heads, &layer, l);
      return linear(layer, heads, w[2], w[3], l);
    }
    case LayerKind::LayerScale:
      return builder.create<MulOp>(l, input, w[0]);
    case LayerKind::Conv2d: {
      auto image = cast<RankedTensorType>(input.getType()).getShape();
      int64_t p = layer.kernel, c = image[1];
      auto type = RankedTensorType::get(
          {ShapedType::kDynamic, (image[2] / p) * (image[3] / p), c * p * p}, builder.getF32Type());
      Value patches = builder.create<PatchesOp>(l, type, input, builder.getI64IntegerAttr(p));
      return linear(layer, patches, w[0], w[1], l);
    }
    case LayerKind::Embedding: {
      auto ids = cast<RankedTensorType>(input.getType());
      auto type = RankedTensorType::get({ShapedType::kDynamic, ids.getDimSize(1), layer.outFeatures},
                                        builder.getF32Type());
      return builder.create<EmbeddingOp>(l, type, w[0], input);
    }
    case LayerKind::Parameter:
      break;
    }
    llvm_unreachable("parameters are values, not applied (checked by Sema)");
  }

  Value genBuiltin(const BuiltinCallExprAST &call, const std::string &prefix, Scope &scope) {
    Location l = loc(call.loc);
    using B = BuiltinCallExprAST::Builtin;
    SmallVector<Value> operands;
    for (const auto &arg : call.args) // in source order
      operands.push_back(gen(*arg, prefix, scope));
    Value input = operands[0];
    Value mask = call.mask.empty() ? Value() : scope.lookup(call.mask);
    auto pooled = [&] {
      return RankedTensorType::get({ShapedType::kDynamic, channelsOf(input)}, builder.getF32Type());
    };
    switch (call.builtin) {
    case B::MHA:
      if (operands.size() == 1)
        return packedMHA(operands[0], mask, call.heads, nullptr, l);
      return mha(operands[0], operands[1], operands[2], mask, call.heads, nullptr, l);
    case B::Concat: {
      int64_t tokens = 0;
      for (Value operand : operands)
        tokens += cast<RankedTensorType>(operand.getType()).getDimSize(1);
      auto type = RankedTensorType::get({ShapedType::kDynamic, tokens, channelsOf(input)},
                                        builder.getF32Type());
      return builder.create<ConcatTokensOp>(l, type, operands);
    }
    case B::Take:
      return builder.create<TakeTokenOp>(l, pooled(), input, builder.getI64IntegerAttr(call.index));
    case B::Mean:
      return builder.create<MeanTokensOp>(l, pooled(), input, mask,
                                          builder.getI64IntegerAttr(call.index));
    case B::Positions:
      return builder.create<PositionsOp>(l, input);
    case B::L2Normalize:
      return builder.create<L2NormalizeOp>(l, input);
    case B::Gelu:
      return builder.create<GeluOp>(l, input);
    case B::GeluTanh:
      return builder.create<GeluTanhOp>(l, input);
    case B::Relu:
      return builder.create<ReluOp>(l, input);
    case B::Silu:
      return builder.create<SiluOp>(l, input);
    }
    llvm_unreachable("unknown builtin");
  }

  OpBuilder builder;
  const SpecAST &spec;
  /// The block bodies being generated, innermost last: where parameters are looked up.
  SmallVector<const BlockAST *> bodies = {&spec.top()};
  Operation *lastWeight = nullptr;
  llvm::StringMap<Value> weights;
  std::vector<std::string> ignored;
};

} // namespace

OwningOpRef<ModuleOp> blockc::mlirGen(MLIRContext &context, const SpecAST &spec) {
  context.loadDialect<BlockcDialect, func::FuncDialect>();
  return MLIRGenImpl(context, spec).generate();
}
