//===- Sema.h - Semantic checks of the block spec language --------*- C++ -*-===//
//
// Resolves names and checks a parsed block against docs/language.md: sizes, layer
// arguments, declarations and uses, and the feature size of every value.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_SEMA_H
#define BLOCKC_FRONTEND_SEMA_H

#include "blockc/Frontend/AST.h"

#include "llvm/Support/SourceMgr.h"

namespace blockc {

/// Checks `block`, parsed from the main buffer of `sourceMgr`, reporting every error
/// through sourceMgr.PrintMessage. On success every call is resolved (a
/// LayerCallExprAST with its layer set, or a BuiltinCallExprAST), every layer's
/// settings and features are filled in, and every expression has its features.
/// Returns false if there was an error.
bool checkSpec(ast::SpecAST &spec, llvm::SourceMgr &sourceMgr);

} // namespace blockc

#endif // BLOCKC_FRONTEND_SEMA_H
