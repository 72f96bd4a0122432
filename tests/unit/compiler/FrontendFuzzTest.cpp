//===- FrontendFuzzTest.cpp - mutated specs never crash the compiler ------===//
//
// Each example spec, mutated with fixed seeds (characters, tokens, lines, numbers, names,
// brackets, non-ASCII and NUL bytes), goes through the parser and Sema and, when they
// accept it, MLIRGen and the pass pipeline (not the Halide lowering: too slow). Whatever
// the input, the compiler must not crash; a rejected spec gets a located error, an
// accepted one a module that verifies before and after every pass and that the lowering
// can take. A crashing case is printed with the stack dump.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include "CompilerTestUtil.h"
#include "FuzzUtil.h"
#include "SpecCheck.h"

#include "blockc/Frontend/Lexer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/PrettyStackTrace.h"

#include <gtest/gtest.h>

using namespace blockc;
using namespace blockc::test;

namespace {

constexpr uint32_t kSeed = 20240613;
constexpr uint32_t kCasesPerExample = 1000;
/// Failing cases reported per example before the test stops, to keep the output readable.
constexpr int kMaxReported = 10;

/// Bytes a character edit puts in: the language's punctuation, digits and a name.
const std::string kAlphabet = "(){}=,+*->.#\n 0123456789ex_";

/// Tokens an edit inserts or substitutes: the language's keywords, sizes, layer kinds,
/// functions, arguments and punctuation.
const std::vector<std::string> kTokens = {
    "block",     "tokens",     "dim",     "x",         "h",         "(",    ")",
    "{",         "}",          ",",       "=",         "+",         "*",    "->",
    "true",      "false",      "layernorm", "rmsnorm", "batchnorm", "linear",
    "attention", "layerscale", "gelu",    "gelu_tanh", "relu",      "silu", "mha",
    "heads",     "eps",        "bias",    "qkv_bias",  "proj_bias", "mlp.fc1"};

/// Numbers an edit substitutes: degenerate, out of range, or at a limit of the sizes.
const std::vector<std::string> kNumbers = {
    "0",   "-1",  "1e309", "99999999999999999999", "1",          "2",          "3",
    "4",   "8",   "0.5",   "1e-400",               "2147483647", "2147483648", "4294967296",
    "1e20"};

/// Byte sequences outside the language: NUL, stray UTF-8 bytes, a zero-width space, a BOM.
const std::vector<std::string> kForeignBytes = {std::string(1, '\0'), "\xC3\xA9", "\xFF",
                                                "\x80", "\xE2\x80\x8B", "\xEF\xBB\xBF"};

/// Where a token of the source is.
struct Span {
  size_t begin, size;
  Token kind;
};

/// The tokens of `text` as the compiler's lexer splits it, up to the first malformed one.
std::vector<Span> tokensOf(const std::string &text) {
  std::vector<Span> spans;
  for (Lexer lexer(text); lexer.getCurToken() != tok_eof; lexer.getNextToken()) {
    spans.push_back({static_cast<size_t>(lexer.getText().data() - text.data()),
                     lexer.getText().size(), lexer.getCurToken()});
    if (lexer.getCurToken() == tok_error)
      break;
  }
  return spans;
}

/// Applies one random edit to `text`.
void mutate(fuzz::Random &random, std::string &text) {
  std::vector<Span> tokens = tokensOf(text);
  auto tokenOf = [&](auto matches) -> const Span * {
    std::vector<const Span *> found;
    for (const Span &span : tokens)
      if (matches(span))
        found.push_back(&span);
    return found.empty() ? nullptr : random.pick(found);
  };
  const Span *token = tokenOf([](const Span &) { return true; });
  auto newToken = [&] {
    return random.oneIn(2) || !token ? random.pick(kTokens)
                                     : text.substr(token->begin, token->size);
  };
  auto replace = [&](const Span *span, const std::string &with) {
    if (span)
      text.replace(span->begin, span->size, with);
  };
  const size_t at = random.below(text.size() + 1);
  switch (random.below(11)) {
  case 0:
    fuzz::mutateBytes(random, text, kAlphabet);
    break;
  case 1: // delete a token; of a name, this leaves an empty identifier
    replace(token, "");
    break;
  case 2: {
    std::string inserted = " " + newToken() + " ";
    const Span *before = tokenOf([](const Span &) { return true; });
    text.insert(before ? before->begin : text.size(), inserted);
    break;
  }
  case 3:
    if (token)
      text.insert(token->begin, text.substr(token->begin, token->size) + " ");
    break;
  case 4:
    replace(token, newToken());
    break;
  case 5: { // swap two lines, or repeat one (a statement applies its layers again)
    llvm::SmallVector<llvm::StringRef> lines;
    llvm::StringRef(text).split(lines, '\n');
    llvm::StringRef &line = lines[random.below(lines.size())];
    if (random.oneIn(2))
      std::swap(line, lines[random.below(lines.size())]);
    else
      lines.insert(&line, line);
    text = llvm::join(lines, "\n");
    break;
  }
  case 6:
    text.resize(at);
    break;
  case 7:
    replace(tokenOf([](const Span &s) { return s.kind == tok_number; }), random.pick(kNumbers));
    break;
  case 8: { // rename a name to a huge one everywhere, misspelling the picked use half the time
    const Span *name = tokenOf([](const Span &s) { return s.kind == tok_name; });
    if (!name)
      break;
    const std::string old = text.substr(name->begin, name->size);
    const std::string huge(1 << 16, 'a');
    const bool misspell = random.oneIn(2);
    for (const Span &span : llvm::reverse(tokens)) // from the end: offsets stay valid
      if (span.kind == tok_name && text.compare(span.begin, span.size, old) == 0)
        text.replace(span.begin, span.size, huge + (&span == name && misspell ? "_" : ""));
    break;
  }
  case 9: // unbalance the brackets
    if (random.oneIn(2))
      text.insert(at, 1, "(){}"[random.below(4)]);
    else
      replace(tokenOf([](const Span &s) {
                return s.kind == tok_lparen || s.kind == tok_rparen || s.kind == tok_lbrace ||
                       s.kind == tok_rbrace;
              }),
              "");
    break;
  default:
    text.insert(at, random.pick(kForeignBytes));
    break;
  }
}

/// Printed with LLVM's stack dump if a case crashes the compiler, so that it can be
/// reproduced: the gtest failure messages never come.
class CaseTrace : public llvm::PrettyStackTraceEntry {
public:
  explicit CaseTrace(const std::string &description) : description(description) {}
  void print(llvm::raw_ostream &os) const override { os << description << "\n"; }

private:
  const std::string &description;
};

/// The example specs, blocks and models, as paths below examples/ without `.block`.
std::vector<std::string> exampleNames() {
  std::vector<std::string> names;
  for (const char *dir : {"", "models/"}) {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(BLOCKC_EXAMPLES_DIR "/" + std::string(dir), ec), end;
         it != end && !ec; it.increment(ec))
      if (llvm::sys::path::extension(it->path()) == ".block")
        names.push_back(dir + llvm::sys::path::stem(it->path()).str());
  }
  llvm::sort(names);
  return names;
}

