//===- SemaModel.cpp - Semantic checks of a model and of a whole file -----===//
//
// A model's inputs, its instances of the file's blocks and their calls, and the file: each
// block checked alone, then the model against the blocks it instantiates.
//
//===----------------------------------------------------------------------===//

#include "blockc/Frontend/Sema.h"

#include "SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/FormatVariadic.h"

using namespace blockc;
using namespace blockc::sema;
using llvm::cast;
using llvm::formatv;

void Sema::checkInputs() {
  for (InputDecl &input : block.inputs) {
    if (variables.count(input.name)) {
      error(input.loc, "input '" + input.name + "' is declared twice");
      continue;
    }
    bool ok = true;
    const bool integers = input.dtype == "int64" || input.dtype == "int32";
    if (!integers && input.dtype != "float32") {
      error(input.dtypeLoc, "unknown element type '" + input.dtype + "': an input is float32 "
                            "(the default), or int64 or int32 (token ids, a mask)");
      ok = false;
    }
    if (input.batch != "B") {
      error(input.batchLoc, "an input's shape starts with 'B', the batch chosen at run "
                            "time, not '" + input.batch + "'");
      ok = false;
    }
    for (const Argument &dim : input.dims) {
      if (dim.kind == Argument::Kind::Name) {
        if (&dim != &input.dims.front()) {
          error(dim.loc, "only an input's tokens, its second dimension, may be chosen at run "
                         "time, not '" + dim.name + "'");
          ok = false;
          continue;
        }
        ok &= checkRunTimeTokens(dim);
        input.shape.push_back(kRunTimeTokens);
        continue;
      }
      std::optional<int64_t> size = getSize(dim.number, dim.loc, "a dimension of an input");
      ok &= size.has_value();
      input.shape.push_back(size.value_or(0));
    }
    if (ok && !integers && !input.shape.empty() && input.shape[0] == kRunTimeTokens &&
        input.shape.size() != 2) {
      error(input.loc, "input '" + input.name + "' with run-time tokens must be [B, " +
                           tokensName + ", C] (tokens) or integers [B, " + tokensName + "]");
      ok = false;
    }
    if (input.zeroDefault && !integers) {
      error(input.defaultLoc, "only an integer input may be omitted ('= 0'), not the " +
                                  input.dtype + " input '" + input.name + "'");
      ok = false;
    }
    if (ok && integers && input.shape.size() != 1) {
      error(input.loc, "integer input '" + input.name + "' must be [B, N]: token ids or a mask");
      ok = false;
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
      if (integers)
        type = ValueType::ids(input.shape[0]);
      else if (input.shape.size() == 1)
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

bool Sema::checkMaxTokens(int64_t max, const Location &loc) {
  if (max <= kMaxTokens)
    return true;
  error(loc, formatv("run-time tokens are at most {0}, not {1}", kMaxTokens, max));
  return false;
}

bool Sema::checkRunTimeTokens(const Argument &dim) {
  if (!tokensName.empty() && dim.name != tokensName) {
    error(dim.loc, "a model has one run-time token count, '" + tokensName + "', not also '" +
                       dim.name + "'");
    note(tokensLoc, "'" + tokensName + "' declared here");
    return false;
  }
  if (!dim.upTo) {
    if (tokensName.empty())
      error(dim.loc, "'" + dim.name + "' is not declared: write '" + dim.name +
                         " <= N' (the largest token count a run takes) where it first appears");
    return !tokensName.empty();
  }
  std::optional<int64_t> max = getSize(dim.number, dim.valueLoc, "the largest token count");
  if (!max || !checkMaxTokens(*max, dim.valueLoc))
    return false;
  if (!tokensName.empty() && *max != block.maxTokens) {
    error(dim.valueLoc, formatv("'{0}' is up to {1}, declared before, not {2}", tokensName,
                                block.maxTokens, *max));
    note(tokensLoc, "'" + tokensName + "' declared here");
    return false;
  }
  tokensName = dim.name;
  tokensLoc = dim.loc;
  block.maxTokens = *max;
  return true;
}

/// Block instances a model may declare: ten times the deepest transformers trained (DeepNet's
/// 1000 layers), and a bound on the compiler's work and memory for any file.
constexpr int64_t kMaxInstances = 10000;

void Sema::checkInstances() {
  int64_t declared = 0;
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
    declared += instance.ranged ? instance.last - instance.first + 1 : 1;
    if (declared > kMaxInstances) {
      error(instance.ranged ? instance.rangeLoc : instance.loc,
            formatv("a model has at most {0} block instances; this declaration makes {1}",
                    kMaxInstances, declared));
      return;
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

/// `blocks(t)` or `blocks(t, mask = m)`: each instance of the group applied in index order;
/// each block's tokens and dim must be t's, and a block that reads `mask` gets m.
Value Sema::checkInstanceCall(std::unique_ptr<ExprAST> &expr, llvm::StringRef group, Value arg,
                              const Argument *mask) {
  auto &call = cast<CallExprAST>(*expr);
  usedGroups.insert(group);
  auto instanceCall = std::make_unique<InstanceCallExprAST>(call.loc, call.callee,
                                                            std::move(call.args.front()));
  bool ok = arg.has_value();
  if (mask && arg && !checkMask(*mask, arg->tokens, call.callee))
    ok = false;
  if (mask)
    instanceCall->mask = mask->name;
  bool maskRead = false;
  for (auto &[index, instance] : groups[group]) {
    const BlockAST *target = instance->block;
    usedBlocks.insert(target);
    std::string name = index < 0 ? instance->group : instance->group + "." + std::to_string(index);
    instanceCall->instances.push_back({name, target});
    ValueType expected = ValueType::tokensOf(target->tokens, target->dim);
    if (ok && !(*arg == expected)) {
      error(call.loc, "block '" + target->name + "' (instance '" + name + "') takes " +
                          expected.describe() +
                          (target->maxTokens ? formatv(" (up to {0} tokens)", target->maxTokens).str()
                                             : std::string()) +
                          ", but is applied to " + arg->describe());
      note(instance->loc, "instances declared here");
      ok = false;
    } else if (ok && target->maxTokens && block.maxTokens > target->maxTokens) {
      error(call.loc, formatv("block '{0}' (instance '{1}') takes up to {2} tokens, but the "
                              "model's '{3}' is up to {4}",
                              target->name, name, target->maxTokens, tokensName,
                              block.maxTokens));
      note(instance->loc, "instances declared here");
      ok = false;
    }
    maskRead |= target->readsMask;
    if (ok && target->readsMask && !mask) {
      error(call.loc, "block '" + target->name + "' (instance '" + name + "') reads 'mask': "
                      "give it as '" + call.callee + "(x, mask = NAME)'");
      ok = false;
    }
  }
  if (ok && mask && !maskRead) {
    error(mask->loc, "no block of '" + call.callee + "' reads 'mask'");
    ok = false;
  }
  expr = std::move(instanceCall);
  return ok ? arg : std::nullopt;
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
