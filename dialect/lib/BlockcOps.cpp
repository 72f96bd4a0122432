//===- BlockcOps.cpp - verifiers of the blockc operations -----------------===//
//
// Every verifier checks shapes, so that a malformed graph (from the front end or a
// hand-written .mlir file given to blockc-opt) is rejected with a located error before any
// pass or the lowering relies on it.
//
//===----------------------------------------------------------------------===//
#include "blockc/Dialect/BlockcOps.h"

using namespace mlir;
using namespace blockc;

static RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Activations are [B, N, C] (tokens) or [B, C] (pooled); returns C.
static int64_t channels(Value value) { return tensorType(value).getShape().back(); }

/// Checks that every `params` value is a [C] vector matching the channel count.
static LogicalResult verifyPerChannel(Operation *op, int64_t c, ValueRange params) {
  for (Value param : params) {
    auto type = tensorType(param);
    if (type.getRank() != 1 || type.getDimSize(0) != c)
      return op->emitOpError() << "expects per-channel parameters of shape [" << c
                               << "], got " << type;
  }
  return success();
}

/// Tokens [B, N, C] with static C; N is static, or dynamic where the tokens are chosen at
/// run time (up to the function's blockc.max_tokens).
static LogicalResult verifyTokens(Operation *op, Value input) {
  auto type = tensorType(input);
  if (type.getRank() != 3 || ShapedType::isDynamic(type.getDimSize(2)))
    return op->emitOpError() << "expects a [B, N, C] activation with static C, got " << type;
  return success();
}

/// Tokens [B, N, C] with a static N, for ops that index a token or a table by it.
static LogicalResult verifyStaticTokens(Operation *op, Value input) {
  if (failed(verifyTokens(op, input)))
    return failure();
  if (ShapedType::isDynamic(tensorType(input).getDimSize(1)))
    return op->emitOpError() << "expects tokens of a static count, got " << input.getType();
  return success();
}

/// Tokens [B, N, C] or pooled [B, C], the sizes after B static.
static LogicalResult verifyActivation(Operation *op, Value input) {
  auto type = tensorType(input);
  if (type.getRank() == 2 && ShapedType::isDynamic(type.getDimSize(0)) &&
      !ShapedType::isDynamic(type.getDimSize(1)))
    return success();
  return verifyTokens(op, input);
}

/// A mask or ids [B, N] for the tokens [B, N, C] of `tokens`.
static LogicalResult verifyTokenMask(Operation *op, Value mask, Value tokens) {
  auto type = tensorType(mask);
  int64_t n = tensorType(tokens).getDimSize(1);
  if (type.getRank() != 2 || !ShapedType::isDynamic(type.getDimSize(0)) || type.getDimSize(1) != n)
    return op->emitOpError() << "expects a mask [B, " << n << "] for the " << n
                             << " tokens, got " << type;
  return success();
}

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty state-dict name");
  if (!getType().hasStaticShape())
    return emitOpError("weights have static shapes");
  return success();
}

LogicalResult TransposeOp::verify() {
  auto in = tensorType(getInput()), out = tensorType(getResult());
  int64_t inner = 1;
  for (int64_t d : in.getShape().drop_front())
    inner *= d;
  if (in.getRank() < 2 || out.getRank() != 2 || in.getDimSize(0) != out.getDimSize(1) ||
      inner != out.getDimSize(0))
    return emitOpError() << "expects an [out, in...] input and the [in, out] shape of its "
                            "flattened transpose, got "
                         << in << " -> " << out;
  return success();
}

LogicalResult ConcatOp::verify() {
  auto out = tensorType(getResult());
  if (getInputs().size() < 2)
    return emitOpError() << "joins at least two weights, got " << getInputs().size();
  int64_t rows = 0;
  for (Value input : getInputs()) {
    auto in = tensorType(input);
    if (in.getRank() != out.getRank() || in.getShape().drop_front() != out.getShape().drop_front())
      return emitOpError() << "expects inputs of the result's shape but for dimension 0, got "
                           << in << " for " << out;
    rows += in.getDimSize(0);
  }
  if (rows != out.getDimSize(0))
    return emitOpError() << "result has " << out.getDimSize(0) << " rows, its inputs " << rows;
  return success();
}

