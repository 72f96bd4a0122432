//===- Passes.h - blockc graph passes ----------------------------*- C++ -*-===//
#ifndef BLOCKC_TRANSFORMS_PASSES_H
#define BLOCKC_TRANSFORMS_PASSES_H

#include "blockc/Dialect/BlockcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace blockc {

#define GEN_PASS_DECL
#include "blockc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "blockc/Transforms/Passes.h.inc"

/// The compiler's pipeline, on each function: verify the block, sink norms below poolings,
/// fold BatchNorms, merge identical ops (CSE: the transposes of a weight that several
/// linears read), join the linears of one input, convert the linears' weights to the
/// format each asks for, or all to `precision` ("fp32", "bf16" or "int8"; empty: as each
/// asks), fuse kernels, plan buffers. What it leaves for the lowering (kernel kinds, slots,
/// constants, slot sizes) is declared by the dialect (BlockcOps.td, BlockcDialect.td).
void buildBlockPipeline(mlir::OpPassManager &pm, const std::string &precision = "");

} // namespace blockc

#endif // BLOCKC_TRANSFORMS_PASSES_H
