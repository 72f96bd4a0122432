//===- LayerKindsTest.cpp - The table of layer kinds and its documentation ===//

#include "blockc/Frontend/AST.h"
#include "blockc/Frontend/LayerKinds.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace blockc::ast;

namespace {

std::string spellDim(ShapeDim dim) {
  switch (dim) {
  case ShapeDim::C:
    return "C";
  case ShapeDim::ThreeC:
    return "3C";
  case ShapeDim::In:
    return "IN";
  case ShapeDim::Out:
    return "OUT";
  case ShapeDim::Kernel:
    return "K";
  }
  return "?";
}

/// A default as docs/language.md writes it: `1e-5`, `true`, the block's (precision).
std::string spellDefault(const LayerArgument &argument) {
  if (argument.type == ArgumentType::Bool)
    return argument.defaultValue ? "true" : "false";
  if (argument.type == ArgumentType::Precision)
    return "the block's";
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", argument.defaultValue);
  for (const char *exponent : {"e-0", "e+0"})
    if (size_t at = text.find(exponent); at != std::string::npos)
      text.erase(at + 2, 1);
  return text;
}

std::string renderArguments(const LayerKindInfo &info) {
  if (info.arguments.empty())
    return "none";
  std::vector<std::string> parts;
  for (const LayerArgument &argument : info.arguments) {
    std::string part = "`" + argument.key.str() + "`";
    if (!argument.required)
      part += " (default " + spellDefault(argument) + ")";
    parts.push_back(part);
  }
  return llvm::join(parts, ", ");
}

std::string renderTensors(const LayerKindInfo &info) {
  std::vector<std::string> parts;
  for (const LayerTensor &tensor : info.tensors) {
    std::vector<std::string> dims;
    for (unsigned i = 0; i < tensor.shape.rank; ++i)
      dims.push_back(spellDim(tensor.shape.dims[i]));
    // A parameter's tensor is the layer's name itself, of the shape it is declared with.
    std::string part = tensor.shape.given
                           ? "`NAME: [SHAPE]`"
                           : "`" + tensor.suffix.str() + ": [" + llvm::join(dims, ", ") + "]`";
    std::vector<std::string> notes;
    if (tensor.dtype == TensorDType::I64)
      notes.push_back("int64");
    if (!tensor.read)
      notes.push_back("accepted and ignored");
    if (!tensor.presentIf.empty())
      notes.push_back("if `" + tensor.presentIf.str() + " = true`");
    if (!notes.empty())
      part += " (" + llvm::join(notes, ", ") + ")";
    parts.push_back(part);
  }
  return llvm::join(parts, ", ");
}

/// docs/language.md's table of layer kinds, as the table of LayerKinds.cpp renders it.
std::string renderMarkdown() {
  std::string text = "| kind | arguments | tensors (`NAME.` + key: shape) | computes |\n"
                     "|---|---|---|---|\n";
  for (const LayerKindInfo &info : getLayerKinds())
    text += "| `" + info.name.str() + "` | " + renderArguments(info) + " | " +
            renderTensors(info) + " | " + info.description.str() + " |\n";
  return text;
}

TEST(LayerKinds, InTheOrderOfLayerKindWithUniqueNames) {
  llvm::StringSet<> names;
  for (auto [i, info] : llvm::enumerate(getLayerKinds())) {
    EXPECT_EQ(static_cast<size_t>(info.kind), i) << info.name.str();
    EXPECT_TRUE(names.insert(info.name).second) << info.name.str() << " twice";
    EXPECT_EQ(lookupLayerKind(info.name), info.kind);
    EXPECT_EQ(getLayerKindName(info.kind), info.name);
    EXPECT_FALSE(info.description.empty()) << info.name.str();
    EXPECT_FALSE(info.description.contains('\n')) << info.name.str();
  }
  EXPECT_EQ(lookupLayerKind("gelu"), std::nullopt);
}

TEST(LayerKinds, ArgumentsHaveUniqueKeysLegalDefaultsAndAField) {
  for (const LayerKindInfo &info : getLayerKinds()) {
    llvm::StringSet<> keys;
    for (const LayerArgument &argument : info.arguments) {
      std::string where = info.name.str() + " " + argument.key.str();
      EXPECT_TRUE(keys.insert(argument.key).second) << where << " twice";
      EXPECT_EQ(info.findArgument(argument.key), &argument) << where;
      switch (argument.type) {
      case ArgumentType::Number:
        EXPECT_TRUE(argument.number) << where;
        EXPECT_TRUE(argument.required || std::isfinite(argument.defaultValue)) << where;
        break;
      case ArgumentType::Bool:
        EXPECT_TRUE(argument.boolean) << where;
        EXPECT_TRUE(argument.required || argument.defaultValue == 0 ||
                    argument.defaultValue == 1)
            << where;
        break;
      case ArgumentType::Size:
        // A size has no sensible default: it is the layer's shape.
        EXPECT_TRUE(argument.size && argument.required) << where;
        EXPECT_FALSE(argument.placeholder.empty()) << where;
        break;
      case ArgumentType::Sizes:
        // Sema matches `IN -> OUT` by this spelling.
        EXPECT_EQ(argument.key, "IN -> OUT") << where;
        EXPECT_TRUE(argument.size && argument.out && argument.required) << where;
        break;
      case ArgumentType::Precision:
        // Only the kinds made of linears have a number format to choose.
        EXPECT_TRUE(argument.text && !argument.required) << where;
        EXPECT_TRUE(info.kind == LayerKind::Linear || info.kind == LayerKind::Conv2d ||
                    info.kind == LayerKind::Attention ||
                    info.kind == LayerKind::MultiheadAttention)
            << where;
        break;
      }
    }
  }
}

TEST(LayerKinds, TensorsHaveUniqueKeysAndShapesFromTheirArguments) {
  for (const LayerKindInfo &info : getLayerKinds()) {
    llvm::StringSet<> suffixes;
    bool hasSizes = llvm::any_of(info.arguments, [](const LayerArgument &argument) {
      return argument.type == ArgumentType::Sizes;
    });
    EXPECT_FALSE(info.tensors.empty()) << info.name.str();
    for (const LayerTensor &tensor : info.tensors) {
      std::string where = info.name.str() + " " + tensor.suffix.str();
      EXPECT_TRUE(suffixes.insert(tensor.suffix).second) << where << " twice";
      EXPECT_LE(tensor.shape.rank, 4u) << where;
      EXPECT_EQ(tensor.suffix.empty(), tensor.shape.given) << where << ": a given shape is a parameter's";
      // A kind with sizes `IN -> OUT` sizes its tensors by them (and a kernel size K), the
      // others by the C they are applied to.
      for (unsigned i = 0; i < tensor.shape.rank; ++i) {
        ShapeDim dim = tensor.shape.dims[i];
        bool fromSizes = dim == ShapeDim::In || dim == ShapeDim::Out || dim == ShapeDim::Kernel;
        EXPECT_EQ(fromSizes, hasSizes) << where << ": IN and OUT are a linear's or conv2d's sizes";
        if (dim == ShapeDim::Kernel)
          EXPECT_TRUE(info.findArgument("kernel")) << where;
      }
      if (!tensor.presentIf.empty()) {
        const LayerArgument *argument = info.findArgument(tensor.presentIf);
        EXPECT_TRUE(argument && argument->type == ArgumentType::Bool) << where;
      }
      // MLIRGen creates F32 weights only; other dtypes are checked and ignored.
      EXPECT_TRUE(!tensor.read || tensor.dtype == TensorDType::F32) << where;
    }
  }
}

TEST(LayerKinds, StateDictKeysAndShapesOfALayer) {
  LayerDecl linear;
  linear.name = "mlp.fc1";
  linear.kind = LayerKind::Linear;
  linear.inFeatures = 768;
  linear.outFeatures = 3072;
  linear.features = 768;
  linear.bias = false;
  EXPECT_EQ(stateDictKeys(linear), std::vector<std::string>{"mlp.fc1.weight"});
  linear.bias = true;
  EXPECT_EQ(stateDictKeys(linear),
            (std::vector<std::string>{"mlp.fc1.weight", "mlp.fc1.bias"}));
  EXPECT_EQ(linear.getShape(linear.getInfo().tensors[0]),
            (llvm::SmallVector<int64_t, 4>{3072, 768}));

  LayerDecl attn;
  attn.name = "attn";
  attn.kind = LayerKind::Attention;
  attn.features = 64;
  attn.qkvBias = true;
  EXPECT_EQ(stateDictKeys(attn),
            (std::vector<std::string>{"attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight"}));
  EXPECT_EQ(attn.getShape(attn.getInfo().tensors[0]), (llvm::SmallVector<int64_t, 4>{192, 64}));

  LayerDecl conv;
  conv.name = "patch_embed.proj";
  conv.kind = LayerKind::Conv2d;
  conv.inFeatures = 3;
  conv.outFeatures = 768;
  conv.kernel = 16;
  conv.bias = true;
  EXPECT_EQ(stateDictKeys(conv),
            (std::vector<std::string>{"patch_embed.proj.weight", "patch_embed.proj.bias"}));
  EXPECT_EQ(conv.getShape(conv.getInfo().tensors[0]),
            (llvm::SmallVector<int64_t, 4>{768, 3, 16, 16}));

  LayerDecl cls;
  cls.name = "cls_token";
  cls.kind = LayerKind::Parameter;
  cls.shape = {1, 1, 768};
  EXPECT_EQ(stateDictKeys(cls), std::vector<std::string>{"cls_token"});
  EXPECT_EQ(cls.getShape(cls.getInfo().tensors[0]), (llvm::SmallVector<int64_t, 4>{1, 1, 768}));

  LayerDecl bn;
  bn.name = "bn";
  bn.kind = LayerKind::BatchNorm;
  EXPECT_EQ(stateDictKeys(bn).back(), "bn.num_batches_tracked");
  EXPECT_TRUE(bn.getShape(bn.getInfo().tensors.back()).empty());
}

/// docs/language.md must show the table as it is: a new or changed row fails here
/// until the docs are updated with the rendering printed below.
TEST(LayerKinds, LanguageDocsShowTheTable) {
  auto docs = llvm::MemoryBuffer::getFile(BLOCKC_DOCS_DIR "/language.md");
  ASSERT_TRUE(docs) << "cannot read " BLOCKC_DOCS_DIR "/language.md";
  std::string table = renderMarkdown();
  EXPECT_TRUE((*docs)->getBuffer().contains(table))
      << "docs/language.md's table of layer kinds differs from LayerKinds.cpp; it should "
         "read:\n"
      << table;
}

} // namespace
