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
  if (name != SlotSizesAttrHelper::getNameStr() && name != IgnoredWeightsAttrHelper::getNameStr())
    return op->emitError() << "unknown blockc attribute '" << name << "'";
  if (!isa<func::FuncOp>(op))
    return op->emitError() << "'" << name << "' is an attribute of a block's func.func";
  if (name == SlotSizesAttrHelper::getNameStr()) {
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
