//===- BlockcDialect.cpp - the blockc dialect -----------------------------===//
#include "blockc/Dialect/BlockcDialect.h"
#include "blockc/Dialect/BlockcOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace blockc;

#include "blockc/Dialect/BlockcDialect.cpp.inc"

void BlockcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "blockc/Dialect/BlockcOps.cpp.inc"
      >();
}

/// Checks the discardable attributes declared in BlockcDialect.td: both describe a block's
/// function, so they sit on a func.func.
LogicalResult BlockcDialect::verifyOperationAttribute(Operation *op, NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  Attribute value = attribute.getValue();
  if (name != SlotSizesAttrHelper::getNameStr() && name != IgnoredWeightsAttrHelper::getNameStr() &&
      name != IgnoredPrefixesAttrHelper::getNameStr() && name != MaxTokensAttrHelper::getNameStr() &&
      name != SlotTokenSizesAttrHelper::getNameStr())
    return op->emitError() << "unknown blockc attribute '" << name << "'";
  if (!isa<func::FuncOp>(op))
    return op->emitError() << "'" << name << "' is an attribute of a block's func.func";
  if (name == MaxTokensAttrHelper::getNameStr()) {
    auto max = dyn_cast<IntegerAttr>(value);
    if (!max || !max.getType().isSignlessInteger(64) || max.getInt() < 1)
      return op->emitError() << "'" << name << "' expects a positive i64, got " << value;
    return success();
  }
  if (name == SlotSizesAttrHelper::getNameStr() || name == SlotTokenSizesAttrHelper::getNameStr()) {
    auto sizes = dyn_cast<DenseI64ArrayAttr>(value);
    if (!sizes)
      return op->emitError() << "'" << name << "' expects an array<i64> of elements per sample";
    if (llvm::any_of(sizes.asArrayRef(), [](int64_t size) { return size < 0; }))
      return op->emitError() << "'" << name << "' expects non-negative sizes, got " << sizes;
    return success();
  }
  auto names = dyn_cast<ArrayAttr>(value);
  if (!names || !llvm::all_of(names, [](Attribute n) { return isa<StringAttr>(n); }))
    return op->emitError() << "'" << name << "' expects an array of state-dict names, got "
                           << value;
  return success();
}

/// `blockc.name` on an argument or result: a StringAttr; `blockc.bound` on an integer
/// argument only: a positive i64.
static LogicalResult verifyIOAttribute(Operation *op, Type type, NamedAttribute attribute,
                                       bool isArgument) {
  StringRef name = attribute.getName().getValue();
  if (name == BlockcDialect::kNameAttrName) {
    if (!isa<StringAttr>(attribute.getValue()))
      return op->emitError() << "'" << name << "' expects a string";
    return success();
  }
  if ((name != BlockcDialect::kBoundAttrName && name != BlockcDialect::kZeroDefaultAttrName) ||
      !isArgument)
    return op->emitError() << "unknown blockc " << (isArgument ? "argument" : "result")
                           << " attribute '" << name << "'";
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (name == BlockcDialect::kZeroDefaultAttrName) {
    if (!isa<UnitAttr>(attribute.getValue()))
      return op->emitError() << "'" << name << "' is a unit attribute";
    if (!tensor || !tensor.getElementType().isSignlessInteger())
      return op->emitError() << "'" << name << "' is for an integer input, not " << type;
    return success();
  }
  auto bound = dyn_cast<IntegerAttr>(attribute.getValue());
  if (!bound || !bound.getType().isInteger(64) || bound.getInt() < 1)
    return op->emitError() << "'" << name << "' expects a positive i64, got " << attribute.getValue();
  if (!tensor || !tensor.getElementType().isSignlessInteger())
    return op->emitError() << "'" << name << "' bounds an integer input, not " << type;
  return success();
}

LogicalResult BlockcDialect::verifyRegionArgAttribute(Operation *op, unsigned region,
                                                      unsigned index, NamedAttribute attribute) {
  Block &entry = op->getRegion(region).front();
  Type type = index < entry.getNumArguments() ? entry.getArgument(index).getType() : Type();
  return verifyIOAttribute(op, type, attribute, /*isArgument=*/true);
}

LogicalResult BlockcDialect::verifyRegionResultAttribute(Operation *op, unsigned, unsigned,
                                                         NamedAttribute attribute) {
  return verifyIOAttribute(op, Type(), attribute, /*isArgument=*/false);
}
