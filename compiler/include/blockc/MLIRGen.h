//===- MLIRGen.h - AST to the blockc dialect ---------------------*- C++ -*-===//
#ifndef BLOCKC_MLIRGEN_H
#define BLOCKC_MLIRGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace blockc {
namespace ast {
struct SpecAST;
}

/// Emits a `func.func @<block name>(tensor<?xNxDxf32>) -> tensor<?xNxDxf32>` for a block
/// that passed `checkBlock`. Weights become `blockc.weight` ops at the function entry, named by
/// state-dict key; tensors of the state dict that no kernel reads (BatchNorm's
/// num_batches_tracked) are listed in the function attribute `blockc.ignored_weights`
/// (declared by the dialect: BlockcDialect::IgnoredWeightsAttrHelper).
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context, const ast::SpecAST &spec);

} // namespace blockc

#endif // BLOCKC_MLIRGEN_H
