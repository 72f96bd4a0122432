//===- Sema.cpp - Semantic checks of the block spec language --------------===//

#include "blockc/Frontend/Sema.h"

#include "SemaImpl.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace blockc;
using namespace blockc::sema;
using llvm::cast;
using llvm::formatv;

namespace {

/// Sizes are kept below 2^31 so that products of a few of them (weight shapes,
/// buffer sizes) cannot overflow downstream.
constexpr int64_t kMaxSize = 2147483647;

constexpr Builtin kBuiltins[] = {Builtin::Gelu, Builtin::GeluTanh, Builtin::Relu,
                                 Builtin::Silu, Builtin::MHA};

std::string spellNumber(double value) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", value);
  return text;
}

std::string spellValue(const Argument &arg) {
  switch (arg.kind) {
  case Argument::Kind::Number:
    return spellNumber(arg.number);
  case Argument::Kind::Bool:
    return arg.boolean ? "true" : "false";
  case Argument::Kind::Name:
    return arg.name;
  case Argument::Kind::Arrow:
    return spellNumber(arg.number) + " -> " + spellNumber(arg.out);
  }
  llvm_unreachable("unknown argument kind");
}

/// Names longer than this get no suggestion: the edit distance takes time quadratic in
/// the lengths, and a huge name must not stall the compiler (typos are in short names).
constexpr size_t kMaxSuggestedLength = 256;

/// "; did you mean 'X'?" for the candidate closest to `name`, if one is close: a
/// third of its letters may differ (so none of a one-letter name).
std::string suggest(llvm::StringRef name, llvm::ArrayRef<llvm::StringRef> candidates) {
  // Candidates far longer than `name` are skipped by edit_distance's length check.
  if (name.size() > kMaxSuggestedLength)
    return "";
  unsigned best = (name.size() + 1) / 3 + 1;
  llvm::StringRef closest;
  for (llvm::StringRef candidate : candidates) {
    unsigned distance = name.edit_distance(candidate, /*AllowReplacements=*/true, best);
    if (distance < best) {
      best = distance;
      closest = candidate;
    }
  }
  return closest.empty() ? "" : "; did you mean '" + closest.str() + "'?";
}

} // namespace


void Sema::error(const Location &loc, const llvm::Twine &message) {
  // The AST keeps line and column; the buffer turns them back into a pointer so the
  // message shows the source line and a caret.
  sourceMgr.PrintMessage(
      sourceMgr.FindLocForLineAndColumn(sourceMgr.getMainFileID(), loc.line, loc.col),
      llvm::SourceMgr::DK_Error, message);
  failed = true;
}

void Sema::note(const Location &loc, const llvm::Twine &message) {
  sourceMgr.PrintMessage(
      sourceMgr.FindLocForLineAndColumn(sourceMgr.getMainFileID(), loc.line, loc.col),
      llvm::SourceMgr::DK_Note, message);
}

std::optional<int64_t> Sema::getSize(double value, const Location &loc,
                                     const llvm::Twine &what) {
  if (value < 1 || value != std::floor(value)) {
    error(loc, what + " must be a positive integer, got " + spellNumber(value));
    return std::nullopt;
  }
  if (value > kMaxSize) {
    error(loc, what + " must be at most " + llvm::Twine(kMaxSize) + ", got " +
                   spellNumber(value));
    return std::nullopt;
  }
  return static_cast<int64_t>(value);
}

std::optional<int64_t> Sema::getSize(const Argument &arg, const llvm::Twine &what) {
  if (arg.kind == Argument::Kind::Number)
    return getSize(arg.number, arg.valueLoc, what);
  error(arg.valueLoc, what + " must be a positive integer, got " + spellValue(arg));
  return std::nullopt;
}

