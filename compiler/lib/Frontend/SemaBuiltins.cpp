//===- SemaBuiltins.cpp - Semantic checks of the built-in functions -------===//
//
// gelu and the other activations, mha, l2normalize, and the token builtins of models:
// concat, take, mean, positions (docs/language.md, "Built-in functions").
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/FormatVariadic.h"

using namespace blockc;
using namespace blockc::sema;
using llvm::cast;
using llvm::formatv;

#include <cmath>

/// `mask = NAME` of mha, mean or block instances applied to `tokens` tokens: NAME is a
/// variable holding integers [B, tokens] (a model's mask input, a block's `mask`).
bool Sema::checkMask(const Argument &mask, int64_t tokens, llvm::StringRef callee) {
  if (mask.kind != Argument::Kind::Name) {
    error(mask.valueLoc, "'mask' of " + callee + " names a mask variable, e.g. "
                         "'mask = attention_mask'");
    return false;
  }
  Value value = checkVar(VarExprAST(mask.valueLoc, mask.name));
  if (!value)
    return false;
  if (value->kind != ValueType::Kind::Ids || value->tokens != tokens) {
    error(mask.valueLoc, formatv("the mask of {0} must be {1} (1 = token, 0 = padding), not {2}",
                                 callee, ValueType::ids(tokens).describe(), value->describe()));
    return false;
  }
  return true;
}

Value Sema::checkBuiltin(std::unique_ptr<ExprAST> &expr, Builtin builtin,
                         llvm::ArrayRef<Value> args) {
  auto &call = cast<CallExprAST>(*expr);
  // The option a builtin takes besides a mask, if any: mha's heads, mean's first token.
  llvm::StringRef optionKey = builtin == Builtin::MHA ? "heads" : builtin == Builtin::Mean ? "from" : "";
  const bool takesMask = builtin == Builtin::MHA || builtin == Builtin::Mean;
  bool ok = true;

  std::optional<int64_t> option;
  bool optionGiven = false;
  const Argument *mask = nullptr;
  for (const Argument &given : call.options) {
    bool known = given.kind != Argument::Kind::Arrow && given.kind != Argument::Kind::Shape &&
                 ((!optionKey.empty() && given.key == optionKey) ||
                  (takesMask && given.key == "mask"));
    if (!known) {
      error(given.loc, "unknown argument '" + spellKey(given) + "' to " + call.callee +
                           (optionKey.empty() ? " (it takes none)"
                                              : " (it takes " + optionKey.str() + " and mask)"));
      ok = false;
    } else if (given.key == "mask" ? mask != nullptr : optionGiven) {
      error(given.loc, "'" + given.key + "' is given twice");
      ok = false;
    } else if (given.key == "mask") {
      mask = &given;
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
  // The mask covers the keys of mha (its second tensor, or its one packed qkv), the
  // tokens of mean.
  if (mask) {
    const Value &keys = args.size() >= 2 ? args[1] : args.empty() ? Value() : args[0];
    if (keys && keys->kind == ValueType::Kind::Tokens)
      ok &= checkMask(*mask, keys->tokens, call.callee);
  }
  auto withMask = [&](std::unique_ptr<BuiltinCallExprAST> node) {
    if (mask)
      node->mask = mask->name;
    return node;
  };
  if (builtin == Builtin::Positions) {
    if (args.size() != 1) {
      error(call.loc, "positions takes one tensor of token ids [B, N]");
      return std::nullopt;
    }
    if (args[0] && args[0]->kind != ValueType::Kind::Ids) {
      error(call.args[0]->loc, "positions takes token ids [B, N] (an integer input), not " +
                                   args[0]->describe());
      return std::nullopt;
    }
    if (!ok || !args[0])
      return std::nullopt;
    int64_t tokens = args[0]->tokens;
    expr = std::make_unique<BuiltinCallExprAST>(call.loc, builtin, std::move(call.args), 0, 0);
    return ValueType{ValueType::Kind::Positions, tokens, 0, {}};
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
      expr = withMask(std::make_unique<BuiltinCallExprAST>(call.loc, builtin,
                                                           std::move(call.args), 0, index));
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
  expr = withMask(std::make_unique<BuiltinCallExprAST>(call.loc, builtin, std::move(call.args),
                                                       option.value_or(0), 0));
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
  if (tokens.tokens == kRunTimeTokens) {
    error(call.args.back()->loc, "concat puts learned tokens before tokens of a fixed count, "
                                 "not the run-time " + tokens.describe());
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
                           : "mean takes one tensor of tokens (and 'from = K', 'mask = NAME')");
    return std::nullopt;
  }
  if (!args[0])
    return std::nullopt;
  if (args[0]->kind != ValueType::Kind::Tokens) {
    error(call.args[0]->loc, "'" + call.callee + "' takes tokens [B, N, C], not " +
                                 args[0]->describe());
    return std::nullopt;
  }
  // Run-time tokens number at least 1: only token 0 is sure to exist.
  const bool runTime = args[0]->tokens == kRunTimeTokens;
  const int64_t fewest = runTime ? 1 : args[0]->tokens;
  if (isTake) {
    if (number->value < 0 || number->value != std::floor(number->value) ||
        number->value >= double(fewest)) {
      error(number->loc, "take: token " + spellNumber(number->value) +
                             (runTime ? " may be beyond a run's tokens: S may be as few as 1"
                                      : " is not one of the " + std::to_string(fewest) +
                                            " tokens"));
      return std::nullopt;
    }
    index = int64_t(number->value);
  } else if (index >= fewest) {
    error(call.loc, runTime ? formatv("mean: 'from = {0}' may leave none of a run's tokens: S "
                                      "may be as few as 1", index).str()
                            : formatv("mean: 'from = {0}' leaves none of the {1} tokens", index,
                                      fewest).str());
    return std::nullopt;
  }
  return ValueType::pooled(args[0]->features);
}

