//===- FrontendTest.cpp - Lexer, parser and Sema of the block language ----===//

#include "blockc/Frontend/AST.h"
#include "blockc/Frontend/Lexer.h"
#include "blockc/Frontend/Parser.h"
#include "blockc/Frontend/Sema.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <random>

using namespace blockc;
using namespace blockc::ast;
using llvm::cast;
using llvm::isa;

namespace {

/// Parses (and unless told otherwise checks) `source` as the file `test.block`,
/// capturing the diagnostics as the compiler would print them.
struct Compiled {
  std::unique_ptr<SpecAST> spec;
  BlockAST *block = nullptr; // the spec's model, or its block
  bool ok = false;
  std::string diagnostics;
};

Compiled compile(llvm::StringRef source, bool runSema = true) {
  Compiled result;
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, "test.block"),
                               llvm::SMLoc());
  sourceMgr.setDiagHandler(
      [](const llvm::SMDiagnostic &diag, void *context) {
        llvm::raw_string_ostream os(*static_cast<std::string *>(context));
        diag.print(nullptr, os, /*ShowColors=*/false);
      },
      &result.diagnostics);
  result.spec = parseSpec(sourceMgr);
  result.block = result.spec ? &result.spec->top() : nullptr;
  result.ok = result.spec && (!runSema || checkSpec(*result.spec, sourceMgr));
  return result;
}

/// The `file:line:col: kind: message` lines of the diagnostics.
std::vector<std::string> headlines(llvm::StringRef diagnostics) {
  llvm::SmallVector<llvm::StringRef> lines;
  diagnostics.split(lines, '\n');
  std::vector<std::string> result;
  for (llvm::StringRef line : lines)
    if (line.starts_with("test.block:"))
      result.push_back(line.str());
  return result;
}

/// A block of 8 features around `body`, whose first line is line 2 of the file.
std::string inBlock(llvm::StringRef body) {
  return "block b (tokens = 4, dim = 8) {\n" + body.str() + "}\n";
}

void expectErrors(llvm::StringRef source, const std::vector<std::string> &expected) {
  Compiled result = compile(source);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(headlines(result.diagnostics), expected) << result.diagnostics;
}

std::string dumped(const ExprAST &expr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  dump(expr, os);
  return text;
}

std::string dumped(const BlockAST &block) {
  std::string text;
  llvm::raw_string_ostream os(text);
  dump(block, os);
  return text;
}

std::string readExample(llvm::StringRef name) {
  auto buffer = llvm::MemoryBuffer::getFile(BLOCKC_EXAMPLES_DIR "/" + name);
  EXPECT_TRUE(bool(buffer)) << name.str();
  return buffer ? (*buffer)->getBuffer().str() : "";
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

std::vector<std::string> lexTexts(llvm::StringRef source) {
  Lexer lexer(source);
  std::vector<std::string> texts;
  for (; lexer.getCurToken() != tok_eof; lexer.getNextToken()) {
    EXPECT_NE(lexer.getCurToken(), tok_error) << lexer.getError().str();
    if (lexer.getCurToken() == tok_error)
      break;
    texts.push_back(lexer.getText().str());
  }
  return texts;
}

TEST(Lexer, NamesArePathsOfSegments) {
  Lexer lexer("mlp.fc1 blocks.0.attn attention.self.query x _a1");
  std::vector<std::pair<std::string, bool>> names;
  for (; lexer.getCurToken() == tok_name; lexer.getNextToken())
    names.emplace_back(lexer.getText().str(), lexer.isIdentifier());
  EXPECT_EQ(lexer.getCurToken(), tok_eof);
  std::vector<std::pair<std::string, bool>> expected = {{"mlp.fc1", false},
                                                        {"blocks.0.attn", false},
                                                        {"attention.self.query", false},
                                                        {"x", true},
                                                        {"_a1", true}};
  EXPECT_EQ(names, expected);
}

TEST(Lexer, Numbers) {
  Lexer lexer("768 1e-6 1e-12 0.5 1.5e+3 2E3");
  std::vector<double> values;
  for (; lexer.getCurToken() == tok_number; lexer.getNextToken())
    values.push_back(lexer.getValue());
  EXPECT_EQ(lexer.getCurToken(), tok_eof);
  EXPECT_EQ(values, (std::vector<double>{768, 1e-6, 1e-12, 0.5, 1500, 2000}));
}

TEST(Lexer, PunctuationKeywordsAndArrows) {
  Lexer lexer("block true false ( ) { } , = + * 768->3072");
  std::vector<int> tokens;
  for (; lexer.getCurToken() != tok_eof; lexer.getNextToken())
    tokens.push_back(lexer.getCurToken());
  EXPECT_EQ(tokens, (std::vector<int>{tok_block, tok_true, tok_false, '(', ')', '{', '}',
                                      ',', '=', '+', '*', tok_number, tok_arrow,
                                      tok_number}));
}

TEST(Lexer, CommentsAndWhitespace) {
  EXPECT_EQ(lexTexts("# a comment\n\tx = # another\r\n  y # end"),
            (std::vector<std::string>{"x", "=", "y"}));
  EXPECT_TRUE(lexTexts("# only a comment").empty());
  EXPECT_TRUE(lexTexts("").empty());
}

TEST(Lexer, PeekDoesNotMove) {
  Lexer lexer("heads = 12");
  EXPECT_EQ(lexer.peekToken(), tok_equal);
  EXPECT_EQ(lexer.getCurToken(), tok_name);
  EXPECT_EQ(lexer.getText(), "heads");
}

TEST(Lexer, LocationsPointIntoTheBuffer) {
  llvm::StringRef source = "a\n  bb";
  Lexer lexer(source);
  EXPECT_EQ(lexer.getLoc().getPointer(), source.data());
  lexer.getNextToken();
  EXPECT_EQ(lexer.getLoc().getPointer(), source.data() + 4);
}

TEST(Lexer, MalformedInputIsAnErrorToken) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"$", "invalid character '$'"},
      {"\xC3\xA9", "invalid character '\\xC3'"},
      {std::string("\0", 1), "invalid character '\\x00'"},
      {"-", "invalid character '-'"},
      {"mlp.", "expected a name segment after '.'"},
      {"blocks.0a", "invalid name segment '0a': a segment is an identifier or a number"},
      {"1.", "expected digits after '.' in a number"},
      {"1e", "expected digits in the exponent of a number"},
      {"1e+", "expected digits in the exponent of a number"},
      {"768abc", "invalid number '768abc'"},
      {"1.5.3", "invalid number '1.5.3'"},
      {"1e999", "number '1e999' is out of range"},
  };
  for (const auto &[source, message] : cases) {
    Lexer lexer(source);
    EXPECT_EQ(lexer.getCurToken(), tok_error) << source;
    EXPECT_EQ(lexer.getError(), message) << source;
  }
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

