//===- Driver.cpp - spec file to module -----------------------------------===//
#include "blockc/Driver.h"

#include "blockc/Frontend/Parser.h"
#include "blockc/Frontend/Sema.h"
#include "blockc/Lowering/EmitModule.h"
#include "blockc/MLIRGen.h"
#include "blockc/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/ADT/StringExtras.h"

using namespace blockc;

int blockc::compileSpecFile(const CompileOptions &options) {
  auto file = llvm::MemoryBuffer::getFile(options.specPath, /*IsText=*/true);
  if (!file) {
    llvm::errs() << "error: cannot read " << options.specPath << ": "
                 << file.getError().message() << "\n";
    return 1;
  }
  if (!options.tuningPath.empty()) {
    llvm::errs() << "error: --tuning is not supported yet (tuning databases come with "
                    "blockc-tune)\n";
    return 1;
  }
  std::string hash = llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(
                                     (*file)->getBuffer())),
                                 /*LowerCase=*/true);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  std::unique_ptr<ast::BlockAST> block = parseBlock(sourceMgr);
  if (!block || !checkBlock(*block, sourceMgr))
    return 1;

  mlir::MLIRContext context;
  // Errors from verifiers and passes point into the spec with the offending line.
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlirGen(context, *block);
  if (!module || mlir::failed(mlir::verify(*module)))
    return 1;
  mlir::PassManager pm(&context);
  if (options.printIR) {
    context.disableMultithreading();
    pm.enableIRPrinting();
  }
  buildBlockPipeline(pm);
  if (mlir::failed(pm.run(*module)))
    return 1;

  EmitOptions emit;
  emit.target = options.target;
  emit.outputDir = options.outputDir;
  emit.specHash = hash;
  emit.emitStmt = options.emitStmt;
  llvm::Expected<EmitSummary> summary = emitModule(*module, emit);
  if (!summary) {
    llvm::errs() << options.specPath << ": error: " << llvm::toString(summary.takeError())
                 << "\n";
    return 1;
  }
  llvm::outs() << "compiled " << block->name << " for " << summary->target << ": "
               << summary->runKernels << " kernels, " << summary->prepareKernels
               << " weight-preparation kernels -> " << options.outputDir << "/module.so\n";
  return 0;
}
