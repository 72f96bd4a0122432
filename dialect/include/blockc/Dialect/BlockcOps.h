//===- BlockcOps.h - blockc operations ---------------------------*- C++ -*-===//
#ifndef BLOCKC_DIALECT_BLOCKCOPS_H
#define BLOCKC_DIALECT_BLOCKCOPS_H

#include "blockc/Dialect/BlockcDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "blockc/Dialect/BlockcEnums.h.inc"

#define GET_OP_CLASSES
#include "blockc/Dialect/BlockcOps.h.inc"

namespace blockc {
/// The reduced number format a linear's weight of element type `element` is in (ToBF16Op,
/// QuantizeOp): "bf16", "int8", or "" for float32 (and any other type).
inline llvm::StringRef reducedPrecisionOf(mlir::Type element) {
  if (element.isBF16())
    return "bf16";
  if (element.isInteger(8))
    return "int8";
  return "";
}
} // namespace blockc

#endif // BLOCKC_DIALECT_BLOCKCOPS_H
