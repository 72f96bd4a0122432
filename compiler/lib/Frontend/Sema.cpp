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

constexpr Builtin kBuiltins[] = {Builtin::Gelu, Builtin::GeluTanh, Builtin::Relu,
                                 Builtin::Silu, Builtin::MHA,  Builtin::Concat,
                                 Builtin::Take, Builtin::Mean};

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
  case Argument::Kind::Shape:
    return "a shape";
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

std::string ValueType::describe() const {
  if (kind == Kind::Number)
    return "a number";
  // The batch B first, but for a parameter, which has none.
  llvm::SmallVector<std::string, 4> dims;
  if (kind != Kind::Parameter)
    dims.push_back("B");
  if (kind == Kind::Tokens)
    dims.push_back(std::to_string(tokens));
  if (kind == Kind::Tokens || kind == Kind::Pooled)
    dims.push_back(std::to_string(features));
  for (int64_t d : shape)
    dims.push_back(std::to_string(d));
  return "[" + llvm::join(dims, ", ") + "]";
}

bool Sema::check() {
  if (block.isModel) {
    checkInputs();
    checkInstances();
  } else {
    checkSizes();
    variables["x"] = block.dim ? Value(ValueType::tokensOf(block.tokens, block.dim)) : std::nullopt;
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

void Sema::checkInputs() {
  for (InputDecl &input : block.inputs) {
    if (variables.count(input.name)) {
      error(input.loc, "input '" + input.name + "' is declared twice");
      continue;
    }
    bool ok = true;
    if (input.batch != "B") {
      error(input.batchLoc, "an input's shape starts with 'B', the batch chosen at run "
                            "time, not '" + input.batch + "'");
      ok = false;
    }
    for (const Argument &dim : input.dims) {
      std::optional<int64_t> size = getSize(dim.number, dim.loc, "a dimension of an input");
      ok &= size.has_value();
      input.shape.push_back(size.value_or(0));
    }
    if (ok && (input.shape.empty() || input.shape.size() > 3)) {
      error(input.loc, "input '" + input.name + "' must be [B, C] (pooled), [B, N, C] "
                       "(tokens) or [B, C, H, W] (an image)");
      ok = false;
    }
    if (ok && input.shape.size() == 3 &&
        !withinIndexing(input.loc, "a sample of input '" + input.name + "'",
                        input.shape[0] * input.shape[1], input.shape[2]))
      ok = false;
    Value value;
    if (ok) {
      ValueType type;
      if (input.shape.size() == 1)
        type = ValueType::pooled(input.shape[0]);
      else if (input.shape.size() == 2)
        type = ValueType::tokensOf(input.shape[0], input.shape[1]);
      else
        type = {ValueType::Kind::Image, 0, input.shape[0], {input.shape.begin(), input.shape.end()}};
      value = type;
    }
    variables[input.name] = value;
  }
  if (block.inputs.empty())
    error(block.loc, "model '" + block.name + "' has no input: declare 'input NAME: [B, ...]'");
}

void Sema::checkInstances() {
  for (InstanceDecl &instance : block.instances) {
    groups[instance.group]; // known even if invalid: its calls are not reported again
    const BlockAST *target = blocks.lookup(instance.blockName);
    if (!target) {
      llvm::SmallVector<llvm::StringRef> names;
      for (const auto &entry : blocks)
        names.push_back(entry.getKey());
      error(instance.blockLoc, "unknown block '" + instance.blockName + "'" +
                                   suggest(instance.blockName, names));
      continue;
    }
    if (instance.ranged && (instance.first < 0 || instance.last < 0)) {
      error(instance.rangeLoc, "the indices of an instance range are integers from 0");
      continue;
    }
    if (instance.ranged && instance.first > instance.last) {
      error(instance.rangeLoc, formatv("the instance range {0}..{1} is empty", instance.first,
                                       instance.last));
      continue;
    }
    auto &group = groups[instance.group];
    bool ok = true;
    for (auto &[index, other] : group)
      if (!instance.ranged || index < 0 ||
          (index >= instance.first && index <= instance.last)) {
        error(instance.loc, "instances '" + instance.group + "' overlap with an earlier "
                            "declaration of the same names");
        note(other->loc, "declared here");
        ok = false;
        break;
      }
    if (!ok)
      continue;
    instance.block = target;
    if (!instance.ranged)
      group.push_back({-1, &instance});
    for (int64_t i = instance.first; instance.ranged && i <= instance.last; ++i)
      group.push_back({i, &instance});
  }
  for (auto &entry : groups)
    llvm::sort(entry.second, [](const auto &a, const auto &b) { return a.first < b.first; });
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
    if (side->kind == K::Image) {
      error(binary.loc, "an image " + side->describe() + " takes no '" +
                            std::string(1, binary.op) + "': apply a conv2d layer to it");
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
    if (call.args.size() != 1 || !call.options.empty()) {
      error(call.loc, (layer ? "layer '" : "block instances '") + call.callee +
                          (layer ? "' takes" : "' take") + " one tensor argument");
      if (layer)
        usedLayers.insert(layer);
      usedGroups.insert(call.callee);
      return std::nullopt;
    }
    if (isGroup)
      return checkInstanceCall(expr, call.callee, args.front());
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

/// `blocks(t)`: each instance of the group applied in index order; each block's tokens
/// and dim must be t's.
Value Sema::checkInstanceCall(std::unique_ptr<ExprAST> &expr, llvm::StringRef group, Value arg) {
  auto &call = cast<CallExprAST>(*expr);
  usedGroups.insert(group);
  auto instanceCall = std::make_unique<InstanceCallExprAST>(call.loc, call.callee,
                                                            std::move(call.args.front()));
  bool ok = arg.has_value();
  for (auto &[index, instance] : groups[group]) {
    const BlockAST *target = instance->block;
    usedBlocks.insert(target);
    std::string name = index < 0 ? instance->group : instance->group + "." + std::to_string(index);
    instanceCall->instances.push_back({name, target});
    ValueType expected = ValueType::tokensOf(target->tokens, target->dim);
    if (ok && !(*arg == expected)) {
      error(call.loc, "block '" + target->name + "' (instance '" + name + "') takes " +
                          expected.describe() + ", but is applied to " + arg->describe());
      note(instance->loc, "instances declared here");
      ok = false;
    }
  }
  expr = std::move(instanceCall);
  return ok ? arg : std::nullopt;
}

Value Sema::checkBuiltin(std::unique_ptr<ExprAST> &expr, Builtin builtin,
                         llvm::ArrayRef<Value> args) {
  auto &call = cast<CallExprAST>(*expr);
  // The one option a builtin takes, if any: mha's heads, mean's first token.
  llvm::StringRef optionKey = builtin == Builtin::MHA ? "heads" : builtin == Builtin::Mean ? "from" : "";
  bool ok = true;

  std::optional<int64_t> option;
  bool optionGiven = false;
  for (const Argument &given : call.options) {
    if (optionKey.empty() || given.kind == Argument::Kind::Arrow ||
        given.kind == Argument::Kind::Shape || given.key != optionKey) {
      error(given.loc, "unknown argument '" + spellKey(given) + "' to " + call.callee +
                           (optionKey.empty() ? " (it takes none)"
                                              : " (it takes " + optionKey.str() + ")"));
      ok = false;
    } else if (optionGiven) {
      error(given.loc, "'" + optionKey + "' is given twice");
      ok = false;
    } else {
      optionGiven = true;
      // `from = 0` is a valid first token.
      if (builtin == Builtin::Mean && given.kind == Argument::Kind::Number && given.number == 0)
        option = 0;
      else
        option = getSize(given, "'" + optionKey + "'");
      ok &= option.has_value();
    }
  }
  if (builtin == Builtin::Concat) {
    Value value = ok ? checkConcat(call, args) : std::nullopt;
    if (value)
      expr = std::make_unique<BuiltinCallExprAST>(call.loc, builtin, std::move(call.args), 0, 0);
    return value;
  }
  if (builtin == Builtin::Take || builtin == Builtin::Mean) {
    int64_t index = option.value_or(0);
    Value value = ok ? checkPooling(call, builtin, args, index) : std::nullopt;
    if (value) {
      call.args.resize(1);
      expr = std::make_unique<BuiltinCallExprAST>(call.loc, builtin, std::move(call.args), 0, index);
    }
    return value;
  }
  bool isMHA = builtin == Builtin::MHA;
  if (isMHA ? args.size() != 1 && args.size() != 3 : args.size() != 1) {
    error(call.loc, isMHA ? "mha takes one packed qkv tensor or three tensors q, k, v"
                          : "'" + call.callee + "' takes one tensor argument");
    return std::nullopt;
  }
  if (isMHA && !optionGiven) {
    error(call.loc, "mha needs 'heads = H'");
    ok = false;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] && args[i]->isNumber()) {
      error(call.args[i]->loc, "'" + call.callee + "' takes tensors, not numbers");
      ok = false;
    } else if (args[i] && !args[i]->isActivation()) {
      error(call.args[i]->loc, "'" + call.callee + "' takes tensors [B, ...], not " +
                                   args[i]->describe());
      ok = false;
    } else if (args[i] && isMHA && args[i]->kind != ValueType::Kind::Tokens) {
      error(call.args[i]->loc, "mha takes tokens [B, N, C], not " + args[i]->describe());
      ok = false;
    }
    ok &= args[i].has_value();
  }
  if (!ok)
    return std::nullopt;

  ValueType result = *args[0];
  int64_t width = result.features;
  if (isMHA) {
    if (args.size() == 1) {
      if (width % 3) {
        error(call.loc, formatv("mha: the packed qkv tensor has {0} features, which is "
                                "not a multiple of 3",
                                width));
        return std::nullopt;
      }
      width /= 3;
    } else if (args[1]->features != width || args[2]->features != width) {
      error(call.loc, formatv("mha: q, k and v have different features ({0}, {1}, {2})",
                              width, args[1]->features, args[2]->features));
      return std::nullopt;
    } else if (args[1]->tokens != result.tokens || args[2]->tokens != result.tokens) {
      error(call.loc, "mha: q, k and v have different tokens");
      return std::nullopt;
    }
    if (width % *option) {
      error(call.loc, formatv("mha: {0} heads do not divide {1} features", *option, width));
      return std::nullopt;
    }
    result.features = width;
  }
  expr = std::make_unique<BuiltinCallExprAST>(call.loc, builtin, std::move(call.args),
                                              option.value_or(0), 0);
  return result;
}

/// `concat(p1, ..., t)`: learned tokens [1, T, C] (a class token, distillation or register
/// tokens) put before the tokens of t [B, N, C]: [B, T1 + ... + N, C].
Value Sema::checkConcat(const CallExprAST &call, llvm::ArrayRef<Value> args) {
  if (args.size() < 2) {
    error(call.loc, "concat takes learned tokens (parameters [1, T, C]) and then a tensor of "
                    "tokens [B, N, C]");
    return std::nullopt;
  }
  for (const Value &arg : args)
    if (!arg)
      return std::nullopt;
  const ValueType &tokens = *args.back();
  if (tokens.kind != ValueType::Kind::Tokens) {
    error(call.args.back()->loc, "concat's last argument must be tokens [B, N, C], not " +
                                     tokens.describe());
    return std::nullopt;
  }
  int64_t total = tokens.tokens;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const ValueType &p = *args[i];
    if (p.kind != ValueType::Kind::Parameter || p.shape.size() != 3 || p.shape[0] != 1 ||
        p.shape[2] != tokens.features) {
      error(call.args[i]->loc, "concat puts learned tokens, parameters [1, T, " +
                                   llvm::Twine(tokens.features) + "], before the tokens; got " +
                                   p.describe());
      return std::nullopt;
    }
    total += p.shape[1];
  }
  if (!withinIndexing(call.loc, "a sample of the result of concat", total, tokens.features))
    return std::nullopt;
  return ValueType::tokensOf(total, tokens.features);
}

/// `take(t, i)`: token i of t, [B, C]; `mean(t, from = k)`: the mean of tokens k.. of t.
Value Sema::checkPooling(CallExprAST &call, Builtin builtin, llvm::ArrayRef<Value> args,
                         int64_t &index) {
  bool isTake = builtin == Builtin::Take;
  auto *number = args.size() == 2 ? llvm::dyn_cast<NumberExprAST>(call.args[1].get()) : nullptr;
  if (isTake ? !number : args.size() != 1) {
    error(call.loc, isTake ? "take takes a tensor of tokens and the index of a token: "
                             "'take(t, 0)'"
                           : "mean takes one tensor of tokens (and 'from = K')");
    return std::nullopt;
  }
  if (!args[0])
    return std::nullopt;
  if (args[0]->kind != ValueType::Kind::Tokens) {
    error(call.args[0]->loc, "'" + call.callee + "' takes tokens [B, N, C], not " +
                                 args[0]->describe());
    return std::nullopt;
  }
  if (isTake) {
    if (number->value < 0 || number->value != std::floor(number->value) ||
        number->value >= double(args[0]->tokens)) {
      error(number->loc, "take: token " + spellNumber(number->value) + " is not one of the " +
                             llvm::Twine(args[0]->tokens) + " tokens");
      return std::nullopt;
    }
    index = int64_t(number->value);
  } else if (index >= args[0]->tokens) {
    error(call.loc, formatv("mean: 'from = {0}' leaves none of the {1} tokens", index,
                            args[0]->tokens));
    return std::nullopt;
  }
  return ValueType::pooled(args[0]->features);
}

std::string blockc::sema::spellKey(const Argument &arg) {
  return arg.kind == Argument::Kind::Arrow ? "IN -> OUT" : arg.key;
}

bool blockc::checkSpec(SpecAST &spec, llvm::SourceMgr &sourceMgr) {
  llvm::StringMap<const BlockAST *> blocks;
  bool ok = true;
  for (auto &block : spec.blocks) {
    Sema sema(*block, sourceMgr);
    ok &= sema.check();
    auto [it, inserted] = blocks.try_emplace(block->name, block.get());
    if (!inserted) {
      sema.error(block->loc, "block '" + block->name + "' is declared twice");
      sema.note(it->second->loc, "first declared here");
      ok = false;
    }
  }
  if (!spec.model) {
    if (spec.blocks.size() > 1) {
      Sema(*spec.blocks[1], sourceMgr)
          .error(spec.blocks[1]->loc, "a file without a model holds one block: add a model "
                                      "that uses the blocks, 'model NAME { ... }'");
      ok = false;
    }
    return ok;
  }
  Sema sema(*spec.model, sourceMgr, &blocks);
  ok &= sema.check();
  if (ok)
    for (auto &block : spec.blocks)
      if (!sema.getUsedBlocks().count(block.get())) {
        sema.error(block->loc, "block '" + block->name + "' is declared but the model never "
                               "uses it");
        ok = false;
      }
  return ok;
}
