//===- Driver.h - blockc compile entry point ---------------------*- C++ -*-===//
//
// The thin driver the `blockc compile` command calls: spec file -> module dir.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_DRIVER_H
#define BLOCKC_DRIVER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace blockc {

struct CompileOptions {
  std::string specPath;
  std::string outputDir;
  /// "host" (the CPU this runs on), "x86-64-avx2", "x86-64-avx512", or a Halide target string.
  std::string target = "host";
  /// Optional tuning database (JSON lines); empty for default schedules.
  std::string tuningPath;
  /// Also write each kernel's Halide statement (.stmt) and assembly (.s) into outputDir.
  bool emitStmt = false;
  /// Print the IR after each pass to stderr.
  bool printIR = false;
  /// Every linear's number format: "fp32", "bf16" or "int8" (weights converted at bind
  /// time, inputs in the matmul; norms, attention and outputs float32), instead of the
  /// spec's `precision` settings; empty: as the spec says (float32 where it says nothing).
  std::string precision;
};

/// Parses and checks a spec, generates its MLIR and runs the pass pipeline: the module that
/// lowering takes. Diagnostics go to stderr as `file:line:col: error: ...`; null on error.
/// `specHash`, when given, receives the sha256 of the spec's text; `printIR` prints the IR
/// after each pass to stderr; `precision` is the pipeline's (buildBlockPipeline).
mlir::OwningOpRef<mlir::ModuleOp> loadBlock(const std::string &specPath,
                                            mlir::MLIRContext &context,
                                            std::string *specHash = nullptr,
                                            bool printIR = false,
                                            const std::string &precision = "");

/// Compiles a block spec into `outputDir/module.so` and `outputDir/manifest.json`.
/// Diagnostics go to stderr as `file:line:col: error: ...`. Returns 0 on success.
int compileSpecFile(const CompileOptions &options);

} // namespace blockc

#endif // BLOCKC_DRIVER_H
