//===- Pipeline.cpp - the compiler's pass pipeline ------------------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/Transforms/Passes.h"

void blockc::buildBlockPipeline(mlir::OpPassManager &pm) {
  mlir::OpPassManager &fn = pm.nest<mlir::func::FuncOp>();
  fn.addPass(createVerifyBlock());
  fn.addPass(createSinkNorms());
  fn.addPass(createFoldBatchNorm());
  fn.addPass(mlir::createCSEPass());
  fn.addPass(createMergeLinears());
  fn.addPass(createFuseKernels());
  fn.addPass(createPlanBuffers());
}