LogicalResult ToBF16Op::verify() {
  auto in = tensorType(getInput()), out = tensorType(getResult());
  if (in.getShape() != out.getShape() || !in.hasStaticShape())
    return emitOpError() << "expects a weight and a result of its shape, got " << in << " to "
                         << out;
  return success();
}

LogicalResult QuantizeOp::verify() {
  auto in = tensorType(getInput()), values = tensorType(getValues());
  if (in.getRank() != 2 || !in.hasStaticShape() || values.getShape() != in.getShape())
    return emitOpError() << "expects an [in, out] weight and values of its shape, got " << in
                         << " to " << values;
  const int64_t group = getGroupAttr().getInt();
  if (group <= 0 || in.getDimSize(0) % group != 0)
    return emitOpError() << "group " << group << " does not divide the "
                         << in.getDimSize(0) << " inputs";
  const int64_t perChannel[] = {in.getDimSize(1)};
  const int64_t perGroup[] = {in.getDimSize(0) / group, in.getDimSize(1)};
  if (tensorType(getScales()).getShape() != ArrayRef(perChannel) ||
      tensorType(getSums()).getShape() != ArrayRef(perGroup))
    return emitOpError() << "expects scales [" << in.getDimSize(1) << "] and sums ["
                         << perGroup[0] << ", " << perGroup[1] << "], got "
                         << getScales().getType() << " and " << getSums().getType();
  return success();
}

template <typename FoldOp>
static LogicalResult verifyFold(FoldOp op, bool foldsInput) {
  auto weight = tensorType(op.getWeight());
  if (weight.getRank() != 2)
    return op.emitOpError() << "expects an [in, out] weight, got " << weight;
  int64_t in = weight.getDimSize(0), out = weight.getDimSize(1);
  int64_t c = foldsInput ? in : out;
  SmallVector<Value> params = {op.getGamma(), op.getBeta(), op.getRunningMean(),
                               op.getRunningVar()};
  if (failed(verifyPerChannel(op, c, params)))
    return failure();
  if (op.getBias() && failed(verifyPerChannel(op, out, op.getBias())))
    return failure();
  if (op.getFoldedWeight().getType() != weight)
    return op.emitOpError("folded weight must keep the weight's shape");
  if (failed(verifyPerChannel(op, out, op.getFoldedBias())))
    return failure();
  if (op.getEpsilon().convertToDouble() < 0)
    return op.emitOpError("expects a non-negative epsilon");
  return success();
}

LogicalResult FoldBatchNormInputOp::verify() { return verifyFold(*this, true); }
LogicalResult FoldBatchNormOutputOp::verify() { return verifyFold(*this, false); }

static LogicalResult verifyNorm(Operation *op, Value input, Value result, ValueRange params,
                                double epsilon) {
  if (failed(verifyActivation(op, input)))
    return failure();
  if (result.getType() != input.getType())
    return op->emitOpError("result must have the input's type");
  if (epsilon < 0)
    return op->emitOpError("expects a non-negative epsilon");
  return verifyPerChannel(op, channels(input), params);
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getResult(), {getGamma(), getBeta()},
                    getEpsilon().convertToDouble());
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput(), getResult(), {getGamma()},
                    getEpsilon().convertToDouble());
}

LogicalResult BatchNormOp::verify() {
  return verifyNorm(*this, getInput(), getResult(),
                    {getGamma(), getBeta(), getRunningMean(), getRunningVar()},
                    getEpsilon().convertToDouble());
}

