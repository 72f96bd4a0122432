//===- Lexer.cpp - Lexer of the block spec language -----------------------===//

#include "blockc/Frontend/Lexer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cassert>
#include <cmath>

using namespace blockc;

// The llvm:: predicates rather than <cctype>: the buffer may hold any byte, and
// <cctype> is undefined for negative chars and depends on the locale.
static bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
static bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_'; }

Lexer::Lexer(llvm::StringRef buffer) : cur(buffer.begin()), end(buffer.end()) {
  getNextToken();
}

Token Lexer::getNextToken() { return curTok = lexToken(); }

void Lexer::consume(Token tok) {
  assert(tok == curTok && "consume: unexpected token");
  (void)tok;
  getNextToken();
}

Token Lexer::peekToken() const {
  Lexer ahead = *this;
  return ahead.getNextToken();
}

bool Lexer::isIdentifier() const {
  return curTok == tok_name && !text.contains('.');
}

Token Lexer::fail(const char *stop, std::string message) {
  text = llvm::StringRef(text.data(), stop - text.data());
  cur = stop;
  error = std::move(message);
  return tok_error;
}

Token Lexer::lexToken() {
  while (cur != end) {
    if (llvm::isSpace(*cur)) {
      ++cur;
    } else if (*cur == '#') {
      while (cur != end && *cur != '\n')
        ++cur;
    } else {
      break;
    }
  }
  text = llvm::StringRef(cur, 0);
  if (cur == end)
    return tok_eof;

  char c = *cur;
  if (isIdentStart(c))
    return lexName();
  if (llvm::isDigit(c))
    return lexNumber();
  if (c == '-' && cur + 1 != end && cur[1] == '>') {
    cur += 2;
    text = llvm::StringRef(text.data(), 2);
    return tok_arrow;
  }
  if (c == '<' && cur + 1 != end && cur[1] == '=') {
    cur += 2;
    text = llvm::StringRef(text.data(), 2);
    return tok_upto;
  }
  if (c == '.' && cur + 1 != end && cur[1] == '.') {
    cur += 2;
    text = llvm::StringRef(text.data(), 2);
    return tok_range;
  }
  switch (c) {
  case '(':
  case ')':
  case '{':
  case '}':
  case ',':
  case '=':
  case '+':
  case '*':
  case '[':
  case ']':
  case ':':
  case '.':
    text = llvm::StringRef(cur++, 1);
    return Token(c);
  default:
    break;
  }
  unsigned byte = static_cast<unsigned char>(c);
  std::string shown = llvm::isPrint(c) ? std::string(1, c)
                                       : std::string{'\\', 'x', llvm::hexdigit(byte >> 4),
                                                     llvm::hexdigit(byte & 15)};
  return fail(cur + 1, "invalid character '" + shown + "'");
}

// name := IDENT ('.' (IDENT | DIGITS))*, ending before a `.{` (an instance range).
Token Lexer::lexName() {
  while (cur != end && isIdentChar(*cur))
    ++cur;
  while (cur != end && *cur == '.' && !(cur + 1 != end && cur[1] == '{')) {
    const char *segment = ++cur;
    while (cur != end && isIdentChar(*cur))
      ++cur;
    llvm::StringRef seg(segment, cur - segment);
    if (seg.empty())
      return fail(cur, "expected a name segment after '.'");
    if (llvm::isDigit(seg.front()) && !llvm::all_of(seg, llvm::isDigit))
      return fail(cur, "invalid name segment '" + seg.str() +
                           "': a segment is an identifier or a number");
  }
  text = llvm::StringRef(text.data(), cur - text.data());
  if (text == "block")
    return tok_block;
  if (text == "true")
    return tok_true;
  if (text == "false")
    return tok_false;
  return tok_name;
}

// number := DIGITS ('.' DIGITS)? ([eE] [+-]? DIGITS)?; `0..11` is 0, `..`, 11.
Token Lexer::lexNumber() {
  auto digits = [&] {
    const char *start = cur;
    while (cur != end && llvm::isDigit(*cur))
      ++cur;
    return cur != start;
  };
  digits();
  if (cur != end && *cur == '.' && !(cur + 1 != end && cur[1] == '.')) {
    ++cur;
    if (!digits())
      return fail(cur, "expected digits after '.' in a number");
  }
  if (cur != end && (*cur == 'e' || *cur == 'E')) {
    ++cur;
    if (cur != end && (*cur == '+' || *cur == '-'))
      ++cur;
    if (!digits())
      return fail(cur, "expected digits in the exponent of a number");
  }
  // `768abc` or `1.5.3` is one malformed token, not a number and a name.
  if (cur != end && (isIdentChar(*cur) || (*cur == '.' && !(cur + 1 != end && cur[1] == '.')))) {
    while (cur != end && (isIdentChar(*cur) || *cur == '.'))
      ++cur;
    return fail(cur, "invalid number '" +
                         llvm::StringRef(text.data(), cur - text.data()).str() + "'");
  }
  text = llvm::StringRef(text.data(), cur - text.data());
  if (text.getAsDouble(value) || !std::isfinite(value))
    return fail(cur, "number '" + text.str() + "' is out of range");
  return tok_number;
}
