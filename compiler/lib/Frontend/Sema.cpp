//===- Sema.cpp - Semantic checks of the block spec language --------------===//

#include "blockc/Frontend/Sema.h"

#include "SemaImpl.h"

#include "llvm/ADT/StringExtras.h"
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

constexpr Builtin kBuiltins[] = {Builtin::Gelu, Builtin::GeluTanh,  Builtin::Relu,
                                 Builtin::Silu, Builtin::MHA,       Builtin::Concat,
                                 Builtin::Take, Builtin::Mean,      Builtin::Positions,
                                 Builtin::L2Normalize};

} // namespace

std::string blockc::sema::spellNumber(double value) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", value);
  return text;
}

namespace {

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
  case Argument::Kind::Shape:
    return "a shape";
  }
  llvm_unreachable("unknown argument kind");
}

/// Names longer than this get no suggestion: the edit distance takes time quadratic in
/// the lengths, and a huge name must not stall the compiler (typos are in short names).
constexpr size_t kMaxSuggestedLength = 256;

} // namespace

std::string blockc::sema::suggest(llvm::StringRef name,
                                  llvm::ArrayRef<llvm::StringRef> candidates) {
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

/// Where a diagnostic at `loc` points: the parsed position, else line and column.
static llvm::SMLoc pointerFor(llvm::SourceMgr &sourceMgr, const Location &loc) {
  return loc.at.isValid()
             ? loc.at
             : sourceMgr.FindLocForLineAndColumn(sourceMgr.getMainFileID(), loc.line, loc.col);
}

void Sema::error(const Location &loc, const llvm::Twine &message) {
  sourceMgr.PrintMessage(pointerFor(sourceMgr, loc), llvm::SourceMgr::DK_Error, message);
  failed = true;
}

void Sema::note(const Location &loc, const llvm::Twine &message) {
  sourceMgr.PrintMessage(pointerFor(sourceMgr, loc), llvm::SourceMgr::DK_Note, message);
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
  rows = atMost(rows);
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

bool Sema::getPrecision(const Argument &arg, std::string &field) {
  if (arg.kind != Argument::Kind::Name || !llvm::is_contained(kPrecisions, arg.name)) {
    error(arg.valueLoc, "'" + arg.key + "' must be fp32, bf16 or int8, got " + spellValue(arg));
    return false;
  }
  field = arg.name;
  return true;
}

std::string ValueType::describe() const {
  if (kind == Kind::Number)
    return "a number";
  const std::string n = tokens == kRunTimeTokens ? "S" : std::to_string(tokens);
  if (kind == Kind::Ids)
    return "integers [B, " + n + "]";
  if (kind == Kind::Positions)
    return "positions [B, " + n + "]";
  // The batch B first, but for a parameter, which has none.
  llvm::SmallVector<std::string, 4> dims;
  if (kind != Kind::Parameter)
    dims.push_back("B");
  if (kind == Kind::Tokens)
    dims.push_back(n);
  if (kind == Kind::Tokens || kind == Kind::Pooled)
    dims.push_back(std::to_string(features));
  for (int64_t d : shape)
    dims.push_back(std::to_string(d));
  return "[" + llvm::join(dims, ", ") + "]";
}

bool Sema::check() {
  checkSettings();
  if (block.isModel) {
    checkInputs();
    checkInstances();
  } else {
    variables["x"] = block.dim ? Value(ValueType::tokensOf(block.tokens, block.dim)) : std::nullopt;
    // The key mask of the model's call, for blocks that read it (BERT's attention mask).
    variables["mask"] = block.tokens ? Value(ValueType::ids(block.tokens)) : std::nullopt;
  }
  for (auto &layer : block.layers)
    checkLayer(*layer);
  checkStateDictKeys();
  for (Assignment &stmt : block.statements)
    checkStatement(stmt);
  for (auto &layer : block.layers)
    if (!usedLayers.count(layer.get()) && !invalidLayers.count(layer.get()))
      error(layer->loc, "layer '" + layer->name + "' is declared but never used");
  for (const InstanceDecl &instance : block.instances)
    if (!usedGroups.contains(instance.group) && instance.block)
      error(instance.loc, "block instances '" + instance.group + "' are declared but never used");
  checkResult();
  return !failed;
}

/// A block's result is its final `x`; a model's are its `output` statements. Either must
/// compute something from its inputs.
void Sema::checkResult() {
  // Variables still holding an input, unchanged: an identity block or output is rejected.
  llvm::StringSet<> inputAliases;
  if (block.isModel)
    for (const InputDecl &input : block.inputs)
      inputAliases.insert(input.name);
  else
    inputAliases.insert("x");
  const Assignment *result = nullptr;
  llvm::StringMap<const Assignment *> outputs;
  for (const Assignment &stmt : block.statements) {
    if (block.isModel ? stmt.output : stmt.target == "x")
      result = &stmt;
    if (stmt.output) {
      auto [it, inserted] = outputs.try_emplace(stmt.target, &stmt);
      if (!inserted) {
        error(stmt.loc, "output '" + stmt.target + "' is given twice");
        note(it->second->loc, "first given here");
      }
    }
    auto *var = llvm::dyn_cast<VarExprAST>(stmt.value.get());
    if (var && inputAliases.contains(var->name))
      inputAliases.insert(stmt.target);
    else
      inputAliases.erase(stmt.target);
    if (stmt.output && inputAliases.contains(stmt.target))
      error(stmt.loc, "output '" + stmt.target + "' is an input of the model, unchanged");
    if (stmt.output)
      if (Value v = variables.lookup(stmt.target); v && !v->isActivation())
        error(stmt.loc, "output '" + stmt.target + "' must be a tensor [B, ...] computed by "
                        "the model, not " + v->describe());
  }

  if (block.isModel) {
    if (!result)
      error(block.loc, "model '" + block.name + "' has no output: write 'output NAME = ...'");
  } else if (!result) {
    // An identity block is almost surely a mistake, and it has nothing to compile.
    error(block.loc, "block '" + block.name + "' never assigns 'x'");
  } else if (inputAliases.contains("x")) {
    error(result->loc, "block '" + block.name + "' computes nothing: its result 'x' is its input");
  } else if (Value x = variables["x"]; x && block.dim &&
                                       (x->kind != ValueType::Kind::Tokens ||
                                        x->features != block.dim || x->tokens != block.tokens)) {
    if (x->kind == ValueType::Kind::Tokens && x->tokens == block.tokens)
      error(result->loc, formatv("the block's result 'x' has {0} features, but dim = {1}",
                                 x->features, block.dim));
    else
      error(result->loc, "the block's result 'x' is " + x->describe() + ", but the block's " +
                             "shape is " + ValueType::tokensOf(block.tokens, block.dim).describe());
  }

  // A value no statement reads is dead code, most likely a mistake, and the lowering has
  // no kernel for it (a kernel without outputs). Checked only without other errors, as it
  // often follows from one (a misspelt use).
  if (!failed)
    for (const Assignment &stmt : block.statements)
      if (&stmt != result && !stmt.output && !read.count(&stmt))
        error(stmt.loc, "the value assigned to '" + stmt.target + "' is never used");
}

void Sema::checkSettings() {
  llvm::StringSet<> given;
  for (const Argument &size : block.sizes) {
    const bool precision = size.key == "precision";
    int64_t *field = block.isModel      ? nullptr
                     : size.key == "tokens" ? &block.tokens
                     : size.key == "dim"    ? &block.dim
                                            : nullptr;
    if (!field && !precision) {
      error(size.loc, "unknown setting '" + size.key + "': " +
                          (block.isModel ? "a model has 'precision'"
                                         : "a block has 'tokens', 'dim' and 'precision'"));
      continue;
    }
    if (!given.insert(size.key).second) {
      error(size.loc, "'" + size.key + "' is given twice");
      continue;
    }
    if (precision) {
      getPrecision(size, block.precision);
      continue;
    }
    if (size.upTo && field != &block.tokens) {
      error(size.loc, "only 'tokens' may be chosen at run time ('tokens <= N'), not '" +
                          size.key + "'");
      continue;
    }
    std::optional<int64_t> value = getSize(size, "'" + size.key + "'");
    if (value && size.upTo) {
      if (checkMaxTokens(*value, size.valueLoc)) {
        block.maxTokens = *value;
        block.tokens = kRunTimeTokens;
      }
    } else if (value) {
      *field = *value;
    }
  }
  for (llvm::StringRef name : {"tokens", "dim"})
    if (!block.isModel && !given.count(name))
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
  if (groups.count(stmt.target))
    error(stmt.loc, "'" + stmt.target + "' names block instances; it cannot be assigned");

  Value value = checkExpr(stmt.value, /*isStatementValue=*/true);
  if (value && value->isNumber()) {
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
    value = ValueType::number();
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
  case ExprAST::Kind::InstanceCall:
  case ExprAST::Kind::BuiltinCall:
    llvm_unreachable("the parser leaves calls unresolved; Sema resolves each once");
  }
  if (value) {
    expr->features = value->features;
    expr->tokens = value->kind == ValueType::Kind::Tokens ? value->tokens : 0;
  }
  return value;
}

Value Sema::checkVar(const VarExprAST &var) {
  auto it = variables.find(var.name);
  if (it != variables.end()) {
    if (const Assignment *stmt = assignedBy.lookup(var.name))
      read.insert(stmt);
    else if (!block.isModel && var.name == "mask")
      block.readsMask = true;
    return it->second;
  }
  if (LayerDecl *layer = layers.lookup(var.name)) {
    if (layer->kind != LayerKind::Parameter) {
      error(var.loc, "'" + var.name + "' is a layer: apply it as '" + var.name + "(...)'");
      return std::nullopt;
    }
    usedLayers.insert(layer);
    if (invalidLayers.count(layer))
      return std::nullopt;
    return ValueType{ValueType::Kind::Parameter, 0, layer->shape.back(), layer->shape};
  }
  llvm::SmallVector<llvm::StringRef> names;
  for (const auto &entry : variables)
    names.push_back(entry.getKey());
  for (const auto &entry : blocks) // `encoder = vit_blokc`: a misspelt block to instantiate
    names.push_back(entry.getKey());
  error(var.loc, "use of undefined variable '" + var.name + "'" + suggest(var.name, names));
  return std::nullopt;
}

Value Sema::checkBinary(BinaryExprAST &binary) {
  Value lhs = checkExpr(binary.lhs, false);
  Value rhs = checkExpr(binary.rhs, false);
  if (!lhs || !rhs)
    return std::nullopt;
  using K = ValueType::Kind;
  for (const Value &side : {lhs, rhs})
    if (side->kind == K::Image || side->kind == K::Ids || side->kind == K::Positions) {
      const bool image = side->kind == K::Image;
      error(binary.loc, (image ? "an image " : "") + side->describe() +
                            (image ? " takes no '" : " take no '") + std::string(1, binary.op) +
                            (image ? "': apply a conv2d layer to it"
                                   : "': apply an embedding layer to them"));
      return std::nullopt;
    }
  if (binary.op == '+' && (lhs->isNumber() || rhs->isNumber())) {
    error(binary.loc, "both sides of '+' must be tensors, not numbers");
    return std::nullopt;
  }
  if (lhs->isNumber() && rhs->isNumber()) {
    error(binary.loc, "'*' of two numbers: write their product as one number");
    return std::nullopt;
  }
  if (lhs->isNumber() || rhs->isNumber()) { // scaling a tensor by a number
    const ValueType &tensor = lhs->isNumber() ? *rhs : *lhs;
    if (tensor.kind == K::Parameter) {
      error(binary.loc, "a parameter is added to tokens ('+') or concatenated, not scaled");
      return std::nullopt;
    }
    return tensor;
  }
  // A learned table [1, N, C] added to tokens [B, N, C] (a position embedding).
  if (binary.op == '+' && (lhs->kind == K::Parameter) != (rhs->kind == K::Parameter)) {
    const ValueType &table = lhs->kind == K::Parameter ? *lhs : *rhs;
    const ValueType &tensor = lhs->kind == K::Parameter ? *rhs : *lhs;
    if (tensor.kind == K::Tokens && tensor.tokens == kRunTimeTokens) {
      error(binary.loc, "'+' of a parameter " + table.describe() + " to tokens of a fixed "
                        "count, not the run-time " + tensor.describe() +
                        ": for learned positions, use an embedding of positions(ids)");
      return std::nullopt;
    }
    if (tensor.kind != K::Tokens || table.shape.size() != 3 || table.shape[0] != 1 ||
        table.shape[1] != tensor.tokens || table.shape[2] != tensor.features) {
      error(binary.loc, "'+' of tokens " + tensor.describe() + " and a parameter " +
                            table.describe() + ": the parameter must be [1, " +
                            llvm::Twine(tensor.rows()) + ", " + llvm::Twine(tensor.features) +
                            "], one row per token");
      return std::nullopt;
    }
    return tensor;
  }
  if (lhs->kind == K::Parameter || rhs->kind == K::Parameter) {
    error(binary.loc, "a parameter is added to tokens ('+') or concatenated, not combined "
                      "with '" + std::string(1, binary.op) + "' here");
    return std::nullopt;
  }
  if (lhs->features != rhs->features) {
    error(binary.loc, formatv("feature size mismatch at '{0}': {1} vs {2}", std::string(1, binary.op),
                              lhs->features, rhs->features));
    return std::nullopt;
  }
  if (!(*lhs == *rhs)) {
    error(binary.loc, "shape mismatch at '" + std::string(1, binary.op) + "': " +
                          lhs->describe() + " vs " + rhs->describe());
    return std::nullopt;
  }
  return lhs;
}

/// Resolves the call in `expr` to a layer, block instances or a builtin, replacing the node.
Value Sema::checkCall(std::unique_ptr<ExprAST> &expr, bool isStatementValue) {
  auto &call = cast<CallExprAST>(*expr);
  // The arguments' own errors stand whatever the callee turns out to be.
  llvm::SmallVector<Value> args;
  for (auto &arg : call.args)
    args.push_back(checkExpr(arg, false));

  if (std::optional<Builtin> builtin = lookupBuiltin(call.callee))
    return checkBuiltin(expr, *builtin, args);
  LayerDecl *layer = layers.lookup(call.callee);
  bool isGroup = groups.count(call.callee);
  if (layer || isGroup) {
    // Block instances take the mask their blocks read: `blocks(x, mask = attention_mask)`.
    const Argument *mask = isGroup && call.options.size() == 1 && call.options[0].key == "mask"
                               ? &call.options[0]
                               : nullptr;
    if (call.args.size() != 1 || call.options.size() != (mask ? 1 : 0)) {
      error(call.loc, (layer ? "layer '" : "block instances '") + call.callee +
                          (layer ? "' takes one tensor argument"
                                 : "' take one tensor argument (and 'mask = NAME')"));
      if (layer)
        usedLayers.insert(layer);
      usedGroups.insert(call.callee);
      return std::nullopt;
    }
    if (isGroup)
      return checkInstanceCall(expr, call.callee, args.front(), mask);
    return checkLayerCall(expr, *layer, args.front());
  }
  if (lookupLayerKind(call.callee)) {
    error(call.loc, "'" + call.callee + "' is a layer kind: declare a layer 'NAME = " +
                        call.callee + "(...)' and apply it as 'NAME(...)'");
    return std::nullopt;
  }
  if (blocks.count(call.callee)) {
    error(call.loc, "'" + call.callee + "' is a block: declare its instances, 'NAME = " +
                        call.callee + "', and apply them as 'NAME(...)'");
    return std::nullopt;
  }

  llvm::SmallVector<llvm::StringRef> names;
  for (Builtin b : kBuiltins)
    names.push_back(getBuiltinName(b));
  for (const auto &entry : layers)
    names.push_back(entry.getKey());
  for (const auto &entry : groups)
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

std::string blockc::sema::spellKey(const Argument &arg) {
  return arg.kind == Argument::Kind::Arrow ? "IN -> OUT" : arg.key;
}

