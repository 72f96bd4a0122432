//===- BlockcDialect.h - the blockc dialect ----------------------*- C++ -*-===//
#ifndef BLOCKC_DIALECT_BLOCKCDIALECT_H
#define BLOCKC_DIALECT_BLOCKCDIALECT_H

#include "mlir/IR/Dialect.h"

#include "blockc/Dialect/BlockcDialect.h.inc"

#endif // BLOCKC_DIALECT_BLOCKCDIALECT_H
