//===- Lexer.h - Lexer of the block spec language -----------------*- C++ -*-===//
//
// Splits a `*.block` buffer into tokens (docs/language.md, "Lexical structure").
// Malformed input becomes a tok_error token carrying the reason, so the parser
// reports it at the right place instead of the lexer printing anything itself.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_LEXER_H
#define BLOCKC_FRONTEND_LEXER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <string>

namespace blockc {

/// Punctuation tokens are their own character; the others are negative.
enum Token : int {
  tok_lparen = '(',
  tok_rparen = ')',
  tok_lbrace = '{',
  tok_rbrace = '}',
  tok_comma = ',',
  tok_equal = '=',
  tok_plus = '+',
  tok_star = '*',
  tok_lbracket = '[',
  tok_rbracket = ']',
  tok_colon = ':',
  tok_dot = '.', // only before '{': `blocks.{0..11}`

  tok_eof = -1,
  tok_error = -2,  // malformed input; getError() says why
  tok_name = -3,   // `mlp.fc1`, `blocks.0.attn`, `x`
  tok_number = -4, // `768`, `1e-6`, `0.5`
  tok_arrow = -5,  // `->`
  tok_block = -6,
  tok_true = -7,
  tok_false = -8,
  tok_range = -9, // `..` in `{0..11}`
  tok_upto = -10, // `<=` in `tokens <= 512`, `[B, S <= 512]`
};

class Lexer {
public:
  /// Lexes `buffer`, which must stay alive; the first token is current on return.
  explicit Lexer(llvm::StringRef buffer);

  Token getCurToken() const { return curTok; }
  /// Moves to the next token and returns it.
  Token getNextToken();
  /// Moves past the current token, which must be `tok`.
  void consume(Token tok);
  /// The token after the current one, without moving.
  Token peekToken() const;

  /// The source text of the current token (empty at end of file).
  llvm::StringRef getText() const { return text; }
  /// Where the current token starts.
  llvm::SMLoc getLoc() const { return llvm::SMLoc::getFromPointer(text.data()); }
  /// The value of a tok_number.
  double getValue() const { return value; }
  /// Why the current token is a tok_error.
  llvm::StringRef getError() const { return error; }
  /// Whether a tok_name is a single identifier (no `.` segments).
  bool isIdentifier() const;

private:
  Token lexToken();
  Token lexName();
  Token lexNumber();
  Token fail(const char *end, std::string message);

  const char *cur, *end;
  Token curTok = tok_eof;
  llvm::StringRef text;
  double value = 0;
  std::string error;
};

} // namespace blockc

#endif // BLOCKC_FRONTEND_LEXER_H