LogicalResult LinearOp::verify() {
  if (failed(verifyActivation(*this, getInput())))
    return failure();
  auto weight = tensorType(getWeight());
  if (weight.getRank() != 2)
    return emitOpError() << "expects an [in, out] weight, got " << weight;
  if (weight.getDimSize(0) != channels(getInput()))
    return emitOpError() << "weight has " << weight.getDimSize(0)
                         << " input features but the input has " << channels(getInput());
  auto in = tensorType(getInput()), out = tensorType(getResult());
  if (out.getShape().drop_back() != in.getShape().drop_back() ||
      out.getShape().back() != weight.getDimSize(1))
    return emitOpError() << "result type " << out << " does not match input " << in
                         << " times weight " << weight;
  if (getBias() && failed(verifyPerChannel(*this, weight.getDimSize(1), getBias())))
    return failure();
  const bool quantized = weight.getElementType().isInteger(8);
  if (quantized != bool(getWeightScales()))
    return emitOpError() << (quantized ? "an int8 weight needs its scales and sums"
                                       : "scales and sums are for an int8 weight");
  if (quantized) {
    if (failed(verifyPerChannel(*this, weight.getDimSize(1), getWeightScales())))
      return failure();
    auto sums = tensorType(getWeightSums());
    if (sums.getRank() != 2 || sums.getDimSize(1) != weight.getDimSize(1) ||
        sums.getDimSize(0) <= 0 || weight.getDimSize(0) % sums.getDimSize(0) != 0)
      return emitOpError() << "expects sums [groups, " << weight.getDimSize(1)
                           << "] with groups dividing " << weight.getDimSize(0) << ", got "
                           << getWeightSums().getType();
  }
  return success();
}

LogicalResult SliceOp::verify() {
  if (failed(verifyTokens(*this, getInput())))
    return failure();
  int64_t offset = getOffsetAttr().getInt(), size = getSizeAttr().getInt();
  int64_t c = channels(getInput());
  if (offset < 0 || size <= 0 || offset > c || size > c - offset) {
    // The end, saturated: offset + size can overflow for a hand-written size.
    int64_t end = offset >= 0 && size > INT64_MAX - offset ? INT64_MAX : offset + size;
    return emitOpError() << "range [" << offset << ", " << end << ") is outside the " << c
                         << " channels";
  }
  auto in = tensorType(getInput()), out = tensorType(getResult());
  if (out.getShape().drop_back() != in.getShape().drop_back() || out.getShape().back() != size)
    return emitOpError() << "result type " << out << " does not match the slice";
  return success();
}

LogicalResult MHAOp::verify() {
  if (failed(verifyTokens(*this, getQuery())))
    return failure();
  int64_t heads = getHeadsAttr().getInt();
  if (heads <= 0 || channels(getQuery()) % heads != 0)
    return emitOpError() << heads << " heads do not divide " << channels(getQuery())
                         << " channels";
  if (getMask())
    return verifyTokenMask(*this, getMask(), getKey());
  return success();
}

/// A binary elementwise op on an activation lhs, of the lhs type: rhs is the lhs type, or
/// else what `verifyBroadcast` accepts.
static LogicalResult verifyBinary(Operation *op, Value lhs, Value rhs, Value result,
                                  llvm::function_ref<LogicalResult()> verifyBroadcast) {
  if (failed(verifyActivation(op, lhs)))
    return failure();
  if (result.getType() != lhs.getType())
    return op->emitOpError("result must have the lhs type");
  if (rhs.getType() == lhs.getType())
    return success();
  return verifyBroadcast();
}

LogicalResult MulOp::verify() {
  return verifyBinary(*this, getLhs(), getRhs(), getResult(), [&] {
    return verifyPerChannel(*this, channels(getLhs()), getRhs());
  });
}

LogicalResult AddOp::verify() {
  return verifyBinary(*this, getLhs(), getRhs(), getResult(), [&]() -> LogicalResult {
    auto lhs = tensorType(getLhs()), rhs = tensorType(getRhs());
    if (lhs.getRank() != 3 || lhs.isDynamicDim(1) ||
        rhs.getShape() != ArrayRef<int64_t>{1, lhs.getDimSize(1), lhs.getDimSize(2)})
      return emitOpError() << "rhs must be the lhs type or a [1, N, C] table, got " << rhs
                           << " for " << lhs;
    return success();
  });
}