TEST(Parser, ViTB16Structure) {
  Compiled result = compile(readExample("vit_b16.block"), /*runSema=*/false);
  ASSERT_TRUE(result.ok) << result.diagnostics;
  const BlockAST &block = *result.block;
  EXPECT_EQ(block.name, "vit_b16");
  EXPECT_EQ(block.loc.file, "test.block");
  EXPECT_EQ(block.loc.line, 2);
  EXPECT_EQ(block.loc.col, 7);
  ASSERT_EQ(block.sizes.size(), 2u);
  EXPECT_EQ(block.sizes[0].key, "tokens");
  EXPECT_EQ(block.sizes[0].number, 197);
  EXPECT_EQ(block.sizes[1].key, "dim");
  EXPECT_EQ(block.sizes[1].number, 768);

  ASSERT_EQ(block.layers.size(), 5u);
  std::vector<std::pair<std::string, LayerKind>> layers;
  for (const auto &layer : block.layers)
    layers.emplace_back(layer->name, layer->kind);
  std::vector<std::pair<std::string, LayerKind>> expected = {
      {"norm1", LayerKind::LayerNorm},
      {"attn", LayerKind::Attention},
      {"norm2", LayerKind::LayerNorm},
      {"mlp.fc1", LayerKind::Linear},
      {"mlp.fc2", LayerKind::Linear}};
  EXPECT_EQ(layers, expected);

  const LayerDecl &attn = *block.layers[1];
  EXPECT_EQ(attn.loc.line, 4);
  EXPECT_EQ(attn.loc.col, 3);
  ASSERT_EQ(attn.args.size(), 2u);
  EXPECT_EQ(attn.args[0].kind, Argument::Kind::Number);
  EXPECT_EQ(attn.args[0].key, "heads");
  EXPECT_EQ(attn.args[0].number, 12);
  EXPECT_EQ(attn.args[1].kind, Argument::Kind::Bool);
  EXPECT_EQ(attn.args[1].key, "qkv_bias");
  EXPECT_TRUE(attn.args[1].boolean);
  const Argument &arrow = block.layers[3]->args.at(0);
  EXPECT_EQ(arrow.kind, Argument::Kind::Arrow);
  EXPECT_EQ(arrow.number, 768);
  EXPECT_EQ(arrow.out, 3072);
  EXPECT_EQ(block.layers[0]->args.at(0).number, 1e-6);

  ASSERT_EQ(block.statements.size(), 2u);
  EXPECT_EQ(block.statements[0].target, "x");
  EXPECT_EQ(block.statements[0].loc.line, 9);
  EXPECT_EQ(dumped(*block.statements[0].value), "(x + attn(norm1(x)))");
  EXPECT_EQ(dumped(*block.statements[1].value), "(x + mlp.fc2(gelu(mlp.fc1(norm2(x)))))");
  const auto &sum = cast<BinaryExprAST>(*block.statements[0].value);
  EXPECT_EQ(sum.op, '+');
  EXPECT_EQ(sum.loc.col, 9);
  EXPECT_TRUE(isa<VarExprAST>(*sum.lhs));
  EXPECT_TRUE(isa<CallExprAST>(*sum.rhs));
}

TEST(Parser, PrecedenceAndAssociativity) {
  Compiled result = compile(inBlock("  x = x * 2 + x * 0.5 + x\n"
                                    "  x = (x + x) * x\n"
                                    "  x = 2 * x * x\n"),
                            /*runSema=*/false);
  ASSERT_TRUE(result.ok) << result.diagnostics;
  const auto &statements = result.block->statements;
  EXPECT_EQ(dumped(*statements[0].value), "(((x * 2) + (x * 0.5)) + x)");
  EXPECT_EQ(dumped(*statements[1].value), "((x + x) * x)");
  EXPECT_EQ(dumped(*statements[2].value), "((2 * x) * x)");
}

TEST(Parser, CallArguments) {
  Compiled result =
      compile(inBlock("  h = mha(q, k.v(x), 2 * v, heads = 12, flag = true, mode = fast, "
                      "1 -> 2)\n"),
              /*runSema=*/false);
  ASSERT_TRUE(result.ok) << result.diagnostics;
  const auto &call = cast<CallExprAST>(*result.block->statements[0].value);
  EXPECT_EQ(call.callee, "mha");
  EXPECT_EQ(call.args.size(), 3u);
  ASSERT_EQ(call.options.size(), 4u);
  EXPECT_EQ(call.options[2].kind, Argument::Kind::Name);
  EXPECT_EQ(call.options[2].name, "fast");
  EXPECT_EQ(dumped(call),
            "mha(q, k.v(x), (2 * v), heads = 12, flag = true, mode = fast, 1 -> 2)");
}

TEST(Parser, LayerDeclarationsAndAssignments) {
  Compiled result = compile(inBlock("  blocks.0.ls1 = layerscale()\n"
                                    "  h = relu(x)\n"
                                    "  fc = linear(8 -> 8, bias = false)\n"),
                            /*runSema=*/false);
  ASSERT_TRUE(result.ok) << result.diagnostics;
  ASSERT_EQ(result.block->layers.size(), 2u);
  EXPECT_EQ(result.block->layers[0]->name, "blocks.0.ls1");
  EXPECT_EQ(result.block->layers[0]->kind, LayerKind::LayerScale);
  EXPECT_TRUE(result.block->layers[0]->args.empty());
  EXPECT_EQ(result.block->layers[1]->args.size(), 2u);
  ASSERT_EQ(result.block->statements.size(), 1u);
  EXPECT_EQ(result.block->statements[0].target, "h");
}

// One test per syntax error, with the exact text the compiler prints.

TEST(ParserErrors, FullDiagnosticShowsLineAndCaret) {
  Compiled result = compile(inBlock("  x = x +\n"));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.diagnostics, "test.block:3:1: error: expected an expression, found '}'\n"
                                "}\n"
                                "^\n");
}