/// Halide indexes a buffer with 32-bit integers: a tensor of rows x cols elements (a weight,
/// or one sample's activation) past kMaxSize would overflow in the compiled kernels.
bool Sema::withinIndexing(const Location &loc, const llvm::Twine &what, int64_t rows,
                          int64_t cols) {
  if (rows == 0 || cols == 0 || rows <= kMaxSize / cols)
    return true;
  error(loc, what + " has " + llvm::Twine(rows) + " x " + llvm::Twine(cols) +
                 " elements, more than the " + llvm::Twine(kMaxSize) +
                 " a kernel can index (32-bit)");
  return false;
}

bool Sema::getBool(const Argument &arg, bool &field) {
  if (arg.kind != Argument::Kind::Bool) {
    error(arg.valueLoc, "'" + arg.key + "' must be true or false, got " + spellValue(arg));
    return false;
  }
  field = arg.boolean;
  return true;
}

bool Sema::getNumber(const Argument &arg, double &field) {
  if (arg.kind != Argument::Kind::Number) {
    error(arg.valueLoc, "'" + arg.key + "' must be a number, got " + spellValue(arg));
    return false;
  }
  field = arg.number;
  return true;
}

bool Sema::check() {
  checkSizes();
  for (auto &layer : block.layers)
    checkLayer(*layer);
  checkStateDictKeys();

  variables["x"] = block.dim ? Value(block.dim) : std::nullopt;
  const Assignment *result = nullptr;
  // Variables still holding the block's input, unchanged: an identity block is rejected.
  llvm::StringSet<> inputAliases = {"x"};
  for (Assignment &stmt : block.statements) {
    checkStatement(stmt);
    if (stmt.target == "x")
      result = &stmt;
    auto *var = llvm::dyn_cast<VarExprAST>(stmt.value.get());
    if (var && inputAliases.contains(var->name))
      inputAliases.insert(stmt.target);
    else
      inputAliases.erase(stmt.target);
  }

  for (auto &layer : block.layers)
    if (!usedLayers.count(layer.get()) && !invalidLayers.count(layer.get()))
      error(layer->loc, "layer '" + layer->name + "' is declared but never used");

  // An identity block is almost surely a mistake, and it has nothing to compile.
  if (!result) {
    error(block.loc, "block '" + block.name + "' never assigns 'x'");
  } else if (inputAliases.contains("x")) {
    error(result->loc, "block '" + block.name + "' computes nothing: its result 'x' is its input");
  } else if (Value x = variables["x"]; x && block.dim && *x != block.dim) {
    error(result->loc, formatv("the block's result 'x' has {0} features, but dim = {1}",
                               *x, block.dim));
  }

  // A value no statement reads is dead code, most likely a mistake, and the lowering has
  // no kernel for it (a kernel without outputs). Checked only without other errors, as it
  // often follows from one (a misspelt use).
  if (!failed)
    for (const Assignment &stmt : block.statements)
      if (&stmt != result && !read.count(&stmt))
        error(stmt.loc, "the value assigned to '" + stmt.target + "' is never used");
  return !failed;
}

void Sema::checkSizes() {
  llvm::StringSet<> given;
  for (const Argument &size : block.sizes) {
    int64_t *field = size.key == "tokens" ? &block.tokens
                     : size.key == "dim"  ? &block.dim
                                          : nullptr;
    if (!field) {
      error(size.loc, "unknown size '" + size.key + "': a block has 'tokens' and 'dim'");
      continue;
    }
    if (!given.insert(size.key).second) {
      error(size.loc, "size '" + size.key + "' is given twice");
      continue;
    }
    if (std::optional<int64_t> value = getSize(size, "'" + size.key + "'"))
      *field = *value;
  }
  for (llvm::StringRef name : {"tokens", "dim"})
    if (!given.count(name))
      error(block.loc, "block '" + block.name + "' does not give its size '" + name + "'");
  if (block.tokens && block.dim)
    withinIndexing(block.loc, "a sample of block '" + block.name + "'", block.tokens,
                   block.dim);
}


