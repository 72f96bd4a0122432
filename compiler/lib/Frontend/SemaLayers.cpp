//===- SemaLayers.cpp - Semantic checks of layer declarations and uses ----===//
//
// Each declaration is checked against its kind's row in the table of layer kinds
// (LayerKinds.h): the arguments it takes, their values and defaults, and the tensors
// it owns.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace blockc::sema;
using llvm::cast;
using llvm::formatv;

namespace {

/// The arguments a layer kind takes, for "unknown argument" messages: "'IN -> OUT'
/// and bias".
std::string describeArguments(const LayerKindInfo &info) {
  if (info.arguments.empty())
    return "no arguments";
  std::string text;
  for (auto [i, argument] : llvm::enumerate(info.arguments)) {
    if (i)
      text += i + 1 == info.arguments.size() ? " and " : ", ";
    text += argument.type == ArgumentType::Sizes ? "'" + argument.key.str() + "'"
                                                 : argument.key.str();
  }
  return text;
}

/// What a declaration lacking the required `argument` must add: "its sizes
/// 'IN -> OUT'", "'heads = H'".
std::string describeMissing(const LayerArgument &argument) {
  if (argument.type == ArgumentType::Sizes)
    return "its sizes '" + argument.key.str() + "'";
  return "'" + argument.key.str() + " = " + argument.placeholder.str() + "'";
}

/// Sets `argument`'s field of `layer` to its default.
void setDefault(LayerDecl &layer, const LayerArgument &argument) {
  if (argument.type == ArgumentType::Number)
    layer.*argument.number = argument.defaultValue;
  else if (argument.type == ArgumentType::Bool)
    layer.*argument.boolean = argument.defaultValue != 0;
}

/// timm's `attention` and PyTorch's `multihead_attention`: one computation, two namings.
bool isAttention(LayerKind kind) {
  return kind == LayerKind::Attention || kind == LayerKind::MultiheadAttention;
}

bool isBefore(const Location &a, const Location &b) {
  return a.line < b.line || (a.line == b.line && a.col < b.col);
}

} // namespace

void Sema::checkStateDictKeys() {
  // Two layers must not claim one tensor (`attn` and `attn.qkv` both own attn.qkv.weight).
  // In a model, block instances own their blocks' tensors under their names.
  struct Owner {
    std::string name;
    Location loc;
  };
  llvm::StringMap<Owner> owners;
  for (const InstanceDecl &instance : block.instances) {
    if (!instance.block)
      continue;
    for (const std::string &name : instance.names())
      for (const auto &layer : instance.block->layers)
        for (const std::string &key : stateDictKeys(*layer))
          owners.try_emplace(name + "." + key, Owner{"block instance '" + name + "'", instance.loc});
  }
  for (auto &layer : block.layers) {
    if (invalidLayers.count(layer.get()))
      continue;
    for (const std::string &key : stateDictKeys(*layer)) {
      auto [it, inserted] = owners.try_emplace(key, Owner{"layer '" + layer->name + "'", layer->loc});
      if (!inserted) {
        error(layer->loc, "layer '" + layer->name + "' declares the tensor '" + key +
                              "', which " + it->second.name + " also declares");
        note(it->second.loc, it->second.name + " declared here");
        invalidLayers.insert(layer.get());
        break;
      }
    }
  }
  // `ignore NAME` must not cover a tensor that inference reads.
  llvm::StringSet<> ignoredNames;
  for (const auto &[name, loc] : block.ignored) {
    if (!ignoredNames.insert(name).second) {
      error(loc, "'" + name + "' is ignored twice");
      continue;
    }
    for (const auto &owner : owners) {
      llvm::StringRef key = owner.getKey();
      if (key == name || key.starts_with(name + ".")) {
        error(loc, "'ignore " + name + "' covers the tensor '" + key + "', which " +
                       owner.second.name + " reads");
        break;
      }
    }
  }
}