class FrontendFuzz : public ::testing::TestWithParam<std::string> {};

TEST_P(FrontendFuzz, MutatedExample) {
  const std::string path = BLOCKC_EXAMPLES_DIR "/" + GetParam() + ".block";
  auto file = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(file)) << path;
  const std::string example = (*file)->getBuffer().str();
  llvm::EnablePrettyStackTrace();
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  ASSERT_EQ(compileThroughPasses(context, example).problem, "");

  uint32_t accepted = 0;
  int reported = 0;
  for (uint32_t i = 0; i < kCasesPerExample && reported < kMaxReported; ++i) {
    const uint32_t seed = kSeed + i;
    fuzz::Random random(seed);
    std::string source = example;
    for (size_t edits = 1 + random.below(3); edits; --edits)
      mutate(random, source);
    const std::string description =
        path + " mutated with seed " + std::to_string(seed) + ":\n" + source;
    CaseTrace trace(description);
    Outcome outcome = compileThroughPasses(context, source);
    accepted += outcome.accepted;
    if (!outcome.problem.empty()) {
      ADD_FAILURE() << outcome.problem << "\nfor " << description;
      ++reported;
    }
  }
  // Enough mutants must get through the front end for MLIRGen and the passes to be fuzzed.
  EXPECT_GE(accepted, kCasesPerExample / 30);
}

INSTANTIATE_TEST_SUITE_P(Examples, FrontendFuzz, ::testing::ValuesIn(exampleNames()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           std::string name = info.param; // a test name has no '/'
                           std::replace(name.begin(), name.end(), '/', '_');
                           return name;
                         });

} // namespace
