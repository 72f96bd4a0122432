//===- Parser.cpp - Parser of the block spec language ---------------------===//

#include "blockc/Frontend/Parser.h"
#include "blockc/Frontend/Lexer.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"

#include <cmath>

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

  std::unique_ptr<SpecAST> parseSpec();

private:
  std::unique_ptr<BlockAST> parseBlock();
  std::unique_ptr<BlockAST> parseModel();
  bool parseBody(BlockAST &block, llvm::SMLoc nameLoc);
  bool parseStatement(BlockAST &block);
  bool parseInput(BlockAST &model);
  bool parseIgnore(BlockAST &model);
  bool parseInstance(BlockAST &model, std::string group, Location loc);
  bool parseShape(std::vector<Argument> &dims);
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
  llvm::StringSet<> blockNames; // the blocks parsed so far, which a model instantiates
};

} // namespace

Location Parser::locate(llvm::SMLoc loc) const {
  auto [line, col] = sourceMgr.getLineAndColumn(loc, bufferID);
  return {sourceMgr.getMemoryBuffer(bufferID)->getBufferIdentifier().str(),
          static_cast<int>(line), static_cast<int>(col), loc};
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
  lexer.consume(tok_block);
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
    // size := IDENT ('=' | '<=') NUMBER; Sema checks the value, with a better message.
    if (lexer.isIdentifier() && lexer.peekToken() == tok_upto) {
      Argument size;
      size.key = lexer.getText().str();
      size.loc = locate(lexer.getLoc());
      size.upTo = true;
      lexer.consume(tok_name);
      lexer.consume(tok_upto);
      size.valueLoc = locate(lexer.getLoc());
      if (lexer.getCurToken() != tok_number)
        return error("expected a number after '" + size.key + " <='");
      size.number = lexer.getValue();
      lexer.consume(tok_number);
      block->sizes.push_back(std::move(size));
    } else if (!lexer.isIdentifier() || lexer.peekToken() != tok_equal) {
      return error("expected a size 'NAME = N' (or 'tokens <= N')");
    } else if (!parseOption(block->sizes)) {
      return nullptr;
    }
    if (lexer.getCurToken() != tok_comma)
      break;
    lexer.consume(tok_comma);
  }
  if (!expect(tok_rparen, "',' or ')' after a size") ||
      !expect(tok_lbrace, "'{' after the block's sizes"))
    return nullptr;

  if (!parseBody(*block, nameLoc))
    return nullptr;
  blockNames.insert(block->name);
  return block;
}

// model := 'model' IDENT ('(' option (',' option)* ')')? '{' statement* '}'
std::unique_ptr<BlockAST> Parser::parseModel() {
  lexer.consume(tok_name);
  auto model = std::make_unique<BlockAST>();
  model->isModel = true;
  if (!lexer.isIdentifier())
    return error("expected the model's name");
  model->name = lexer.getText().str();
  llvm::SMLoc nameLoc = lexer.getLoc();
  model->loc = locate(nameLoc);
  lexer.consume(tok_name);
  if (lexer.getCurToken() == tok_lparen) { // settings: `(precision = int8)`
    lexer.consume(tok_lparen);
    while (true) {
      if (!lexer.isIdentifier() || lexer.peekToken() != tok_equal)
        return error("expected a setting 'NAME = VALUE'");
      if (!parseOption(model->sizes))
        return nullptr;
      if (lexer.getCurToken() != tok_comma)
        break;
      lexer.consume(tok_comma);
    }
    if (!expect(tok_rparen, "',' or ')' after a setting"))
      return nullptr;
  }
  if (!expect(tok_lbrace, "'{' after the model's name or settings") || !parseBody(*model, nameLoc))
    return nullptr;
  return model;
}

// '{' statement* '}', the '{' consumed.
bool Parser::parseBody(BlockAST &block, llvm::SMLoc nameLoc) {
  const char *what = block.isModel ? "model" : "block";
  while (lexer.getCurToken() != tok_rbrace) {
    if (lexer.getCurToken() == tok_eof) {
      error(llvm::Twine("expected '}' at the end of ") + what + " '" + block.name + "'");
      sourceMgr.PrintMessage(nameLoc, llvm::SourceMgr::DK_Note,
                             llvm::Twine("the ") + what + " starts here");
      return false;
    }
    if (!parseStatement(block))
      return false;
  }
  lexer.consume(tok_rbrace);
  return true;
}