// A lone carriage return starts a column but not a line for llvm::SourceMgr; a semantic
// error after one still points at its token (it was printed as "<unknown>:0", found by
// fuzzing).
TEST(SemaErrors, LocatedAfterALoneCarriageReturn) {
  Compiled result = compile("block b (tokens = 4, dim = 8) {\n"
                            "\r\r norm1 = layernorm(ups = 1e-6)\n"
                            "  x = x + norm1(x)\n"
                            "}\n");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.diagnostics.rfind("test.block:2:", 0), 0u) << result.diagnostics;
  EXPECT_NE(result.diagnostics.find("error: unknown argument 'ups' to layernorm"),
            std::string::npos)
      << result.diagnostics;
  EXPECT_NE(result.diagnostics.find("^"), std::string::npos) << result.diagnostics;
}

TEST(ParserErrors, EmptyFile) {
  expectErrors("", {"test.block:1:1: error: expected 'block' or 'model', found end of file"});
}

TEST(ParserErrors, Garbage) {
  expectErrors("hello world", {"test.block:1:1: error: expected 'block' or 'model', found 'hello'"});
}

TEST(ParserErrors, NonASCII) {
  expectErrors("block b\xC3\xA9 (tokens = 1, dim = 1) {}",
               {"test.block:1:8: error: invalid character '\\xC3'"});
}

TEST(ParserErrors, BlockNameIsAnIdentifier) {
  expectErrors("block a.b (tokens = 1, dim = 1) {}",
               {"test.block:1:7: error: expected the block's name, found 'a.b'"});
}

TEST(ParserErrors, SizesRequired) {
  expectErrors("block b () {}",
               {"test.block:1:10: error: expected a size 'NAME = N' (or 'tokens <= N'), found ')'"});
}

TEST(ParserErrors, SizeSeparator) {
  expectErrors("block b (tokens = 1 dim = 1) {}",
               {"test.block:1:21: error: expected ',' or ')' after a size, found 'dim'"});
}

TEST(ParserErrors, UnterminatedBlock) {
  expectErrors("block b (tokens = 4, dim = 8) {\n  x = gelu(x)\n",
               {"test.block:3:1: error: expected '}' at the end of block 'b', found end of "
                "file",
                "test.block:1:7: note: the block starts here"});
}

TEST(ParserErrors, TextAfterTheBlock) {
  expectErrors(inBlock("  x = gelu(x)\n") + "model m {\n  input i: [B, 4, 8]\n  b0 = b\n"
                                                "  output y = b0(i)\n}\nblock c",
               {"test.block:9:1: error: expected end of file after the model (a file has one "
                "model, last), found 'block'"});
}

TEST(ParserErrors, StatementStart) {
  expectErrors(inBlock("  = x\n"),
               {"test.block:2:3: error: expected a statement 'NAME = ...' or '}', found "
                "'='"});
}

TEST(ParserErrors, MissingEquals) {
  expectErrors(inBlock("  x + x\n"),
               {"test.block:2:5: error: expected '=' after 'x', found '+'"});
}

TEST(ParserErrors, UnclosedParenthesis) {
  expectErrors(inBlock("  x = (x + x\n"),
               {"test.block:3:1: error: expected ')', found '}'"});
}

TEST(ParserErrors, ArgumentSeparator) {
  expectErrors(inBlock("  x = gelu(x x)\n"),
               {"test.block:2:14: error: expected ',' or ')' after an argument, found 'x'"});
}

TEST(ParserErrors, DottedNameMustBeCalled) {
  expectErrors(inBlock("  x = mlp.fc1 + x\n"),
               {"test.block:2:15: error: expected '(' after layer 'mlp.fc1', found '+'"});
}

TEST(ParserErrors, ArrowNeedsANumber) {
  expectErrors(inBlock("  fc = linear(8 -> out)\n"),
               {"test.block:2:20: error: expected a number after '->', found 'out'"});
}

TEST(ParserErrors, OptionValue) {
  expectErrors(inBlock("  n = layernorm(eps = )\n"),
               {"test.block:2:23: error: expected a number, 'true', 'false' or a name "
                "after 'eps =', found ')'"});
}

TEST(ParserErrors, LayerDeclarationTakesNoTensor) {
  expectErrors(inBlock("  n = layernorm(x)\n"),
               {"test.block:2:7: error: a layer declaration takes no tensor: declare 'n = "
                "layernorm(...)' and apply it as 'n(...)'"});
}

TEST(ParserErrors, NegativeNumber) {
  expectErrors(inBlock("  x = x * -1\n"),
               {"test.block:2:11: error: invalid character '-'"});
}

TEST(ParserErrors, HugeNumber) {
  expectErrors(inBlock("  x = x * 1e999\n"),
               {"test.block:2:11: error: number '1e999' is out of range"});
}

TEST(ParserErrors, DeepNestingIsAnErrorNotACrash) {
  std::string deep = std::string(100000, '(') + "x" + std::string(100000, ')');
  expectErrors(inBlock("  x = " + deep + "\n"),
               {"test.block:2:1007: error: statement too long: more than 1000 operands, "
                "found '('"});
  std::string calls;
  for (int i = 0; i < 5000; ++i)
    calls += "gelu(";
  expectErrors(inBlock("  x = " + calls + "x\n"),
               {"test.block:2:5007: error: statement too long: more than 1000 operands, "
                "found 'gelu'"});
}

TEST(ParserErrors, LongChainIsAnErrorNotACrash) {
  std::string chain = "x";
  for (int i = 0; i < 100000; ++i)
    chain += " + x";
  Compiled result = compile(inBlock("  x = " + chain + "\n"));
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.diagnostics.find("statement too long"), std::string::npos);
}

// Every prefix and many corruptions of a valid spec give a located error or a
// checked block, never a crash.
TEST(ParserErrors, TruncatedAndCorruptedInputDoNotCrash) {
  std::string source = readExample("minilm_postnorm.block");
  for (size_t size = 0; size < source.rfind('}'); ++size) {
    Compiled result = compile(llvm::StringRef(source).take_front(size));
    EXPECT_FALSE(result.ok) << size;
    EXPECT_NE(result.diagnostics.find("error:"), std::string::npos) << size;
  }
  std::mt19937 random(42);
  for (int i = 0; i < 2000; ++i) {
    std::string corrupted = source;
    for (int j = 0; j < 3; ++j)
      corrupted[random() % corrupted.size()] = static_cast<char>(random() % 256);
    Compiled result = compile(corrupted);
    if (!result.ok) {
      EXPECT_NE(result.diagnostics.find("error:"), std::string::npos) << corrupted;
    }
  }
}

//===----------------------------------------------------------------------===//
// Sema
//===----------------------------------------------------------------------===//

