//===- Pipeline.cpp - the compiler's pass pipeline ------------------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/Transforms/Passes.h"

void blockc::buildBlockPipeline(mlir::OpPassManager &pm, const std::string &precision) {
  mlir::OpPassManager &fn = pm.nest<mlir::func::FuncOp>();
  fn.addPass(createVerifyBlock());
  fn.addPass(createSinkNorms());
  fn.addPass(createFoldBatchNorm());
  fn.addPass(mlir::createCSEPass());
  fn.addPass(createMergeLinears());
  fn.addPass(createReducePrecision(ReducePrecisionOptions{precision}));
  fn.addPass(createFuseKernels());
  fn.addPass(createPlanBuffers());
}
