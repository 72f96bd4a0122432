//===- SemaImpl.h - The semantic checker, shared by its source files -*- C++ -*-===//
//
// Sema.cpp checks sizes, statements, expressions and builtins; SemaLayers.cpp checks
// layer declarations and uses against the table of layer kinds (LayerKinds.h).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_SEMAIMPL_H
#define BLOCKC_FRONTEND_SEMAIMPL_H

#include "blockc/Frontend/AST.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"

namespace blockc::sema {

using namespace blockc::ast;
using Builtin = BuiltinCallExprAST::Builtin;

/// What an expression evaluates to: a tensor with that many features (> 0), a number
/// (0), or std::nullopt when an error was reported inside it, so that one mistake
/// gives one message.
using Value = std::optional<int64_t>;

/// How messages name an argument: its key, or "IN -> OUT".
std::string spellKey(const Argument &arg);

/// The checks of one block (see checkBlock in Sema.h), reporting through sourceMgr.
class Sema {
public:
  Sema(BlockAST &block, llvm::SourceMgr &sourceMgr)
      : block(block), sourceMgr(sourceMgr) {}

  bool check();

private:
  void checkSizes();
  void checkLayer(LayerDecl &layer);
  void checkStateDictKeys();
  bool applyLayerArgument(LayerDecl &layer, const Argument &arg);
  bool tensorsWithinIndexing(const LayerDecl &layer, int64_t features,
                             const Location &loc);
  void checkStatement(Assignment &stmt);
  Value checkExpr(std::unique_ptr<ExprAST> &expr, bool isStatementValue);
  Value checkVar(const VarExprAST &var);
  Value checkBinary(BinaryExprAST &binary);
  Value checkCall(std::unique_ptr<ExprAST> &expr, bool isStatementValue);
  Value checkLayerCall(std::unique_ptr<ExprAST> &expr, LayerDecl &layer, Value arg);
  Value checkBuiltin(std::unique_ptr<ExprAST> &expr, Builtin builtin,
                     llvm::ArrayRef<Value> args);
  Value applyLayer(LayerDecl &layer, int64_t width, const Location &loc);

  std::optional<int64_t> getSize(double value, const Location &loc,
                                 const llvm::Twine &what);
  std::optional<int64_t> getSize(const Argument &arg, const llvm::Twine &what);
  bool withinIndexing(const Location &loc, const llvm::Twine &what, int64_t rows,
                      int64_t cols);
  bool getBool(const Argument &arg, bool &field);
  bool getNumber(const Argument &arg, double &field);

  void error(const Location &loc, const llvm::Twine &message);
  void note(const Location &loc, const llvm::Twine &message);

  BlockAST &block;
  llvm::SourceMgr &sourceMgr;
  bool failed = false;

  llvm::StringMap<LayerDecl *> layers;
  /// Layers whose declaration had an error: their uses are not checked further.
  llvm::DenseSet<const LayerDecl *> invalidLayers;
  llvm::DenseSet<const LayerDecl *> usedLayers;
  /// Where each layer (but linear) was first applied, which fixed its features.
  llvm::DenseMap<const LayerDecl *, Location> firstApplied;
  llvm::StringMap<Value> variables;
  /// The statement whose value each variable holds (none for the input), and the
  /// statements whose value is read.
  llvm::StringMap<const Assignment *> assignedBy;
  llvm::DenseSet<const Assignment *> read;
};

} // namespace blockc::sema

#endif // BLOCKC_FRONTEND_SEMAIMPL_H
