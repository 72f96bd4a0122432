//===- MLIRGen.h - AST to the blockc dialect ---------------------*- C++ -*-===//
#ifndef BLOCKC_MLIRGEN_H
#define BLOCKC_MLIRGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace blockc {
namespace ast {
struct BlockAST;
}

/// Emits a `func.func @<block name>(tensor<?xNxDxf32>) -> tensor<?xNxDxf32>` for a block
/// that passed `checkBlock`. Weights become `blockc.weight` ops at the function entry, named by
/// state-dict key; tensors of the state dict that no kernel reads (BatchNorm's
/// num_batches_tracked) are listed in the function attribute `blockc.ignored_weights`.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context, const ast::BlockAST &block);

/// Name of the function attribute listing the state-dict tensors kernels do not read.
constexpr const char *kIgnoredWeightsAttr = "blockc.ignored_weights";

} // namespace blockc

#endif // BLOCKC_MLIRGEN_H
