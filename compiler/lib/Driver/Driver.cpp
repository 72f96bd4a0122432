//===- Driver.cpp - spec file to module -----------------------------------===//
#include "blockc/Driver.h"
#include "blockc/Dialect/BlockcOps.h"

#include "blockc/Frontend/Parser.h"
#include "blockc/Frontend/Sema.h"
#include "blockc/Lowering/EmitModule.h"
#include "blockc/MLIRGen.h"
#include "blockc/Schedule/TuningDatabase.h"
#include "blockc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
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

mlir::OwningOpRef<mlir::ModuleOp> blockc::loadBlock(const std::string &specPath,
                                                   mlir::MLIRContext &context,
                                                   std::string *specHash, bool printIR,
                                                   const std::string &precision) {
  auto file = llvm::MemoryBuffer::getFile(specPath, /*IsText=*/true);
  if (!file) {
    llvm::errs() << "error: cannot read " << specPath << ": " << file.getError().message()
                 << "\n";
    return nullptr;
  }
  if (specHash)
    *specHash = llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(
                                (*file)->getBuffer())),
                            /*LowerCase=*/true);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  std::unique_ptr<ast::SpecAST> spec = parseSpec(sourceMgr);
  if (!spec || !checkSpec(*spec, sourceMgr))
    return nullptr;
  // Errors from verifiers and passes point into the spec with the offending line.
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlirGen(context, *spec);
  if (!module || mlir::failed(mlir::verify(*module)))
    return nullptr;
  mlir::PassManager pm(&context);
  if (printIR) {
    context.disableMultithreading();
    pm.enableIRPrinting();
  }
  buildBlockPipeline(pm, precision);
  if (mlir::failed(pm.run(*module)))
    return nullptr;
  return module;
}

int blockc::compileSpecFile(const CompileOptions &options) {
  if (!options.precision.empty() && !symbolizePrecision(options.precision)) {
    llvm::errs() << "error: unknown precision '" << options.precision
                 << "' (expected fp32, bf16 or int8)\n";
    return 1;
  }
  std::optional<TuningDatabase> tuning;
  if (!options.tuningPath.empty()) {
    llvm::Expected<TuningDatabase> db = TuningDatabase::load(options.tuningPath);
    if (!db) {
      llvm::errs() << "error: " << llvm::toString(db.takeError()) << "\n";
      return 1;
    }
    tuning = std::move(*db);
  }
  mlir::MLIRContext context;
  std::string hash;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      loadBlock(options.specPath, context, &hash, options.printIR, options.precision);
  if (!module)
    return 1;

  EmitOptions emit;
  emit.target = options.target;
  emit.outputDir = options.outputDir;
  emit.specHash = hash;
  emit.emitStmt = options.emitStmt;
  if (tuning) {
    const std::string machine = currentMachine();
    emit.tuning = [&, machine](const std::string &signature,
                               const std::string &target) -> std::optional<TunedSchedule> {
      if (const TuningRecord *record = tuning->lookup(signature, target, machine))
        return TunedSchedule{record->schedule, record->batch};
      return std::nullopt;
    };
  }
  llvm::Expected<EmitSummary> summary = emitModule(*module, emit);
  if (!summary) {
    llvm::errs() << options.specPath << ": error: " << llvm::toString(summary.takeError())
                 << "\n";
    return 1;
  }
  mlir::func::FuncOp block = *module->getOps<mlir::func::FuncOp>().begin();
  llvm::outs() << "compiled " << block.getSymName() << " for " << summary->target << ": "
               << summary->runKernels << " kernels, " << summary->prepareKernels
               << " weight-preparation kernels -> " << options.outputDir << "/module.so\n";
  if (tuning) {
    llvm::outs() << "tuning: " << summary->tunedKernels.size() << " of " << summary->runKernels
                 << " kernels had a record in " << options.tuningPath;
    if (!summary->tunedKernels.empty())
      llvm::outs() << " (" << llvm::join(summary->tunedKernels, ", ") << ")";
    llvm::outs() << "; the others use the default schedules\n";
  }
  return 0;
}