// file := block* [model]: the blocks a model instantiates come before it.
std::unique_ptr<SpecAST> Parser::parseSpec() {
  auto spec = std::make_unique<SpecAST>();
  do {
    if (spec->model)
      return error("expected end of file after the model (a file has one model, last)");
    if (lexer.getCurToken() == tok_name && lexer.getText() == "model") {
      spec->model = parseModel();
      if (!spec->model)
        return nullptr;
    } else if (lexer.getCurToken() == tok_block) {
      std::unique_ptr<BlockAST> block = parseBlock();
      if (!block)
        return nullptr;
      spec->blocks.push_back(std::move(block));
    } else {
      return error("expected 'block' or 'model'");
    }
  } while (lexer.getCurToken() != tok_eof);
  return spec;
}

// statement := NAME '=' expr. A right-hand side that is a call of a layer kind
// declares a layer; any other is an assignment.
//
// In a model also: `input NAME: [B, ...]`, `output NAME = expr`, `ignore NAME, ...`, and
// instances of a
// block: `NAME.{FIRST..LAST} = BLOCK` or `NAME = BLOCK`.
bool Parser::parseStatement(BlockAST &block) {
  if (lexer.getCurToken() != tok_name) {
    error("expected a statement 'NAME = ...' or '}'");
    return false;
  }
  // `input` and `output` are keywords only where a name follows them.
  bool keyword = block.isModel && lexer.peekToken() == tok_name;
  if (keyword && lexer.getText() == "input")
    return parseInput(block);
  if (keyword && lexer.getText() == "ignore")
    return parseIgnore(block);
  bool output = keyword && lexer.getText() == "output";
  if (output)
    lexer.consume(tok_name);
  std::string target = lexer.getText().str();
  Location loc = locate(lexer.getLoc());
  lexer.consume(tok_name);
  if (block.isModel && !output && lexer.getCurToken() == tok_dot)
    return parseInstance(block, std::move(target), std::move(loc));
  if (!expect(tok_equal, "'=' after '" + target + "'"))
    return false;
  if (block.isModel && !output && lexer.isIdentifier() &&
      blockNames.contains(lexer.getText()) && lexer.peekToken() != tok_lparen)
    return parseInstance(block, std::move(target), std::move(loc));

  operands = 0;
  llvm::SMLoc valueLoc = lexer.getLoc();
  std::unique_ptr<ExprAST> value = parseExpr();
  if (!value)
    return false;
  auto *call = llvm::dyn_cast<CallExprAST>(value.get());
  std::optional<LayerKind> kind = call ? lookupLayerKind(call->callee) : std::nullopt;
  if (!kind || output) {
    block.statements.push_back({std::move(target), std::move(value), std::move(loc), output});
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

// ignore := 'ignore' NAME (',' NAME)*: state-dict tensors named NAME or under `NAME.` that
// the weight file may hold and inference never reads (Hugging Face's pooler, buffers).
bool Parser::parseIgnore(BlockAST &model) {
  lexer.consume(tok_name);
  while (true) {
    if (lexer.getCurToken() != tok_name) {
      error("expected the name of the tensors to ignore");
      return false;
    }
    model.ignored.push_back({lexer.getText().str(), locate(lexer.getLoc())});
    lexer.consume(tok_name);
    if (lexer.getCurToken() != tok_comma)
      return true;
    lexer.consume(tok_comma);
  }
}

// input := 'input' IDENT ':' [IDENT] shape, with the shape's first entry `B`; the IDENT is
// the element type (int64, int32; float32 when absent). A later entry is a NUMBER, or the
// name of the run-time tokens with their maximum where first written (`S <= 512`). A
// trailing `= 0` lets a caller omit the input (zeros).
bool Parser::parseInput(BlockAST &model) {
  lexer.consume(tok_name);
  InputDecl input;
  if (!lexer.isIdentifier()) {
    error("expected the input's name");
    return false;
  }
  input.name = lexer.getText().str();
  input.loc = locate(lexer.getLoc());
  lexer.consume(tok_name);
  if (!expect(tok_colon, "':' and the input's shape after '" + input.name + "'"))
    return false;
  if (lexer.isIdentifier()) {
    input.dtype = lexer.getText().str();
    input.dtypeLoc = locate(lexer.getLoc());
    lexer.consume(tok_name);
  }
  if (lexer.getCurToken() != tok_lbracket) {
    error("expected the input's shape '[B, ...]'");
    return false;
  }
  lexer.consume(tok_lbracket);
  if (!lexer.isIdentifier()) {
    error("expected 'B' (the batch, chosen at run time) first in an input's shape");
    return false;
  }
  input.batch = lexer.getText().str();
  input.batchLoc = locate(lexer.getLoc());
  lexer.consume(tok_name);
  while (lexer.getCurToken() == tok_comma) {
    lexer.consume(tok_comma);
    Argument dim;
    dim.loc = dim.valueLoc = locate(lexer.getLoc());
    if (lexer.isIdentifier()) {
      dim.kind = Argument::Kind::Name;
      dim.name = lexer.getText().str();
      lexer.consume(tok_name);
      if (lexer.getCurToken() == tok_upto) {
        lexer.consume(tok_upto);
        dim.upTo = true;
        dim.valueLoc = locate(lexer.getLoc());
        if (lexer.getCurToken() != tok_number) {
          error("expected the largest token count after '" + dim.name + " <='");
          return false;
        }
        dim.number = lexer.getValue();
        lexer.consume(tok_number);
      }
    } else if (lexer.getCurToken() == tok_number) {
      dim.number = lexer.getValue();
      lexer.consume(tok_number);
    } else {
      error("expected a number in the input's shape (or the run-time tokens, 'S <= N')");
      return false;
    }
    input.dims.push_back(std::move(dim));
  }
  if (!expect(tok_rbracket, "',' or ']' in the input's shape"))
    return false;
  if (lexer.getCurToken() == tok_equal) {
    lexer.consume(tok_equal);
    input.defaultLoc = locate(lexer.getLoc());
    if (lexer.getCurToken() != tok_number || lexer.getValue() != 0) {
      error("expected 0 after '=': an input a caller may omit is all zeros ('= 0')");
      return false;
    }
    lexer.consume(tok_number);
    input.zeroDefault = true;
  }
  model.inputs.push_back(std::move(input));
  return true;
}

// instance := NAME ['.' '{' NUMBER '..' NUMBER '}'] '=' IDENT; NAME consumed, and the
// '=' too when there is no range.
bool Parser::parseInstance(BlockAST &model, std::string group, Location loc) {
  InstanceDecl instance;
  instance.group = std::move(group);
  instance.loc = std::move(loc);
  if (lexer.getCurToken() == tok_dot) {
    lexer.consume(tok_dot);
    instance.ranged = true;
    instance.rangeLoc = locate(lexer.getLoc());
    if (!expect(tok_lbrace, "'{FIRST..LAST}' after '.'"))
      return false;
    // Indices are state-dict name segments, digit strings: anything else becomes -1, which
    // Sema reports.
    auto index = [&](const char *which, int64_t &out) {
      if (lexer.getCurToken() != tok_number) {
        error(llvm::Twine("expected the ") + which + " index of the range");
        return false;
      }
      double value = lexer.getValue();
      out = value >= 0 && value < 1e9 && value == std::floor(value) ? int64_t(value) : -1;
      lexer.consume(tok_number);
      return true;
    };
    if (!index("first", instance.first) || !expect(tok_range, "'..' in the range") ||
        !index("last", instance.last) || !expect(tok_rbrace, "'}' after the range"))
      return false;
    if (!expect(tok_equal, "'=' and a block after the range"))
      return false;
  }
  if (!lexer.isIdentifier()) {
    error("expected the name of a block");
    return false;
  }
  instance.blockName = lexer.getText().str();
  instance.blockLoc = locate(lexer.getLoc());
  lexer.consume(tok_name);
  model.instances.push_back(std::move(instance));
  return true;
}

// shape := '[' NUMBER (',' NUMBER)* ']'
bool Parser::parseShape(std::vector<Argument> &options) {
  Argument arg;
  arg.kind = Argument::Kind::Shape;
  arg.key = "[SHAPE]";
  arg.loc = arg.valueLoc = locate(lexer.getLoc());
  lexer.consume(tok_lbracket);
  while (true) {
    if (lexer.getCurToken() != tok_number) {
      error("expected a number in the shape");
      return false;
    }
    arg.shape.push_back(lexer.getValue());
    lexer.consume(tok_number);
    if (lexer.getCurToken() != tok_comma)
      break;
    lexer.consume(tok_comma);
  }
  if (!expect(tok_rbracket, "',' or ']' in the shape"))
    return false;
  options.push_back(std::move(arg));
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
    } else if (lexer.getCurToken() == tok_lbracket) {
      if (!parseShape(options))
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

std::unique_ptr<SpecAST> blockc::parseSpec(llvm::SourceMgr &sourceMgr) {
  return Parser(sourceMgr).parseSpec();
}