void Sema::checkLayer(LayerDecl &layer) {
  auto [it, inserted] = layers.try_emplace(layer.name, &layer);
  if (!inserted) {
    error(layer.loc, "layer '" + layer.name + "' is declared twice");
    note(it->second->loc, "first declared here");
    invalidLayers.insert(&layer);
    return;
  }
  // A layer is called by name, so it must not hide a builtin or the input.
  bool isInput = block.isModel ? variables.count(layer.name) != 0 : layer.name == "x";
  if (isInput || lookupBuiltin(layer.name)) {
    error(layer.loc, "'" + layer.name + "' cannot name a layer: it is " +
                         (isInput ? (block.isModel ? "an input of the model" : "the block's input")
                                  : "a built-in function"));
    invalidLayers.insert(&layer);
  }

  const LayerKindInfo &info = layer.getInfo();
  for (const LayerArgument &argument : info.arguments)
    if (!argument.required)
      setDefault(layer, argument);

  llvm::StringSet<> given;
  bool ok = true;
  for (const Argument &arg : layer.args) {
    if (!given.insert(spellKey(arg)).second) {
      error(arg.loc, "'" + spellKey(arg) + "' is given twice");
      ok = false;
      continue;
    }
    ok &= applyLayerArgument(layer, arg);
  }
  for (const LayerArgument &argument : info.arguments) {
    if (argument.required && !given.count(argument.key)) {
      error(layer.loc, info.name + " layer '" + layer.name + "' needs " +
                           describeMissing(argument));
      ok = false;
    }
  }
  if (!ok)
    invalidLayers.insert(&layer);
  if (layer.kind == LayerKind::Linear || layer.kind == LayerKind::Conv2d)
    layer.features = layer.inFeatures;
}

/// Sets the field of `layer` that `arg` gives. Returns false, having reported it, if
/// the kind takes no such argument or the value does not fit.
bool Sema::applyLayerArgument(LayerDecl &layer, const Argument &arg) {
  const LayerKindInfo &info = layer.getInfo();
  const LayerArgument *argument = info.findArgument(spellKey(arg));
  if (!argument) {
    error(arg.loc, "unknown argument '" + spellKey(arg) + "' to " + info.name +
                       " (it takes " + describeArguments(info) + ")");
    return false;
  }
  switch (argument->type) {
  case ArgumentType::Number:
    return getNumber(arg, layer.*argument->number);
  case ArgumentType::Bool:
    return getBool(arg, layer.*argument->boolean);
  case ArgumentType::Precision:
    return getPrecision(arg, layer.*argument->text);
  case ArgumentType::Size: {
    std::optional<int64_t> size = getSize(arg, "'" + argument->key + "'");
    layer.*argument->size = size.value_or(0);
    return size.has_value();
  }
  case ArgumentType::Shape: {
    if (arg.kind != Argument::Kind::Shape) {
      error(arg.valueLoc, info.name + " takes a shape '[d0, d1, ...]'");
      return false;
    }
    bool ok = true;
    int64_t elements = 1;
    for (double d : arg.shape) {
      std::optional<int64_t> size = getSize(d, arg.loc, "a dimension of the shape");
      ok &= size.has_value();
      (layer.*argument->shape).push_back(size.value_or(1));
      if (size && ok && !withinIndexing(arg.loc, info.name + " '" + layer.name + "'", elements, *size))
        return false;
      elements *= size.value_or(1);
    }
    return ok;
  }
  case ArgumentType::Sizes: {
    std::optional<int64_t> in = getSize(arg.number, arg.loc, "in-features");
    std::optional<int64_t> out = getSize(arg.out, arg.valueLoc, "out-features");
    layer.*argument->size = in.value_or(0);
    layer.*argument->out = out.value_or(0);
    // The tensors sized by these alone are checked now; those sized by C once it is known.
    return in && out && tensorsWithinIndexing(layer, /*features=*/0, arg.loc);
  }
  }
  llvm_unreachable("unknown argument type");
}

