//===- SpecCheck.h - a spec through the front end and the passes --*- C++ -*-===//
//
// What the fuzz test (FrontendFuzzTest.cpp) and the libFuzzer target (tests/fuzz) ask of
// any spec text: the front end rejects it with a located error, or accepts it into a
// module that verifies and that the pass pipeline takes, verifying after every pass.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TESTS_UNIT_COMPILER_SPECCHECK_H
#define BLOCKC_TESTS_UNIT_COMPILER_SPECCHECK_H

#include "CompilerTestUtil.h"

#include "blockc/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Regex.h"

#include <string>

namespace blockc::test {

/// What the compiler did with a spec, and what was wrong with that (empty if nothing).
struct Outcome {
  bool accepted = false;
  std::string problem;
};

/// Compiles `source` as far as the pass pipeline.
inline Outcome compileThroughPasses(mlir::MLIRContext &context, const std::string &source) {
  // Errors of the verifiers and passes (the front end's go to gen.diagnostics).
  std::string mlirDiagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    llvm::raw_string_ostream(mlirDiagnostics) << diag.getLocation() << ": " << diag << "\n";
    return mlir::success();
  });
  Outcome outcome;
  Generated gen = generate(context, source);
  if (!gen.module) {
    // A diagnostic printed by llvm::SourceMgr: `test.block:LINE:COL: error: ...`.
    if (!llvm::Regex("^test\\.block:[1-9][0-9]*:[1-9][0-9]*: error: [^\n]").match(
            gen.diagnostics))
      outcome.problem = "rejected without a located error first:\n" + gen.diagnostics;
    return outcome;
  }
  outcome.accepted = true;
  if (!gen.diagnostics.empty()) {
    outcome.problem = "accepted with diagnostics:\n" + gen.diagnostics;
    return outcome;
  }
  if (mlir::failed(mlir::verify(*gen.module))) {
    outcome.problem = "accepted, but the generated module does not verify:\n" + mlirDiagnostics;
    return outcome;
  }
  mlir::PassManager pm(&context); // verifies the module after every pass
  buildBlockPipeline(pm);
  if (mlir::failed(pm.run(*gen.module))) {
    outcome.problem = "accepted, but the pass pipeline failed:\n" + mlirDiagnostics;
    return outcome;
  }
  // The lowering makes one Halide pipeline of a kernel's results: it cannot take a kernel
  // with none (ops whose values nothing reads).
  for (KernelOp kernel : collect<KernelOp>(*gen.module))
    if (kernel.getNumResults() == 0) {
      llvm::raw_string_ostream(outcome.problem)
          << "accepted, but kernel " << kernel.getSymName() << " at " << kernel.getLoc()
          << " has no results";
      break;
    }
  return outcome;
}

} // namespace blockc::test

#endif // BLOCKC_TESTS_UNIT_COMPILER_SPECCHECK_H
