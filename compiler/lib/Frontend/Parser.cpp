//===- Parser.cpp - Parser of the block spec language ---------------------===//

#include "blockc/Frontend/Parser.h"
#include "blockc/Frontend/Lexer.h"

#include "llvm/Support/Casting.h"

using namespace blockc;
using namespace blockc::ast;

namespace {

/// Operands one statement may have. Bounds the parser's recursion and the depth of
/// the tree (and so of every walk over it): hostile input gets an error, not a stack
/// overflow. Real blocks have a handful.
constexpr unsigned kMaxOperands = 1000;

class Parser {
public:
  explicit Parser(llvm::SourceMgr &sourceMgr)
      : sourceMgr(sourceMgr), bufferID(sourceMgr.getMainFileID()),
        lexer(sourceMgr.getMemoryBuffer(bufferID)->getBuffer()) {}

  std::unique_ptr<BlockAST> parseBlock();

private:
  bool parseStatement(BlockAST &block);
  bool parseOption(std::vector<Argument> &options);
  bool parseArrow(std::vector<Argument> &options);
  bool parseArguments(std::vector<std::unique_ptr<ExprAST>> &args,
                      std::vector<Argument> &options);
  std::unique_ptr<ExprAST> parseExpr();
  std::unique_ptr<ExprAST> parseBinOpRHS(int exprPrec, std::unique_ptr<ExprAST> lhs);
  std::unique_ptr<ExprAST> parseFactor();
  std::unique_ptr<ExprAST> parseNameExpr();

  Location locate(llvm::SMLoc loc) const;
  bool expect(Token tok, const llvm::Twine &what);
  std::nullptr_t error(const llvm::Twine &message);

  llvm::SourceMgr &sourceMgr;
  unsigned bufferID;
  Lexer lexer;
  unsigned operands = 0; // in the current statement
};

} // namespace

Location Parser::locate(llvm::SMLoc loc) const {
  auto [line, col] = sourceMgr.getLineAndColumn(loc, bufferID);
  return {sourceMgr.getMemoryBuffer(bufferID)->getBufferIdentifier().str(),
          static_cast<int>(line), static_cast<int>(col)};
}

/// Reports "`message`, found <current token>" at the current token. A malformed token
/// is reported with the lexer's reason instead, which says more.
std::nullptr_t Parser::error(const llvm::Twine &message) {
  if (lexer.getCurToken() == tok_error) {
    sourceMgr.PrintMessage(lexer.getLoc(), llvm::SourceMgr::DK_Error, lexer.getError());
    return nullptr;
  }
  std::string found = lexer.getCurToken() == tok_eof
                          ? std::string("end of file")
                          : "'" + lexer.getText().str() + "'";
  sourceMgr.PrintMessage(lexer.getLoc(), llvm::SourceMgr::DK_Error,
                         message + ", found " + found);
  return nullptr;
}

bool Parser::expect(Token tok, const llvm::Twine &what) {
  if (lexer.getCurToken() != tok) {
    error("expected " + what);
    return false;
  }
  lexer.consume(tok);
  return true;
}

// block := 'block' IDENT '(' size (',' size)* ')' '{' statement* '}'
std::unique_ptr<BlockAST> Parser::parseBlock() {
  if (!expect(tok_block, "'block'"))
    return nullptr;
  auto block = std::make_unique<BlockAST>();
  if (!lexer.isIdentifier())
    return error("expected the block's name");
  block->name = lexer.getText().str();
  llvm::SMLoc nameLoc = lexer.getLoc();
  block->loc = locate(nameLoc);
  lexer.consume(tok_name);

  if (!expect(tok_lparen, "'(' after the block's name"))
    return nullptr;
  while (true) {
    // size := IDENT '=' NUMBER; Sema checks the value, with a better message.
    if (!lexer.isIdentifier() || lexer.peekToken() != tok_equal)
      return error("expected a size 'NAME = N'");
    if (!parseOption(block->sizes))
      return nullptr;
    if (lexer.getCurToken() != tok_comma)
      break;
    lexer.consume(tok_comma);
  }
  if (!expect(tok_rparen, "',' or ')' after a size") ||
      !expect(tok_lbrace, "'{' after the block's sizes"))
    return nullptr;

  while (lexer.getCurToken() != tok_rbrace) {
    if (lexer.getCurToken() == tok_eof) {
      error("expected '}' at the end of block '" + block->name + "'");
      sourceMgr.PrintMessage(nameLoc, llvm::SourceMgr::DK_Note, "the block starts here");
      return nullptr;
    }
    if (!parseStatement(*block))
      return nullptr;
  }
  lexer.consume(tok_rbrace);
  if (lexer.getCurToken() != tok_eof)
    return error("expected end of file after the block (one block per file)");
  return block;
}