void Sema::checkStatement(Assignment &stmt) {
  // Only layers have dotted names, so this statement was meant as a declaration.
  if (llvm::StringRef(stmt.target).contains('.')) {
    if (auto *call = llvm::dyn_cast<CallExprAST>(stmt.value.get())) {
      llvm::SmallVector<llvm::StringRef> kinds;
      for (const LayerKindInfo &info : getLayerKinds())
        kinds.push_back(info.name);
      error(call->loc,
            "unknown layer kind '" + call->callee + "'" + suggest(call->callee, kinds));
    } else {
      error(stmt.loc, "'" + stmt.target +
                          "' is not a variable name: a dotted name declares a layer, "
                          "'NAME = KIND(...)'");
    }
    return;
  }
  if (layers.count(stmt.target))
    error(stmt.loc, "'" + stmt.target + "' is a layer; it cannot be assigned");

  Value value = checkExpr(stmt.value, /*isStatementValue=*/true);
  if (value == 0) {
    error(stmt.loc, "'" + stmt.target + "' must hold a tensor, not a number");
    value = std::nullopt;
  }
  variables[stmt.target] = value;
  assignedBy[stmt.target] = &stmt;
}

Value Sema::checkExpr(std::unique_ptr<ExprAST> &expr, bool isStatementValue) {
  Value value;
  switch (expr->getKind()) {
  case ExprAST::Kind::Number:
    value = 0;
    break;
  case ExprAST::Kind::Var:
    value = checkVar(cast<VarExprAST>(*expr));
    break;
  case ExprAST::Kind::Binary:
    value = checkBinary(cast<BinaryExprAST>(*expr));
    break;
  case ExprAST::Kind::Call:
    value = checkCall(expr, isStatementValue);
    break;
  case ExprAST::Kind::LayerCall:
  case ExprAST::Kind::BuiltinCall:
    llvm_unreachable("the parser leaves calls unresolved; Sema resolves each once");
  }
  if (value)
    expr->features = *value;
  return value;
}

Value Sema::checkVar(const VarExprAST &var) {
  auto it = variables.find(var.name);
  if (it != variables.end()) {
    if (const Assignment *stmt = assignedBy.lookup(var.name))
      read.insert(stmt);
    return it->second;
  }
  if (layers.count(var.name)) {
    error(var.loc, "'" + var.name + "' is a layer: apply it as '" + var.name + "(...)'");
    return std::nullopt;
  }
  llvm::SmallVector<llvm::StringRef> names;
  for (const auto &entry : variables)
    names.push_back(entry.getKey());
  error(var.loc, "use of undefined variable '" + var.name + "'" + suggest(var.name, names));
  return std::nullopt;
}

Value Sema::checkBinary(BinaryExprAST &binary) {
  Value lhs = checkExpr(binary.lhs, false);
  Value rhs = checkExpr(binary.rhs, false);
  if (!lhs || !rhs)
    return std::nullopt;
  if (binary.op == '+' && (*lhs == 0 || *rhs == 0)) {
    error(binary.loc, "both sides of '+' must be tensors, not numbers");
    return std::nullopt;
  }
  if (*lhs == 0 && *rhs == 0) {
    error(binary.loc, "'*' of two numbers: write their product as one number");
    return std::nullopt;
  }
  if (*lhs == 0 || *rhs == 0) // scaling a tensor by a number
    return std::max(*lhs, *rhs);
  if (*lhs != *rhs) {
    error(binary.loc, formatv("feature size mismatch at '{0}': {1} vs {2}", std::string(1, binary.op),
                              *lhs, *rhs));
    return std::nullopt;
  }
  return lhs;
}

