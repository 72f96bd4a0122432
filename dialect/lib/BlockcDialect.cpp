//===- BlockcDialect.cpp - the blockc dialect -----------------------------===//
#include "blockc/Dialect/BlockcDialect.h"
#include "blockc/Dialect/BlockcOps.h"

using namespace blockc;

#include "blockc/Dialect/BlockcDialect.cpp.inc"

void BlockcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "blockc/Dialect/BlockcOps.cpp.inc"
      >();
}
