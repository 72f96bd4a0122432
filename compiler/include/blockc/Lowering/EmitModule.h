//===- EmitModule.h - kernels to a loadable module ----------------*- C++ -*-===//
#ifndef BLOCKC_LOWERING_EMITMODULE_H
#define BLOCKC_LOWERING_EMITMODULE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace blockc {

struct EmitOptions {
  std::string target = "host";
  std::string outputDir;
  std::string specHash;  // sha256 of the spec source, recorded in the manifest
  bool emitStmt = false; // also write each kernel's Halide .stmt and assembly
};

struct EmitSummary {
  std::string target;
  int runKernels = 0, prepareKernels = 0, compiledFunctions = 0;
};

/// Lowers every blockc.kernel of `module` (after the pass pipeline) to a Halide pipeline,
/// compiles them for the target and links `outputDir/module.so` with its manifest
/// (docs/module-format.md); also writes `outputDir/manifest.json`.
llvm::Expected<EmitSummary> emitModule(mlir::ModuleOp module, const EmitOptions &options);

} // namespace blockc

#endif // BLOCKC_LOWERING_EMITMODULE_H
