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

/// The compiler's pipeline: verify, fold BatchNorm, canonicalize, fuse, plan buffers.
void buildBlockPipeline(mlir::OpPassManager &pm);

/// Attribute names the passes leave for the lowering.
constexpr const char *kSlotsAttr = "blockc.slots";
constexpr const char *kConstantsAttr = "blockc.constants";
constexpr const char *kSlotSizesAttr = "blockc.slot_sizes";

} // namespace blockc

#endif // BLOCKC_TRANSFORMS_PASSES_H
