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

#endif // BLOCKC_DIALECT_BLOCKCOPS_H