LogicalResult PatchesOp::verify() {
  auto image = tensorType(getImage()), out = tensorType(getResult());
  int64_t p = getPatch();
  if (image.getRank() != 4 || !ShapedType::isDynamic(image.getDimSize(0)))
    return emitOpError() << "expects an image [B, C, H, W], got " << image;
  int64_t c = image.getDimSize(1), h = image.getDimSize(2), w = image.getDimSize(3);
  if (p <= 0 || ShapedType::isDynamic(c) || ShapedType::isDynamic(h) ||
      ShapedType::isDynamic(w) || h % p || w % p)
    return emitOpError() << "patch " << p << " does not divide the image " << image;
  if (out.getRank() != 3 || !ShapedType::isDynamic(out.getDimSize(0)) ||
      out.getDimSize(1) != (h / p) * (w / p) || out.getDimSize(2) != c * p * p)
    return emitOpError() << "result type " << out << " is not the " << p << "x" << p
                         << " patches of " << image;
  return success();
}

LogicalResult ConcatTokensOp::verify() {
  auto out = tensorType(getResult());
  if (getInputs().size() < 2)
    return emitOpError("expects learned tokens and then the tokens");
  Value tokens = getInputs().back();
  if (failed(verifyStaticTokens(*this, tokens)))
    return failure();
  int64_t c = channels(tokens), total = tensorType(tokens).getDimSize(1);
  for (Value prefix : getInputs().drop_back()) {
    auto type = tensorType(prefix);
    if (type.getRank() != 3 || type.getDimSize(0) != 1 || type.getDimSize(2) != c ||
        ShapedType::isDynamic(type.getDimSize(1)))
      return emitOpError() << "expects learned tokens [1, T, " << c << "], got " << type;
    total += type.getDimSize(1);
  }
  if (out.getRank() != 3 || !ShapedType::isDynamic(out.getDimSize(0)) ||
      out.getDimSize(1) != total || out.getDimSize(2) != c)
    return emitOpError() << "result type " << out << " does not hold the " << total
                         << " tokens";
  return success();
}

/// Pooling: tokens [B, N, C] to [B, C], reading the tokens from `first` (take: only it).
static LogicalResult verifyPooling(Operation *op, Value input, Value result, int64_t first) {
  if (failed(verifyTokens(op, input)))
    return failure();
  auto in = tensorType(input), out = tensorType(result);
  // Run-time tokens number at least 1.
  const int64_t fewest = in.isDynamicDim(1) ? 1 : in.getDimSize(1);
  if (first < 0 || first >= fewest) {
    if (in.isDynamicDim(1))
      return op->emitOpError() << "token " << first
                               << " may be beyond the run-time tokens (as few as 1)";
    return op->emitOpError() << "token " << first << " is not one of the " << fewest
                             << " tokens";
  }
  if (out.getRank() != 2 || !ShapedType::isDynamic(out.getDimSize(0)) ||
      out.getDimSize(1) != in.getDimSize(2))
    return op->emitOpError() << "result type " << out << " is not [B, " << in.getDimSize(2)
                             << "]";
  return success();
}

LogicalResult TakeTokenOp::verify() {
  return verifyPooling(*this, getInput(), getResult(), getIndex());
}

LogicalResult MeanTokensOp::verify() {
  if (failed(verifyPooling(*this, getInput(), getResult(), getFrom())))
    return failure();
  if (getMask())
    return verifyTokenMask(*this, getMask(), getInput());
  return success();
}