TEST(Sema, ViTB16Resolved) {
  Compiled result = compile(readExample("vit_b16.block"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
  EXPECT_EQ(result.diagnostics, "");
  EXPECT_EQ(dumped(*result.block),
            "block vit_b16 (tokens = 197, dim = 768)\n"
            "  norm1 = layernorm(eps = 1e-06):768\n"
            "  attn = attention(heads = 12, qkv_bias = true, proj_bias = true):768\n"
            "  norm2 = layernorm(eps = 1e-06):768\n"
            "  mlp.fc1 = linear(768 -> 3072, bias = true):768\n"
            "  mlp.fc2 = linear(3072 -> 768, bias = true):3072\n"
            "  x = (x:768 + attn(norm1(x:768):768):768):768\n"
            "  x = (x:768 + mlp.fc2(gelu(mlp.fc1(norm2(x:768):768):3072):3072):768):768\n");

  const BlockAST &block = *result.block;
  const auto &sum = cast<BinaryExprAST>(*block.statements[0].value);
  const auto &attn = cast<LayerCallExprAST>(*sum.rhs);
  EXPECT_EQ(attn.layer, block.layers[1].get());
  const auto &norm1 = cast<LayerCallExprAST>(*attn.arg);
  EXPECT_EQ(norm1.layer, block.layers[0].get());
  const auto &ffn = cast<BinaryExprAST>(*block.statements[1].value);
  const auto &fc2 = cast<LayerCallExprAST>(*ffn.rhs);
  const auto &gelu = cast<BuiltinCallExprAST>(*fc2.arg);
  EXPECT_EQ(gelu.builtin, BuiltinCallExprAST::Builtin::Gelu);
  EXPECT_EQ(gelu.features, 3072);
  EXPECT_EQ(gelu.loc.line, 10);
  EXPECT_EQ(gelu.loc.col, 19);
}

TEST(Sema, PackedAndSeparateMHA) {
  Compiled result = compile(inBlock("  qkv = linear(8 -> 24)\n"
                                    "  q = linear(8 -> 8)\n"
                                    "  h = mha(qkv(x), heads = 2)\n"
                                    "  x = x + mha(q(x), q(h), h, heads = 4)\n"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
  EXPECT_EQ(dumped(*result.block->statements[0].value), "mha(qkv(x:8):24, heads = 2):8");
  EXPECT_EQ(dumped(*result.block->statements[1].value),
            "(x:8 + mha(q(x:8):8, q(h:8):8, h:8, heads = 4):8):8");
  const auto &mha = cast<BuiltinCallExprAST>(*result.block->statements[0].value);
  EXPECT_EQ(mha.builtin, BuiltinCallExprAST::Builtin::MHA);
  EXPECT_EQ(mha.heads, 2);
}

TEST(Sema, DefaultsAndSettings) {
  Compiled result = compile(inBlock("  ln = layernorm()\n"
                                    "  rms = rmsnorm()\n"
                                    "  bn = batchnorm(eps = 1e-3)\n"
                                    "  fc = linear(8 -> 8, bias = false)\n"
                                    "  attn = attention(heads = 2, proj_bias = false)\n"
                                    "  ls = layerscale()\n"
                                    "  x = ls(attn(fc(bn(rms(ln(x))))))\n"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
  const auto &layers = result.block->layers;
  EXPECT_EQ(layers[0]->eps, 1e-5);
  EXPECT_EQ(layers[1]->eps, 1e-6);
  EXPECT_EQ(layers[2]->eps, 1e-3);
  EXPECT_FALSE(layers[3]->bias);
  EXPECT_EQ(layers[3]->inFeatures, 8);
  EXPECT_EQ(layers[3]->outFeatures, 8);
  EXPECT_EQ(layers[4]->heads, 2);
  EXPECT_TRUE(layers[4]->qkvBias);
  EXPECT_FALSE(layers[4]->projBias);
  for (const auto &layer : layers)
    EXPECT_EQ(layer->features, 8) << layer->name;
}

TEST(Sema, ScalingAndPlacements) {
  Compiled result = compile(inBlock("  n = layernorm()\n"
                                    "  n2 = layernorm()\n"
                                    "  h = silu(x) * x\n"
                                    "  x = n(x * 2.0 + gelu_tanh(h) * 0.5)\n"
                                    "  x = x + n2(relu(x))\n"
                                    "  x = (3 * x)\n"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
  EXPECT_EQ(dumped(*result.block->statements[1].value),
            "n(((x:8 * 2):8 + (gelu_tanh(h:8):8 * 0.5):8):8):8");
  EXPECT_EQ(dumped(*result.block->statements[3].value), "(3 * x:8):8");
}

TEST(Sema, LayerAppliedTwiceToTheSameWidth) {
  Compiled result = compile(inBlock("  n = layernorm()\n"
                                    "  x = n(x) + n(gelu(x))\n"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
}

TEST(Sema, AllExamplesPass) {
  std::error_code ec;
  int count = 0;
  for (llvm::sys::fs::directory_iterator it(BLOCKC_EXAMPLES_DIR, ec), end;
       it != end && !ec; it.increment(ec)) {
    if (llvm::sys::path::extension(it->path()) != ".block")
      continue;
    ++count;
    std::string source = readExample(llvm::sys::path::filename(it->path()));
    EXPECT_TRUE(llvm::StringRef(source).starts_with("# ")) << it->path();
    Compiled result = compile(source);
    EXPECT_TRUE(result.ok) << it->path() << "\n" << result.diagnostics;
  }
  EXPECT_FALSE(ec);
  EXPECT_EQ(count, 8);
}

TEST(Sema, MiniLMResolved) {
  Compiled result = compile(readExample("minilm_postnorm.block"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
  EXPECT_EQ(result.block->tokens, 128);
  EXPECT_EQ(result.block->dim, 384);
  EXPECT_EQ(dumped(*result.block->statements[0].value),
            "mha(attention.self.query(x:384):384, attention.self.key(x:384):384, "
            "attention.self.value(x:384):384, heads = 12):384");
  EXPECT_EQ(result.block->layers[4]->eps, 1e-12);
  EXPECT_EQ(result.block->layers[6]->features, 1536);
}

// One test per semantic error, with the exact text the compiler prints.

TEST(SemaErrors, FullDiagnosticShowsLineAndCaret) {
  Compiled result = compile(inBlock("  fc = linear(16 -> 8)\n"
                                    "  x = fc(x)\n"));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.diagnostics,
            "test.block:3:7: error: linear layer 'fc' expects 16 input features, got 8\n"
            "  x = fc(x)\n"
            "      ^\n");
}

TEST(SemaErrors, UnknownLayerKind) {
  expectErrors(inBlock("  mlp.fc1 = lnear(8 -> 8)\n"
                       "  x = gelu(x)\n"),
               {"test.block:2:13: error: unknown layer kind 'lnear'; did you mean "
                "'linear'?"});
}

TEST(SemaErrors, DottedNameIsNotAVariable) {
  expectErrors(inBlock("  mlp.h = x\n"
                       "  x = gelu(x)\n"),
               {"test.block:2:3: error: 'mlp.h' is not a variable name: a dotted name "
                "declares a layer, 'NAME = KIND(...)'"});
}

TEST(SemaErrors, UnknownLayerKindOrFunction) {
  expectErrors(inBlock("  n = lyernorm(eps = 1e-6)\n"
                       "  x = gelu(x)\n"),
               {"test.block:2:7: error: unknown layer kind or function 'lyernorm'; did "
                "you mean 'layernorm'?"});
}

TEST(SemaErrors, UnknownFunction) {
  expectErrors(inBlock("  x = x + softmax(x)\n"),
               {"test.block:2:11: error: unknown function 'softmax'"});
}

TEST(SemaErrors, LayerKindCalledInAnExpression) {
  expectErrors(inBlock("  x = gelu(layernorm(x))\n"),
               {"test.block:2:12: error: 'layernorm' is a layer kind: declare a layer "
                "'NAME = layernorm(...)' and apply it as 'NAME(...)'"});
}

TEST(SemaErrors, UnknownLayerArgument) {
  expectErrors(inBlock("  n = layernorm(epsilon = 1e-6)\n"
                       "  x = n(x)\n"),
               {"test.block:2:17: error: unknown argument 'epsilon' to layernorm (it "
                "takes eps)"});
}

TEST(SemaErrors, ArrowOnlyForLinear) {
  expectErrors(inBlock("  s = layerscale(8 -> 8)\n"
                       "  x = s(x)\n"),
               {"test.block:2:18: error: unknown argument 'IN -> OUT' to layerscale (it "
                "takes no arguments)"});
}

TEST(SemaErrors, UnknownBuiltinArgument) {
  expectErrors(inBlock("  x = gelu(x, approximate = tanh)\n"),
               {"test.block:2:15: error: unknown argument 'approximate' to gelu (it "
                "takes none)"});
}

TEST(SemaErrors, ArgumentGivenTwice) {
  expectErrors(inBlock("  n = layernorm(eps = 1e-6, eps = 1e-5)\n"
                       "  x = n(x)\n"),
               {"test.block:2:29: error: 'eps' is given twice"});
}

TEST(SemaErrors, ArgumentTypes) {
  expectErrors(inBlock("  n = layernorm(eps = true)\n"
                       "  fc = linear(8 -> 8, bias = 1)\n"
                       "  a = attention(heads = two)\n"
                       "  x = a(fc(n(x)))\n"),
               {"test.block:2:23: error: 'eps' must be a number, got true",
                "test.block:3:30: error: 'bias' must be true or false, got 1",
                "test.block:4:25: error: 'heads' must be a positive integer, got two"});
}

TEST(SemaErrors, UndefinedVariable) {
  expectErrors(inBlock("  h = gelu(x)\n"
                       "  x = x + hh\n"),
               {"test.block:3:11: error: use of undefined variable 'hh'; did you mean "
                "'h'?"});
}

TEST(SemaErrors, HugeNameGetsNoSuggestion) {
  // Comparing names takes time quadratic in their lengths: before names this long got
  // no suggestion, this spec took ten seconds.
  std::string name(100000, 'a');
  expectErrors(inBlock("  " + name + " = gelu(x)\n"
                       "  x = x + " + name + "b\n"),
               {"test.block:3:11: error: use of undefined variable '" + name + "b'"});
}

TEST(SemaErrors, TensorsBeyondThirtyTwoBitIndexing) {
  // Halide's kernels index with 32-bit integers: the compile failed in Halide with "Signed
  // integer overflow" and no location.
  expectErrors("block b (tokens = 2147483647, dim = 2) {\n  x = gelu(x)\n}\n",
               {"test.block:1:7: error: a sample of block 'b' has 2147483647 x 2 elements, "
                "more than the 2147483647 a kernel can index (32-bit)"});
  expectErrors(inBlock("  fc = linear(8 -> 300000000)\n"
                       "  x = fc(x)\n"),
               {"test.block:2:15: error: the weight of linear layer 'fc' has 300000000 x 8 "
                "elements, more than the 2147483647 a kernel can index (32-bit)"});
  expectErrors("block b (tokens = 100000, dim = 10000) {\n  a = attention(heads = 2)\n"
               "  x = x + a(x)\n}\n",
               {"test.block:3:11: error: a sample of the qkv of attention layer 'a' has "
                "100000 x 30000 elements, more than the 2147483647 a kernel can index (32-bit)"});
}

TEST(SemaErrors, VariableUsedBeforeAssignment) {
  expectErrors(inBlock("  x = x + h\n"
                       "  h = gelu(x)\n"),
               {"test.block:2:11: error: use of undefined variable 'h'"});
}

TEST(SemaErrors, LayerUsedAsVariable) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  x = n(x) + n\n"),
               {"test.block:3:14: error: 'n' is a layer: apply it as 'n(...)'"});
}

TEST(SemaErrors, LayerDeclaredTwice) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  n = rmsnorm()\n"
                       "  x = n(x)\n"),
               {"test.block:3:3: error: layer 'n' is declared twice",
                "test.block:2:3: note: first declared here"});
}

TEST(SemaErrors, LayerDeclaredButNeverUsed) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  x = gelu(x)\n"),
               {"test.block:2:3: error: layer 'n' is declared but never used"});
}

TEST(SemaErrors, ValueNeverUsed) {
  // Dead code, which the lowering has no kernel for: a variable never read, or overwritten
  // before it is read ('x' too).
  expectErrors(inBlock("  h = gelu(x)\n"
                       "  x = relu(x)\n"),
               {"test.block:2:3: error: the value assigned to 'h' is never used"});
  expectErrors(inBlock("  h = gelu(x)\n"
                       "  h = relu(x)\n"
                       "  x = x + h\n"),
               {"test.block:2:3: error: the value assigned to 'h' is never used"});
  expectErrors(inBlock("  h = silu(x)\n"
                       "  x = gelu(x)\n"
                       "  x = relu(h)\n"),
               {"test.block:3:3: error: the value assigned to 'x' is never used"});
}

TEST(SemaErrors, LayerUsedBeforeDeclaration) {
  expectErrors(inBlock("  x = n(x)\n"
                       "  n = layernorm()\n"),
               {"test.block:2:7: error: layer 'n' is used before its declaration",
                "test.block:3:3: note: declared here"});
}

TEST(SemaErrors, LayerNamedLikeABuiltin) {
  expectErrors(inBlock("  gelu = layernorm()\n"
                       "  x = gelu(x)\n"),
               {"test.block:2:3: error: 'gelu' cannot name a layer: it is a built-in "
                "function"});
}

TEST(SemaErrors, LayerAssigned) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  x = n(x)\n"
                       "  n = gelu(x)\n"),
               {"test.block:4:3: error: 'n' is a layer; it cannot be assigned"});
}

TEST(SemaErrors, LayerCallArity) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  x = n(x, x)\n"),
               {"test.block:3:7: error: layer 'n' takes one tensor argument"});
}

