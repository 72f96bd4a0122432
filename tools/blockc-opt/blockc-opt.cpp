//===- blockc-opt.cpp - run blockc passes on .mlir files ------------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<blockc::BlockcDialect, mlir::func::FuncDialect>();
  blockc::registerBlockcPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::PassPipelineRegistration<>(
      "blockc-pipeline", "the passes `blockc compile` runs before lowering (fp32)",
      [](mlir::OpPassManager &pm) { blockc::buildBlockPipeline(pm); });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "blockc pass driver\n", registry));
}