LogicalResult EmbeddingOp::verify() {
  auto table = tensorType(getTable()), ids = tensorType(getIds()), out = tensorType(getResult());
  if (table.getRank() != 2 || !table.hasStaticShape())
    return emitOpError() << "expects a table [V, C], got " << table;
  if (ids.getRank() != 2 || !ShapedType::isDynamic(ids.getDimSize(0)))
    return emitOpError() << "expects ids [B, N], got " << ids;
  if (out != RankedTensorType::get({ShapedType::kDynamic, ids.getDimSize(1), table.getDimSize(1)},
                                   table.getElementType()))
    return emitOpError() << "result type " << out << " is not the rows of " << table
                         << " for ids " << ids;
  // Positions index the table directly: every position needs a row (run-time positions are
  // checked against the function's blockc.max_tokens by VerifyBlock).
  if (getIds().getDefiningOp<PositionsOp>() && !ids.isDynamicDim(1) &&
      ids.getDimSize(1) > table.getDimSize(0))
    return emitOpError() << "has " << table.getDimSize(0) << " rows for " << ids.getDimSize(1)
                         << " positions";
  return success();
}

LogicalResult L2NormalizeOp::verify() { return verifyActivation(*this, getInput()); }

void KernelOp::build(OpBuilder &builder, OperationState &state, TypeRange resultTypes,
                     ValueRange inputs, KernelKind kind, StringRef name) {
  state.addOperands(inputs);
  state.addAttribute(getKindAttrName(state.name), KernelKindAttr::get(builder.getContext(), kind));
  state.addAttribute(getSymNameAttrName(state.name), builder.getStringAttr(name));
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), input.getLoc());
}

/// Checks the arena slots of a run kernel's results (-1: the block's output); `slotCount`
/// is the function's number of slots, once it declares them.
static LogicalResult verifySlots(KernelOp kernel, ArrayRef<int64_t> slots,
                                 std::optional<size_t> slotCount) {
  if (kernel.getKind() == KernelKind::Prepare)
    return kernel.emitOpError("a prepare kernel's results are constants, not slots");
  if (slots.size() != kernel.getNumResults())
    return kernel.emitOpError() << "expects one slot per result, got " << slots.size()
                                << " for " << kernel.getNumResults();
  for (int64_t slot : slots) {
    if (slot < -1)
      return kernel.emitOpError() << "slot " << slot << " is neither an arena slot nor -1";
    if (slotCount && slot >= int64_t(*slotCount))
      return kernel.emitOpError() << "slot " << slot << " is not one of the function's "
                                  << *slotCount << " slots";
  }
  return success();
}

/// Checks the constant ids of a prepare kernel's results.
static LogicalResult verifyConstants(KernelOp kernel, ArrayRef<int64_t> constants) {
  if (kernel.getKind() != KernelKind::Prepare)
    return kernel.emitOpError("a run kernel's results live in slots, not constants");
  if (constants.size() != kernel.getNumResults())
    return kernel.emitOpError() << "expects one constant per result, got " << constants.size()
                                << " for " << kernel.getNumResults();
  for (int64_t id : constants)
    if (id < 0)
      return kernel.emitOpError() << "constant id " << id << " is negative";
  return success();
}

LogicalResult KernelOp::verify() {
  Block &body = getBody().front();
  if (body.getArgumentTypes() != getInputs().getTypes())
    return emitOpError("block arguments must match the inputs");
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yielded values must match the results");
  if (std::optional<ArrayRef<int64_t>> slots = getSlots()) {
    std::optional<size_t> slotCount;
    if (Operation *parent = (*this)->getParentOp())
      if (auto sizes = BlockcDialect::SlotSizesAttrHelper(getContext()).getAttr(parent))
        slotCount = sizes.size();
    if (failed(verifySlots(*this, *slots, slotCount)))
      return failure();
  }
  if (std::optional<ArrayRef<int64_t>> constants = getConstants())
    return verifyConstants(*this, *constants);
  return success();
}

#include "blockc/Dialect/BlockcEnums.cpp.inc"

#define GET_OP_CLASSES
#include "blockc/Dialect/BlockcOps.cpp.inc"