TEST(SemaErrors, NumbersAreNotTensors) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  h = 2.0\n"
                       "  x = n(2) + gelu(3)\n"),
               {"test.block:3:3: error: 'h' must hold a tensor, not a number",
                "test.block:4:9: error: layer 'n' is applied to a number, not a tensor",
                "test.block:4:19: error: 'gelu' takes tensors, not numbers"});
}

TEST(SemaErrors, SizeMissing) {
  expectErrors("block b (dim = 8) {\n  x = gelu(x)\n}\n",
               {"test.block:1:7: error: block 'b' does not give its size 'tokens'"});
  expectErrors("block b (tokens = 8) {\n  x = gelu(x)\n}\n",
               {"test.block:1:7: error: block 'b' does not give its size 'dim'"});
}

TEST(SemaErrors, SizeNotAPositiveInteger) {
  expectErrors("block b (tokens = 0, dim = 7.5) {\n  x = gelu(x)\n}\n",
               {"test.block:1:19: error: 'tokens' must be a positive integer, got 0",
                "test.block:1:28: error: 'dim' must be a positive integer, got 7.5"});
  expectErrors("block b (tokens = true, dim = 1e20) {\n  x = gelu(x)\n}\n",
               {"test.block:1:19: error: 'tokens' must be a positive integer, got true",
                "test.block:1:31: error: 'dim' must be at most 2147483647, got 1e+20"});
}

