//===- LayerKinds.h - The table of layer kinds ---------------------*- C++ -*-===//
//
// One row per layer kind of the block spec language (docs/language.md): its name, the
// arguments it takes with their defaults, and the state-dict tensors it owns with their
// shapes and dtypes. Sema checks a declaration's arguments against its row, the AST
// names a layer's tensors from it, MLIRGen creates the weights from it (and builds the
// kind's op itself), and a unit test requires docs/language.md's table of layer kinds
// to be this table rendered as markdown.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_LAYERKINDS_H
#define BLOCKC_FRONTEND_LAYERKINDS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace blockc::ast {

enum class LayerKind {
  LayerNorm,
  RMSNorm,
  BatchNorm,
  Linear,
  Attention,
  MultiheadAttention,
  LayerScale,
  Conv2d,
  Embedding,
  Parameter
};

/// A declared layer's settings, which Sema fills in from its arguments and their
/// defaults; a kind uses the fields its arguments name.
struct LayerSettings {
  double eps = 0;
  int64_t inFeatures = 0, outFeatures = 0;
  bool bias = false;
  int64_t heads = 0;
  bool qkvBias = false, projBias = false;
  int64_t kernel = 0, stride = 0;
  llvm::SmallVector<int64_t, 4> shape; // a parameter's
  /// The number format of the layer's linears (one of kPrecisions); empty: its block's,
  /// else its model's, else float32.
  std::string precision;
};

/// The number formats `precision = ...` names (a layer's, a block's or a model's), as
/// `blockc compile --precision` spells them.
constexpr llvm::StringRef kPrecisions[] = {"fp32", "bf16", "int8"};

/// What a layer argument's value must be.
enum class ArgumentType {
  Number, // `key = NUMBER`, any number
  Bool,   // `key = true | false`
  Size,   // `key = NUMBER`, a positive integer
  Sizes,  // `IN -> OUT`, two positive integers
  Shape,  // `[d0, d1, ...]`, positive integers
  Precision, // `key = fp32 | bf16 | int8`
};

/// One argument of a layer kind, and the settings field that Sema stores it in.
struct LayerArgument {
  llvm::StringRef key; // as messages spell it: "eps", or "IN -> OUT" for Sizes
  ArgumentType type;
  bool required;
  double defaultValue; // when not required; a Bool's is 0 or 1
  double LayerSettings::*number = nullptr;
  bool LayerSettings::*boolean = nullptr;
  int64_t LayerSettings::*size = nullptr; // a Size, or IN of Sizes
  int64_t LayerSettings::*out = nullptr;  // OUT of Sizes
  /// What stands for the value in "needs 'heads = H'".
  llvm::StringRef placeholder = "";
  llvm::SmallVector<int64_t, 4> LayerSettings::*shape = nullptr; // a Shape
  std::string LayerSettings::*text = nullptr;                      // a Precision
};

constexpr LayerArgument numberArgument(llvm::StringRef key, double LayerSettings::*field,
                                       double defaultValue) {
  return {key, ArgumentType::Number, false, defaultValue, field};
}
constexpr LayerArgument boolArgument(llvm::StringRef key, bool LayerSettings::*field,
                                     bool defaultValue) {
  return {key, ArgumentType::Bool, false, defaultValue ? 1.0 : 0.0, nullptr, field};
}
constexpr LayerArgument sizeArgument(llvm::StringRef key, int64_t LayerSettings::*field,
                                     llvm::StringRef placeholder) {
  return {key, ArgumentType::Size, true, 0, nullptr, nullptr, field, nullptr, placeholder};
}
constexpr LayerArgument sizesArgument(int64_t LayerSettings::*in, int64_t LayerSettings::*out) {
  return {"IN -> OUT", ArgumentType::Sizes, true, 0, nullptr, nullptr, in, out};
}
constexpr LayerArgument shapeArgument(llvm::SmallVector<int64_t, 4> LayerSettings::*shape) {
  return {"[SHAPE]", ArgumentType::Shape, true, 0, nullptr, nullptr, nullptr, nullptr, "", shape};
}
constexpr LayerArgument precisionArgument() {
  return {"precision", ArgumentType::Precision, false, 0,       nullptr,
          nullptr,     nullptr,                 nullptr, "",     nullptr,
          &LayerSettings::precision};
}

/// A size a tensor's shape is made of: C is the features of the tensor the layer is
/// applied to (IN for a linear), IN and OUT a linear's or conv2d's sizes, K a conv2d's
/// kernel size.
enum class ShapeDim { C, ThreeC, In, Out, Kernel };

/// A tensor's shape rule: `rank` sizes, or (given) the shape the declaration states.
struct TensorShape {
  unsigned rank;
  ShapeDim dims[4];
  bool given = false;
};

constexpr TensorShape scalarShape() { return {0, {}}; }
constexpr TensorShape shape(ShapeDim d0) { return {1, {d0}}; }
constexpr TensorShape shape(ShapeDim d0, ShapeDim d1) { return {2, {d0, d1}}; }
constexpr TensorShape shape(ShapeDim d0, ShapeDim d1, ShapeDim d2, ShapeDim d3) {
  return {4, {d0, d1, d2, d3}};
}
constexpr TensorShape givenShape() { return {0, {}, true}; }

enum class TensorDType { F32, I64 };

/// A state-dict tensor of a layer, `NAME.suffix` (`NAME` for an empty suffix).
struct LayerTensor {
  llvm::StringRef suffix; // "weight", "qkv.bias", ..., "" for a parameter
  TensorShape shape;
  TensorDType dtype = TensorDType::F32;
  /// The key of a Bool argument without which the layer has no such tensor ("bias");
  /// empty if the tensor is always there.
  llvm::StringRef presentIf = "";
  /// False for a tensor the state dict holds but inference does not read
  /// (BatchNorm's num_batches_tracked): the runtime checks it and ignores it.
  bool read = true;
};

struct LayerKindInfo {
  llvm::StringRef name; // in the language: `layernorm`, ...
  LayerKind kind;
  llvm::ArrayRef<LayerArgument> arguments; // in the order messages and dumps list them
  llvm::ArrayRef<LayerTensor> tensors;     // in state-dict order
  llvm::StringRef description;             // markdown, one line, for docs/language.md

  const LayerArgument *findArgument(llvm::StringRef key) const;
};

/// Every layer kind, in the order of LayerKind.
llvm::ArrayRef<LayerKindInfo> getLayerKinds();
const LayerKindInfo &getLayerKindInfo(LayerKind kind);
std::optional<LayerKind> lookupLayerKind(llvm::StringRef name);
/// The spelling of a layer kind in the language (`layernorm`, ...).
llvm::StringRef getLayerKindName(LayerKind kind);

/// The length of `dim` for a layer with `settings` applied to `features`-wide tensors.
int64_t getDimSize(ShapeDim dim, const LayerSettings &settings, int64_t features);
/// Whether a layer with `settings` has `tensor` (an optional one only if its Bool is set).
bool hasTensor(const LayerKindInfo &info, const LayerTensor &tensor,
               const LayerSettings &settings);

} // namespace blockc::ast

#endif // BLOCKC_FRONTEND_LAYERKINDS_H
