//===- BlockcDialect.h - the blockc dialect ----------------------*- C++ -*-===//
#ifndef BLOCKC_DIALECT_BLOCKCDIALECT_H
#define BLOCKC_DIALECT_BLOCKCDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

#include "blockc/Dialect/BlockcDialect.h.inc"

#endif // BLOCKC_DIALECT_BLOCKCDIALECT_H