TEST(SemaErrors, UnknownSize) {
  expectErrors("block b (tokens = 4, dim = 8, batch = 2) {\n  x = gelu(x)\n}\n",
               {"test.block:1:31: error: unknown setting 'batch': a block has 'tokens', 'dim' "
                "and 'precision'"});
}

TEST(SemaErrors, SizeGivenTwice) {
  expectErrors("block b (tokens = 4, dim = 8, dim = 8) {\n  x = gelu(x)\n}\n",
               {"test.block:1:31: error: 'dim' is given twice"});
}

TEST(SemaErrors, LinearNeedsSizes) {
  expectErrors(inBlock("  fc = linear(bias = false)\n"
                       "  x = fc(x)\n"),
               {"test.block:2:3: error: linear layer 'fc' needs its sizes 'IN -> OUT'"});
}

TEST(SemaErrors, LinearSizesArePositiveIntegers) {
  expectErrors(inBlock("  fc = linear(0 -> 8.5)\n"
                       "  x = fc(x)\n"),
               {"test.block:2:15: error: in-features must be a positive integer, got 0",
                "test.block:2:20: error: out-features must be a positive integer, got 8.5"});
}

TEST(SemaErrors, LayerAppliedToTwoWidths) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  up = linear(8 -> 16)\n"
                       "  down = linear(16 -> 8)\n"
                       "  x = down(n(up(n(x))))\n"),
               {"test.block:5:12: error: layer 'n' is applied to 16 features here but to "
                "8 before",
                "test.block:5:17: note: first applied here"});
}

TEST(SemaErrors, AddMismatch) {
  expectErrors(inBlock("  up = linear(8 -> 16)\n"
                       "  x = x + up(x)\n"),
               {"test.block:3:9: error: feature size mismatch at '+': 8 vs 16"});
}

TEST(SemaErrors, AddNumber) {
  expectErrors(inBlock("  x = x + 1\n"),
               {"test.block:2:9: error: both sides of '+' must be tensors, not numbers"});
}

TEST(SemaErrors, MultiplyMismatch) {
  expectErrors(inBlock("  up = linear(8 -> 16)\n"
                       "  h = up(x) * x\n"
                       "  x = gelu(x)\n"),
               {"test.block:3:13: error: feature size mismatch at '*': 16 vs 8"});
}

TEST(SemaErrors, MultiplyNumbers) {
  expectErrors(inBlock("  x = x * (2 * 3)\n"),
               {"test.block:2:14: error: '*' of two numbers: write their product as one "
                "number"});
}

TEST(SemaErrors, AttentionHeadsMustDivide) {
  expectErrors(inBlock("  attn = attention(heads = 3)\n"
                       "  x = x + attn(x)\n"),
               {"test.block:3:11: error: attention layer 'attn' has 3 heads, which do not "
                "divide its 8 features"});
}

TEST(SemaErrors, AttentionNeedsHeads) {
  expectErrors(inBlock("  attn = attention(qkv_bias = false)\n"
                       "  x = x + attn(x)\n"),
               {"test.block:2:3: error: attention layer 'attn' needs 'heads = H'"});
}

TEST(SemaErrors, MHAPackedWidth) {
  expectErrors(inBlock("  x = mha(x, heads = 2)\n"),
               {"test.block:2:7: error: mha: the packed qkv tensor has 8 features, which "
                "is not a multiple of 3"});
}

TEST(SemaErrors, MHASeparateWidths) {
  expectErrors(inBlock("  up = linear(8 -> 16)\n"
                       "  x = mha(x, up(x), x, heads = 2)\n"),
               {"test.block:3:7: error: mha: q, k and v have different features (8, 16, "
                "8)"});
}

TEST(SemaErrors, MHANeedsHeads) {
  expectErrors(inBlock("  x = mha(x, x, x)\n"),
               {"test.block:2:7: error: mha needs 'heads = H'"});
}

TEST(SemaErrors, MHAHeadsMustDivide) {
  expectErrors(inBlock("  x = mha(x, x, x, heads = 3)\n"),
               {"test.block:2:7: error: mha: 3 heads do not divide 8 features"});
}

// PyTorch's MultiheadAttention naming is checked as timm's attention is.
TEST(SemaErrors, MultiheadAttentionHeadsMustDivide) {
  expectErrors(inBlock("  self_attn = multihead_attention(heads = 3, bias = false)\n"
                       "  x = x + self_attn(x)\n"),
               {"test.block:3:11: error: attention layer 'self_attn' has 3 heads, which do not "
                "divide its 8 features"});
}