/// Checks that each matrix of `layer`, applied to `features`-wide tensors, has few enough
/// elements for the kernels; a dimension that is still 0 (C not known yet) passes.
bool Sema::tensorsWithinIndexing(const LayerDecl &layer, int64_t features,
                                 const Location &loc) {
  const LayerKindInfo &info = layer.getInfo();
  for (const LayerTensor &tensor : info.tensors) {
    if (tensor.shape.rank < 2 || !hasTensor(info, tensor, layer))
      continue;
    std::string name = tensor.suffix.str(); // "qkv.weight" is "the qkv weight of ..."
    std::replace(name.begin(), name.end(), '.', ' ');
    int64_t rows = getDimSize(tensor.shape.dims[0], layer, features), cols = 1;
    for (unsigned d = 1; d < tensor.shape.rank && rows; ++d) {
      int64_t size = getDimSize(tensor.shape.dims[d], layer, features);
      if (!withinIndexing(loc, "the " + name + " of " + info.name + " layer '" + layer.name + "'",
                          rows, cols * size))
        return false;
      cols *= size;
    }
  }
  return true;
}

Value Sema::checkLayerCall(std::unique_ptr<ExprAST> &expr, LayerDecl &layer,
                           Value arg) {
  auto &call = cast<CallExprAST>(*expr);
  usedLayers.insert(&layer);
  Location loc = call.loc;
  if (isBefore(loc, layer.loc)) {
    error(loc, "layer '" + layer.name + "' is used before its declaration");
    note(layer.loc, "declared here");
    return std::nullopt;
  }
  if (layer.kind == LayerKind::Parameter) {
    error(loc, "parameter '" + layer.name + "' is a value, not applied: use it as '" +
                   layer.name + "'");
    return std::nullopt;
  }
  if (arg && arg->isNumber()) {
    error(call.args.front()->loc,
          "layer '" + layer.name + "' is applied to a number, not a tensor");
    return std::nullopt;
  }
  expr = std::make_unique<LayerCallExprAST>(loc, call.callee, &layer,
                                            std::move(call.args.front()));
  if (!arg)
    return std::nullopt;
  return applyLayer(layer, *arg, loc);
}

/// A conv2d patch embedding of an image [B, C, H, W]: tokens [B, (H/K)(W/K), OUT].
Value Sema::applyConv2d(LayerDecl &layer, const ValueType &input, const Location &loc) {
  if (input.kind != ValueType::Kind::Image) {
    error(loc, "conv2d layer '" + layer.name + "' takes an image [B, C, H, W], not " +
                   input.describe());
    return std::nullopt;
  }
  if (layer.kernel != layer.stride) {
    error(layer.loc, formatv("conv2d layer '{0}' has kernel = {1} and stride = {2}: only a "
                             "patch embedding, kernel = stride, is supported",
                             layer.name, layer.kernel, layer.stride));
    return std::nullopt;
  }
  int64_t channels = input.shape[0], height = input.shape[1], width = input.shape[2];
  if (channels != layer.inFeatures) {
    error(loc, formatv("conv2d layer '{0}' expects {1} input channels, got {2}", layer.name,
                       layer.inFeatures, channels));
    return std::nullopt;
  }
  for (auto [what, size] : {std::pair<const char *, int64_t>{"height", height}, {"width", width}})
    if (size % layer.kernel) {
      error(loc, formatv("the image's {0} {1} is not divisible by the patch size {2} of "
                         "conv2d layer '{3}'",
                         what, size, layer.kernel, layer.name));
      return std::nullopt;
    }
  int64_t patches = (height / layer.kernel) * (width / layer.kernel);
  if (!withinIndexing(loc, "a sample of the output of conv2d layer '" + layer.name + "'",
                      patches, layer.outFeatures) ||
      !withinIndexing(loc, "a sample of the patches of conv2d layer '" + layer.name + "'",
                      patches, layer.inFeatures * layer.kernel * layer.kernel))
    return std::nullopt;
  return ValueType::tokensOf(patches, layer.outFeatures);
}

