//===- CompilerTestUtil.h - helpers of the compiler unit tests ----*- C++ -*-===//
//
// Spec text -> checked AST -> blockc dialect, with the diagnostics captured, and small
// queries over the generated IR.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TESTS_UNIT_COMPILER_COMPILERTESTUTIL_H
#define BLOCKC_TESTS_UNIT_COMPILER_COMPILERTESTUTIL_H

#include "blockc/Dialect/BlockcOps.h"
#include "blockc/Frontend/Parser.h"
#include "blockc/Frontend/Sema.h"
#include "blockc/MLIRGen.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace blockc::test {

/// The result of generating IR for a spec; `module` is null if the front end failed.
struct Generated {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string diagnostics;

  mlir::func::FuncOp func() {
    return module ? *module->getOps<mlir::func::FuncOp>().begin() : mlir::func::FuncOp();
  }
};

/// Parses, checks and lowers `source` (as the file `test.block`) into `context`.
inline Generated generate(mlir::MLIRContext &context, llvm::StringRef source) {
  Generated result;
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, "test.block"),
                               llvm::SMLoc());
  sourceMgr.setDiagHandler(
      [](const llvm::SMDiagnostic &diag, void *out) {
        llvm::raw_string_ostream os(*static_cast<std::string *>(out));
        diag.print(nullptr, os, /*ShowColors=*/false);
      },
      &result.diagnostics);
  std::unique_ptr<ast::SpecAST> spec = parseSpec(sourceMgr);
  if (!spec || !checkSpec(*spec, sourceMgr))
    return result;
  result.module = mlirGen(context, *spec);
  return result;
}

/// A block of 4 tokens and 8 features around `body`.
inline std::string inBlock(llvm::StringRef body) {
  return "block b (tokens = 4, dim = 8) {\n" + body.str() + "}\n";
}

/// The op names (without dialect prefix) of the ops directly in `block`, terminator excluded.
inline std::vector<std::string> opNames(mlir::Block &block) {
  std::vector<std::string> names;
  for (mlir::Operation &op : block.without_terminator())
    names.push_back(op.getName().stripDialect().str());
  return names;
}

/// Every op of type OpT nested in `root`, in order.
template <typename OpT>
std::vector<OpT> collect(mlir::Operation *root) {
  std::vector<OpT> ops;
  root->walk([&](OpT op) { ops.push_back(op); });
  return ops;
}

} // namespace blockc::test

#endif // BLOCKC_TESTS_UNIT_COMPILER_COMPILERTESTUTIL_H
