//===- Parser.h - Parser of the block spec language ---------------*- C++ -*-===//
//
// A recursive-descent parser for the grammar in docs/language.md. It checks syntax
// only: names, arguments and feature sizes are Sema's (Sema.h).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_PARSER_H
#define BLOCKC_FRONTEND_PARSER_H

#include "blockc/Frontend/AST.h"

#include "llvm/Support/SourceMgr.h"

#include <memory>

namespace blockc {

/// Parses the main buffer of `sourceMgr`. A syntax error is reported through
/// sourceMgr.PrintMessage as `file:line:col: error: ...` with the source line and a
/// caret; parsing stops at the first one and returns nullptr.
std::unique_ptr<ast::SpecAST> parseSpec(llvm::SourceMgr &sourceMgr);

} // namespace blockc

#endif // BLOCKC_FRONTEND_PARSER_H