// statement := NAME '=' expr. A right-hand side that is a call of a layer kind
// declares a layer; any other is an assignment.
bool Parser::parseStatement(BlockAST &block) {
  if (lexer.getCurToken() != tok_name) {
    error("expected a statement 'NAME = ...' or '}'");
    return false;
  }
  std::string target = lexer.getText().str();
  Location loc = locate(lexer.getLoc());
  lexer.consume(tok_name);
  if (!expect(tok_equal, "'=' after '" + target + "'"))
    return false;

  operands = 0;
  llvm::SMLoc valueLoc = lexer.getLoc();
  std::unique_ptr<ExprAST> value = parseExpr();
  if (!value)
    return false;
  auto *call = llvm::dyn_cast<CallExprAST>(value.get());
  std::optional<LayerKind> kind = call ? lookupLayerKind(call->callee) : std::nullopt;
  if (!kind) {
    block.statements.push_back({std::move(target), std::move(value), std::move(loc)});
    return true;
  }
  if (!call->args.empty()) {
    sourceMgr.PrintMessage(valueLoc, llvm::SourceMgr::DK_Error,
                           "a layer declaration takes no tensor: declare '" + target +
                               " = " + call->callee + "(...)' and apply it as '" +
                               target + "(...)'");
    return false;
  }
  auto layer = std::make_unique<LayerDecl>();
  layer->name = std::move(target);
  layer->kind = *kind;
  layer->loc = std::move(loc);
  layer->args = std::move(call->options);
  block.layers.push_back(std::move(layer));
  return true;
}

// option := IDENT '=' (NUMBER | 'true' | 'false' | IDENT)
bool Parser::parseOption(std::vector<Argument> &options) {
  Argument arg;
  arg.key = lexer.getText().str();
  arg.loc = locate(lexer.getLoc());
  lexer.consume(tok_name);
  lexer.consume(tok_equal);
  arg.valueLoc = locate(lexer.getLoc());
  switch (lexer.getCurToken()) {
  case tok_number:
    arg.kind = Argument::Kind::Number;
    arg.number = lexer.getValue();
    break;
  case tok_true:
  case tok_false:
    arg.kind = Argument::Kind::Bool;
    arg.boolean = lexer.getCurToken() == tok_true;
    break;
  case tok_name:
    if (lexer.isIdentifier()) {
      arg.kind = Argument::Kind::Name;
      arg.name = lexer.getText().str();
      break;
    }
    [[fallthrough]];
  default:
    error("expected a number, 'true', 'false' or a name after '" + arg.key + " ='");
    return false;
  }
  lexer.getNextToken();
  options.push_back(std::move(arg));
  return true;
}

// arrow := NUMBER '->' NUMBER
bool Parser::parseArrow(std::vector<Argument> &options) {
  Argument arg;
  arg.kind = Argument::Kind::Arrow;
  arg.number = lexer.getValue();
  arg.loc = locate(lexer.getLoc());
  lexer.consume(tok_number);
  lexer.consume(tok_arrow);
  if (lexer.getCurToken() != tok_number) {
    error("expected a number after '->'");
    return false;
  }
  arg.out = lexer.getValue();
  arg.valueLoc = locate(lexer.getLoc());
  lexer.consume(tok_number);
  options.push_back(std::move(arg));
  return true;
}