TEST(SemaErrors, MHAArity) {
  expectErrors(inBlock("  x = mha(x, x, heads = 2)\n"),
               {"test.block:2:7: error: mha takes one packed qkv tensor or three tensors "
                "q, k, v"});
}

TEST(SemaErrors, BuiltinArity) {
  expectErrors(inBlock("  x = relu(x, x)\n"),
               {"test.block:2:7: error: 'relu' takes one tensor argument"});
}

TEST(SemaErrors, ResultWidth) {
  expectErrors(inBlock("  up = linear(8 -> 16)\n"
                       "  x = up(x)\n"),
               {"test.block:3:3: error: the block's result 'x' has 16 features, but dim = "
                "8"});
}

TEST(SemaErrors, XNeverAssigned) {
  expectErrors(inBlock("  h = gelu(x)\n"),
               {"test.block:1:7: error: block 'b' never assigns 'x'"});
}

TEST(SemaErrors, IdentityBlock) {
  // Through another variable too: the result is still the input.
  expectErrors(inBlock("  y = x\n  x = y\n"),
               {"test.block:3:3: error: block 'b' computes nothing: its result 'x' is its input"});
}

TEST(SemaErrors, TwoLayersDeclareOneTensor) {
  expectErrors(inBlock("  attn = attention(heads = 2)\n"
                       "  attn.qkv = linear(8 -> 8)\n"
                       "  x = x + attn(x)\n"
                       "  x = x + attn.qkv(x)\n"),
               {"test.block:3:3: error: layer 'attn.qkv' declares the tensor 'attn.qkv.weight', "
                "which layer 'attn' also declares",
                "test.block:2:3: note: layer 'attn' declared here"});
}