/// Resolves the call in `expr` to a layer or a builtin, replacing the node.
Value Sema::checkCall(std::unique_ptr<ExprAST> &expr, bool isStatementValue) {
  auto &call = cast<CallExprAST>(*expr);
  // The arguments' own errors stand whatever the callee turns out to be.
  llvm::SmallVector<Value> args;
  for (auto &arg : call.args)
    args.push_back(checkExpr(arg, false));

  if (std::optional<Builtin> builtin = lookupBuiltin(call.callee))
    return checkBuiltin(expr, *builtin, args);
  if (LayerDecl *layer = layers.lookup(call.callee)) {
    if (call.args.size() != 1 || !call.options.empty()) {
      error(call.loc, "layer '" + call.callee + "' takes one tensor argument");
      usedLayers.insert(layer);
      return std::nullopt;
    }
    return checkLayerCall(expr, *layer, args.front());
  }
  if (lookupLayerKind(call.callee)) {
    error(call.loc, "'" + call.callee + "' is a layer kind: declare a layer 'NAME = " +
                        call.callee + "(...)' and apply it as 'NAME(...)'");
    return std::nullopt;
  }

  llvm::SmallVector<llvm::StringRef> names;
  for (Builtin b : kBuiltins)
    names.push_back(getBuiltinName(b));
  for (const auto &entry : layers)
    names.push_back(entry.getKey());
  // A statement's whole value may have been meant as a layer declaration.
  if (isStatementValue)
    for (const LayerKindInfo &info : getLayerKinds())
      names.push_back(info.name);
  error(call.loc, (isStatementValue ? "unknown layer kind or function '"
                                    : "unknown function '") +
                      call.callee + "'" + suggest(call.callee, names));
  return std::nullopt;
}


Value Sema::checkBuiltin(std::unique_ptr<ExprAST> &expr, Builtin builtin,
                         llvm::ArrayRef<Value> args) {
  auto &call = cast<CallExprAST>(*expr);
  bool isMHA = builtin == Builtin::MHA;
  bool ok = true;

  std::optional<int64_t> heads;
  bool headsGiven = false;
  for (const Argument &option : call.options) {
    if (!isMHA || option.kind == Argument::Kind::Arrow || option.key != "heads") {
      error(option.loc, "unknown argument '" + spellKey(option) + "' to " + call.callee +
                            (isMHA ? " (it takes heads)" : " (it takes none)"));
      ok = false;
    } else if (headsGiven) {
      error(option.loc, "'heads' is given twice");
      ok = false;
    } else {
      headsGiven = true;
      heads = getSize(option, "'heads'");
      ok &= heads.has_value();
    }
  }
  if (isMHA ? args.size() != 1 && args.size() != 3 : args.size() != 1) {
    error(call.loc, isMHA ? "mha takes one packed qkv tensor or three tensors q, k, v"
                          : "'" + call.callee + "' takes one tensor argument");
    return std::nullopt;
  }
  if (isMHA && !headsGiven) {
    error(call.loc, "mha needs 'heads = H'");
    ok = false;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == 0) {
      error(call.args[i]->loc, "'" + call.callee + "' takes tensors, not numbers");
      ok = false;
    }
    ok &= args[i].has_value();
  }
  if (!ok)
    return std::nullopt;

  int64_t width = *args[0];
  if (isMHA) {
    if (args.size() == 1) {
      if (width % 3) {
        error(call.loc, formatv("mha: the packed qkv tensor has {0} features, which is "
                                "not a multiple of 3",
                                width));
        return std::nullopt;
      }
      width /= 3;
    } else if (*args[1] != width || *args[2] != width) {
      error(call.loc, formatv("mha: q, k and v have different features ({0}, {1}, {2})",
                              width, *args[1], *args[2]));
      return std::nullopt;
    }
    if (width % *heads) {
      error(call.loc, formatv("mha: {0} heads do not divide {1} features", *heads, width));
      return std::nullopt;
    }
  }
  expr = std::make_unique<BuiltinCallExprAST>(call.loc, builtin, std::move(call.args),
                                              heads.value_or(0));
  return width;
}

std::string blockc::sema::spellKey(const Argument &arg) {
  return arg.kind == Argument::Kind::Arrow ? "IN -> OUT" : arg.key;
}

bool blockc::checkBlock(BlockAST &block, llvm::SourceMgr &sourceMgr) {
  return Sema(block, sourceMgr).check();
}