// '(' [arg (',' arg)*] ')' with arg := option | arrow | expr.
bool Parser::parseArguments(std::vector<std::unique_ptr<ExprAST>> &args,
                            std::vector<Argument> &options) {
  lexer.consume(tok_lparen);
  if (lexer.getCurToken() == tok_rparen) {
    lexer.consume(tok_rparen);
    return true;
  }
  while (true) {
    Token next = lexer.peekToken();
    if (lexer.isIdentifier() && next == tok_equal) {
      if (!parseOption(options))
        return false;
    } else if (lexer.getCurToken() == tok_number && next == tok_arrow) {
      if (!parseArrow(options))
        return false;
    } else {
      std::unique_ptr<ExprAST> arg = parseExpr();
      if (!arg)
        return false;
      args.push_back(std::move(arg));
    }
    if (lexer.getCurToken() != tok_comma)
      return expect(tok_rparen, "',' or ')' after an argument");
    lexer.consume(tok_comma);
  }
}

// expr := term ('+' term)*;  term := factor ('*' factor)*
std::unique_ptr<ExprAST> Parser::parseExpr() {
  std::unique_ptr<ExprAST> lhs = parseFactor();
  if (!lhs)
    return nullptr;
  return parseBinOpRHS(0, std::move(lhs));
}

static int getPrecedence(Token tok) {
  switch (tok) {
  case tok_plus:
    return 1;
  case tok_star:
    return 2;
  default:
    return -1;
  }
}

/// Precedence climbing as in the Toy tutorial: folds operators binding at least as
/// tightly as `exprPrec` onto `lhs`, left-associatively.
std::unique_ptr<ExprAST> Parser::parseBinOpRHS(int exprPrec,
                                               std::unique_ptr<ExprAST> lhs) {
  while (true) {
    Token op = lexer.getCurToken();
    int prec = getPrecedence(op);
    if (prec < exprPrec)
      return lhs;
    Location opLoc = locate(lexer.getLoc());
    lexer.consume(op);
    std::unique_ptr<ExprAST> rhs = parseFactor();
    if (!rhs)
      return nullptr;
    if (prec < getPrecedence(lexer.getCurToken())) {
      rhs = parseBinOpRHS(prec + 1, std::move(rhs));
      if (!rhs)
        return nullptr;
    }
    lhs = std::make_unique<BinaryExprAST>(std::move(opLoc), static_cast<char>(op),
                                          std::move(lhs), std::move(rhs));
  }
}

// factor := NUMBER | IDENT | NAME '(' [arg (',' arg)*] ')' | '(' expr ')'
std::unique_ptr<ExprAST> Parser::parseFactor() {
  if (++operands > kMaxOperands)
    return error("statement too long: more than " + llvm::Twine(kMaxOperands) +
                 " operands");
  switch (lexer.getCurToken()) {
  case tok_number: {
    auto number = std::make_unique<NumberExprAST>(locate(lexer.getLoc()), lexer.getValue());
    lexer.consume(tok_number);
    return number;
  }
  case tok_name:
    return parseNameExpr();
  case tok_lparen: {
    lexer.consume(tok_lparen);
    std::unique_ptr<ExprAST> expr = parseExpr();
    if (!expr || !expect(tok_rparen, "')'"))
      return nullptr;
    return expr;
  }
  default:
    return error("expected an expression");
  }
}

std::unique_ptr<ExprAST> Parser::parseNameExpr() {
  std::string name = lexer.getText().str();
  Location loc = locate(lexer.getLoc());
  bool isIdentifier = lexer.isIdentifier();
  lexer.consume(tok_name);
  if (lexer.getCurToken() == tok_lparen) {
    std::vector<std::unique_ptr<ExprAST>> args;
    std::vector<Argument> options;
    if (!parseArguments(args, options))
      return nullptr;
    return std::make_unique<CallExprAST>(std::move(loc), std::move(name),
                                         std::move(args), std::move(options));
  }
  // Variables are plain identifiers; a dotted name can only be a layer being called.
  if (!isIdentifier)
    return error("expected '(' after layer '" + name + "'");
  return std::make_unique<VarExprAST>(std::move(loc), std::move(name));
}

std::unique_ptr<BlockAST> blockc::parseBlock(llvm::SourceMgr &sourceMgr) {
  return Parser(sourceMgr).parseBlock();
}