TEST(SemaErrors, ReportsEveryError) {
  expectErrors(inBlock("  n = layernorm()\n"
                       "  h = gelu(y)\n"
                       "  x = x + z\n"),
               {"test.block:3:12: error: use of undefined variable 'y'",
                "test.block:4:11: error: use of undefined variable 'z'",
                "test.block:2:3: error: layer 'n' is declared but never used"});
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// A block of 5 tokens and 8 features (lines 1-4), then a model around `body` whose first
/// line is line 6: an image [B, 3, 8, 8], patches of 4, a class token.
std::string inModel(llvm::StringRef body) {
  return "block b (tokens = 5, dim = 8) {\n  n = layernorm()\n  x = x + n(x)\n}\n"
         "model m {\n" +
         body.str() + "}\n";
}

const char *kModelLayers = "  input img: [B, 3, 8, 8]\n"                              // 6
                           "  pe = conv2d(3 -> 8, kernel = 4, stride = 4)\n"          // 7
                           "  cls = parameter([1, 1, 8])\n"                           // 8
                           "  pos = parameter([1, 5, 8])\n"                           // 9
                           "  blocks.{0..1} = b\n"                                    // 10
                           "  head = linear(8 -> 3)\n";                               // 11

TEST(Models, ParseCheckAndDump) {
  Compiled result = compile(inModel(std::string(kModelLayers) +
                                    "  x = blocks(concat(cls, pe(img)) + pos)\n"
                                    "  output feats = mean(x, from = 1)\n"
                                    "  output logits = head(take(x, 0))\n"));
  ASSERT_TRUE(result.ok) << result.diagnostics;
  const BlockAST &model = *result.block;
  EXPECT_TRUE(model.isModel);
  ASSERT_EQ(model.instances.size(), 1u);
  EXPECT_EQ(model.instances[0].names(), (std::vector<std::string>{"blocks.0", "blocks.1"}));
  EXPECT_EQ(model.instances[0].block, result.spec->blocks[0].get());
  std::string text;
  llvm::raw_string_ostream os(text);
  dump(model, os);
  EXPECT_EQ(text, "model m\n"
                  "  input img: [B, 3, 8, 8]\n"
                  "  pe = conv2d(3 -> 8, kernel = 4, stride = 4, bias = true):3\n"
                  "  cls = parameter([1, 1, 8]):0\n"
                  "  pos = parameter([1, 5, 8]):0\n"
                  "  head = linear(8 -> 3, bias = true):8\n"
                  "  blocks.{0..1} = b\n"
                  "  x = blocks((concat(cls:8, pe(img:3):8):8 + pos:8):8):8\n"
                  "  output feats = mean(x:8, from = 1):8\n"
                  "  output logits = head(take(x:8, 0):8):3\n");
}

TEST(Models, PrecisionOfTheModelTheBlockAndTheLayer) {
  Compiled result = compile(
      "block b (tokens = 5, dim = 8, precision = bf16) {\n  fc = linear(8 -> 8)\n"
      "  x = x + fc(x)\n}\n"
      "model m (precision = int8) {\n" +
      std::string(kModelLayers) +
      "  tail = linear(3 -> 3, precision = fp32)\n"
      "  x = blocks(concat(cls, pe(img)) + pos)\n"
      "  output logits = tail(head(take(x, 0)))\n}\n");
  ASSERT_TRUE(result.ok) << result.diagnostics;
  const BlockAST &model = *result.block;
  EXPECT_EQ(model.precision, "int8");
  EXPECT_EQ(result.spec->blocks[0]->precision, "bf16");
  EXPECT_EQ(result.spec->blocks[0]->layers[0]->precision, ""); // the block's
  EXPECT_EQ(model.layers[0]->precision, "");                   // pe: the model's
  EXPECT_EQ(model.layers.back()->precision, "fp32");
  std::string text;
  llvm::raw_string_ostream os(text);
  dump(model, os);
  EXPECT_TRUE(llvm::StringRef(text).starts_with("model m (precision = int8)\n")) << text;
  EXPECT_TRUE(llvm::StringRef(text).contains(
      "  tail = linear(3 -> 3, bias = true, precision = fp32):3\n")) << text;
}

TEST(SemaErrors, PrecisionIsAKnownFormatWhereLinearsAre) {
  expectErrors(inBlock("  fc = linear(8 -> 8, precision = int4)\n"
                       "  x = fc(x)\n"),
               {"test.block:2:35: error: 'precision' must be fp32, bf16 or int8, got int4"});
  expectErrors(inBlock("  n = layernorm(precision = bf16)\n"
                       "  x = n(x)\n"),
               {"test.block:2:17: error: unknown argument 'precision' to layernorm (it takes "
                "eps)"});
  expectErrors("block b (tokens = 4, dim = 8, precision = 8) {\n  x = gelu(x)\n}\n",
               {"test.block:1:43: error: 'precision' must be fp32, bf16 or int8, got 8"});
  expectErrors("block b (tokens = 5, dim = 8) {\n  x = gelu(x)\n}\n"
               "model m (tokens = 3) {\n  input t: [B, 5, 8]\n  blocks.{0..1} = b\n"
               "  output y = blocks(t)\n}\n",
               {"test.block:4:10: error: unknown setting 'tokens': a model has 'precision'"});
  expectErrors("model m (precision int8) {\n}\n",
               {"test.block:1:10: error: expected a setting 'NAME = VALUE', found 'precision'"});
}

TEST(Models, ImageNotDivisibleByThePatch) {
  expectErrors(inModel("  input img: [B, 3, 8, 10]\n"
                       "  pe = conv2d(3 -> 8, kernel = 4, stride = 4)\n"
                       "  output y = mean(pe(img))\n"),
               {"test.block:8:19: error: the image's width 10 is not divisible by the patch "
                "size 4 of conv2d layer 'pe'"});
}

TEST(Models, PositionTableMustMatchTheTokens) {
  expectErrors(inModel("  input img: [B, 3, 8, 8]\n"
                       "  pe = conv2d(3 -> 8, kernel = 4, stride = 4)\n"
                       "  pos = parameter([1, 5, 8])\n"
                       "  output y = mean(pe(img) + pos)\n"),
               {"test.block:9:27: error: '+' of tokens [B, 4, 8] and a parameter [1, 5, 8]: "
                "the parameter must be [1, 4, 8], one row per token"});
}

TEST(Models, BlockAppliedToTheWrongShape) {
  expectErrors(inModel("  input img: [B, 3, 8, 8]\n"
                       "  pe = conv2d(3 -> 8, kernel = 4, stride = 4)\n"
                       "  blocks.{0..1} = b\n"
                       "  output y = mean(blocks(pe(img)))\n"),
               {"test.block:9:19: error: block 'b' (instance 'blocks.0') takes [B, 5, 8], but "
                "is applied to [B, 4, 8]",
                "test.block:8:3: note: instances declared here"});
}

TEST(Models, EmptyAndOverlappingInstanceRanges) {
  expectErrors(inModel("  input t: [B, 5, 8]\n"
                       "  blocks.{3..1} = b\n"
                       "  more.{0..2} = b\n"
                       "  more.{2..4} = b\n"
                       "  output y = more(t)\n"),
               {"test.block:7:10: error: the instance range 3..1 is empty",
                "test.block:9:3: error: instances 'more' overlap with an earlier declaration of "
                "the same names",
                "test.block:8:3: note: declared here"});
}

// Indices too large for an integer are an error, not a conversion out of range (undefined
// behavior that UBSan found in the sanitized build).
TEST(Models, HugeInstanceRangeIndices) {
  expectErrors(inModel("  input t: [B, 5, 8]\n"
                       "  blocks.{0..1e20} = b\n"
                       "  output y = blocks(t)\n"),
               {"test.block:7:10: error: the indices of an instance range are integers from 0"});
}

// A range of a hundred million instances is refused before anything is made of it (it ran
// the compiler out of memory).
TEST(Models, TooManyInstances) {
  expectErrors(inModel("  input t: [B, 5, 8]\n"
                       "  blocks.{0..9} = b\n"
                       "  more.{0..99999999} = b\n"
                       "  output y = more(blocks(t))\n"),
               {"test.block:8:8: error: a model has at most 10000 block instances; this "
                "declaration makes 100000010"});
}

TEST(Models, UnknownBlockAndUnusedInstances) {
  expectErrors(inModel("  input t: [B, 5, 8]\n"
                       "  a = bb\n"
                       "  c.{0..1} = b\n"
                       "  output y = mean(t)\n"),
               {"test.block:7:7: error: use of undefined variable 'bb'; did you mean 'b'?",
                "test.block:8:3: error: block instances 'c' are declared but never used"});
}

TEST(Models, InputsAndOutputs) {
  expectErrors(inModel("  input t: [N, 5, 8]\n"
                       "  input u: [B, 1, 2, 3, 4]\n"
                       "  output t = t\n"),
               {"test.block:6:13: error: an input's shape starts with 'B', the batch chosen at "
                "run time, not 'N'",
                "test.block:7:9: error: input 'u' must be [B, C] (pooled), [B, N, C] (tokens) or "
                "[B, C, H, W] (an image)",
                "test.block:8:10: error: output 't' is an input of the model, unchanged"});
}

TEST(Models, PoolingAndConcatArguments) {
  expectErrors(inModel(std::string(kModelLayers) +
                       "  x = blocks(concat(pe(img), cls) + pos)\n"
                       "  output a = take(blocks(concat(cls, pe(img)) + pos), 5)\n"
                       "  output b2 = mean(blocks(concat(cls, pe(img)) + pos), from = 5)\n"
                       "  output c = head(pos)\n"),
               {"test.block:12:30: error: concat's last argument must be tokens [B, N, C], not "
                "[1, 1, 8]",
                "test.block:13:55: error: take: token 5 is not one of the 5 tokens",
                "test.block:14:15: error: mean: 'from = 5' leaves none of the 5 tokens",
                "test.block:15:14: error: layer 'head' is applied to [1, 5, 8], a parameter: "
                "layers apply to tensors [B, ...]"});
}

TEST(Models, Conv2dNeedsAnImageAndKernelEqualToStride) {
  expectErrors(inModel("  input t: [B, 5, 8]\n"
                       "  pe = conv2d(3 -> 8, kernel = 4, stride = 2)\n"
                       "  blocks.{0..0} = b\n"
                       "  output y = blocks(pe(t))\n"),
               {"test.block:9:21: error: conv2d layer 'pe' takes an image [B, C, H, W], not "
                "[B, 5, 8]"});
  expectErrors(inModel("  input img: [B, 3, 8, 8]\n"
                       "  pe = conv2d(3 -> 8, kernel = 4, stride = 2)\n"
                       "  output y = mean(pe(img))\n"),
               {"test.block:7:3: error: conv2d layer 'pe' has kernel = 4 and stride = 2: only a "
                "patch embedding, kernel = stride, is supported"});
}

TEST(Models, ASecondBlockNeedsAModel) {
  expectErrors("block a (tokens = 2, dim = 4) {\n  x = gelu(x)\n}\n"
               "block c (tokens = 2, dim = 4) {\n  x = relu(x)\n}\n",
               {"test.block:4:7: error: a file without a model holds one block: add a model "
                "that uses the blocks, 'model NAME { ... }'"});
}

} // namespace