/// An embedding of token ids (or of positions(ids)) [B, N]: tokens [B, N, OUT].
Value Sema::applyEmbedding(LayerDecl &layer, const ValueType &input, const Location &loc) {
  if (input.kind != ValueType::Kind::Ids && input.kind != ValueType::Kind::Positions) {
    error(loc, "embedding layer '" + layer.name + "' takes token ids, integers [B, N], or "
                   "positions(ids), not " + input.describe());
    return std::nullopt;
  }
  if (input.kind == ValueType::Kind::Positions && atMost(input.tokens) > layer.inFeatures) {
    error(loc, formatv("embedding layer '{0}' has {1} rows, fewer than the {2}{3} positions it "
                       "is applied to",
                       layer.name, layer.inFeatures,
                       input.tokens == kRunTimeTokens ? "up to " : "", atMost(input.tokens)));
    return std::nullopt;
  }
  if (!withinIndexing(loc, "a sample of the output of embedding layer '" + layer.name + "'",
                      input.tokens, layer.outFeatures))
    return std::nullopt;
  return ValueType::tokensOf(input.tokens, layer.outFeatures);
}

/// The value of `layer` applied to `input` at `loc`.
Value Sema::applyLayer(LayerDecl &layer, const ValueType &input, const Location &loc) {
  if (invalidLayers.count(&layer))
    return std::nullopt;
  if (layer.kind == LayerKind::Conv2d)
    return applyConv2d(layer, input, loc);
  if (layer.kind == LayerKind::Embedding)
    return applyEmbedding(layer, input, loc);
  if (!input.isActivation()) {
    using K = ValueType::Kind;
    error(loc, "layer '" + layer.name + "' is applied to " + input.describe() +
                   (input.kind == K::Image ? ", an image: apply a conv2d layer to it"
                    : input.kind == K::Parameter
                        ? ", a parameter: layers apply to tensors [B, ...]"
                        : ": apply an embedding layer to token ids"));
    return std::nullopt;
  }
  if (isAttention(layer.kind) && input.kind != ValueType::Kind::Tokens) {
    error(loc, "attention layer '" + layer.name + "' takes tokens [B, N, C], not " +
                   input.describe());
    return std::nullopt;
  }
  int64_t width = input.features;
  ValueType result = input;
  if (layer.kind == LayerKind::Linear) {
    if (width != layer.inFeatures) {
      error(loc, formatv("linear layer '{0}' expects {1} input features, got {2}",
                         layer.name, layer.inFeatures, width));
      return std::nullopt;
    }
    if (!withinIndexing(loc, "a sample of the output of linear layer '" + layer.name + "'",
                        input.rows(), layer.outFeatures))
      return std::nullopt;
    result.features = layer.outFeatures;
    return result;
  }
  // The other kinds take their features from the tensor, but have one set of
  // weights: every use must agree with the first.
  if (!layer.features) {
    if (isAttention(layer.kind) && width % layer.heads) {
      error(loc, formatv("attention layer '{0}' has {1} heads, which do not divide its "
                         "{2} features",
                         layer.name, layer.heads, width));
      return std::nullopt;
    }
    if (!tensorsWithinIndexing(layer, width, loc))
      return std::nullopt;
    // Attention computes q, k and v as one activation of 3 x width features.
    if (isAttention(layer.kind) &&
        !withinIndexing(loc, "a sample of the qkv of attention layer '" + layer.name + "'",
                        input.rows(), 3 * width))
      return std::nullopt;
    layer.features = width;
    firstApplied[&layer] = loc;
  } else if (layer.features != width) {
    error(loc, formatv("layer '{0}' is applied to {1} features here but to {2} before",
                       layer.name, width, layer.features));
    note(firstApplied[&layer], "first applied here");
    return std::nullopt;
  }
  return result;
}
