//===- LayerKinds.cpp - The table of layer kinds --------------------------===//
//
// Adding a layer kind: a row here (and its LayerKind), its op in the dialect, its case
// in MLIRGen's genLayer, its lowering, and its tests; then render the row into
// docs/language.md (the LayerKinds unit test prints the expected table).
//
//===----------------------------------------------------------------------===//

#include "blockc/Frontend/LayerKinds.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"

using namespace blockc::ast;

namespace {

using D = ShapeDim;
using S = LayerSettings;

constexpr LayerArgument kLayerNormArguments[] = {numberArgument("eps", &S::eps, 1e-5)};
constexpr LayerArgument kRMSNormArguments[] = {numberArgument("eps", &S::eps, 1e-6)};
constexpr LayerArgument kBatchNormArguments[] = {numberArgument("eps", &S::eps, 1e-5)};
// The kinds made of linears take `precision`.
constexpr LayerArgument kLinearArguments[] = {
    sizesArgument(&S::inFeatures, &S::outFeatures),
    boolArgument("bias", &S::bias, true), precisionArgument()};
constexpr LayerArgument kAttentionArguments[] = {
    sizeArgument("heads", &S::heads, "H"),
    boolArgument("qkv_bias", &S::qkvBias, true),
    boolArgument("proj_bias", &S::projBias, true), precisionArgument()};
constexpr LayerArgument kMultiheadAttentionArguments[] = {
    sizeArgument("heads", &S::heads, "H"),
    boolArgument("bias", &S::bias, true), precisionArgument()};

constexpr LayerArgument kConv2dArguments[] = {
    sizesArgument(&S::inFeatures, &S::outFeatures),
    sizeArgument("kernel", &S::kernel, "K"),
    sizeArgument("stride", &S::stride, "K"),
    boolArgument("bias", &S::bias, true), precisionArgument()};
constexpr LayerArgument kEmbeddingArguments[] = {sizesArgument(&S::inFeatures, &S::outFeatures)};
constexpr LayerArgument kParameterArguments[] = {shapeArgument(&S::shape)};

constexpr LayerTensor kLayerNormTensors[] = {{"weight", shape(D::C)}, {"bias", shape(D::C)}};
constexpr LayerTensor kRMSNormTensors[] = {{"weight", shape(D::C)}};
constexpr LayerTensor kBatchNormTensors[] = {
    {"weight", shape(D::C)},
    {"bias", shape(D::C)},
    {"running_mean", shape(D::C)},
    {"running_var", shape(D::C)},
    {"num_batches_tracked", scalarShape(), TensorDType::I64, "", /*read=*/false}};
constexpr LayerTensor kLinearTensors[] = {
    {"weight", shape(D::Out, D::In)},
    {"bias", shape(D::Out), TensorDType::F32, "bias"}};
constexpr LayerTensor kAttentionTensors[] = {
    {"qkv.weight", shape(D::ThreeC, D::C)},
    {"qkv.bias", shape(D::ThreeC), TensorDType::F32, "qkv_bias"},
    {"proj.weight", shape(D::C, D::C)},
    {"proj.bias", shape(D::C), TensorDType::F32, "proj_bias"}};
constexpr LayerTensor kMultiheadAttentionTensors[] = {
    {"in_proj_weight", shape(D::ThreeC, D::C)},
    {"in_proj_bias", shape(D::ThreeC), TensorDType::F32, "bias"},
    {"out_proj.weight", shape(D::C, D::C)},
    {"out_proj.bias", shape(D::C), TensorDType::F32, "bias"}};
constexpr LayerTensor kLayerScaleTensors[] = {{"gamma", shape(D::C)}};
constexpr LayerTensor kConv2dTensors[] = {
    {"weight", shape(D::Out, D::In, D::Kernel, D::Kernel)},
    {"bias", shape(D::Out), TensorDType::F32, "bias"}};
constexpr LayerTensor kEmbeddingTensors[] = {{"weight", shape(D::In, D::Out)}};
constexpr LayerTensor kParameterTensors[] = {{"", givenShape()}};

constexpr LayerKindInfo kLayerKinds[] = {
    {"layernorm", LayerKind::LayerNorm, kLayerNormArguments, kLayerNormTensors,
     "`(t - mean) / sqrt(var + eps) * weight + bias` over the features (PyTorch `LayerNorm`)"},
    {"rmsnorm", LayerKind::RMSNorm, kRMSNormArguments, kRMSNormTensors,
     "`t / sqrt(mean(t^2) + eps) * weight` over the features"},
    {"batchnorm", LayerKind::BatchNorm, kBatchNormArguments, kBatchNormTensors,
     "`(t - running_mean) / sqrt(running_var + eps) * weight + bias` per feature, "
     "inference BatchNorm with the running statistics"},
    {"linear", LayerKind::Linear, kLinearArguments, kLinearTensors,
     "`t weight^T + bias` (PyTorch `Linear`)"},
    {"attention", LayerKind::Attention, kAttentionArguments, kAttentionTensors,
     "`proj(mha(qkv(t), heads = H))`, `qkv` and `proj` linears (timm `Attention`)"},
    {"multihead_attention", LayerKind::MultiheadAttention, kMultiheadAttentionArguments,
     kMultiheadAttentionTensors,
     "self-attention as `attention`, under PyTorch `MultiheadAttention`'s names (its packed "
     "`in_proj` and `out_proj`; `batch_first` layout)"},
    {"layerscale", LayerKind::LayerScale, {}, kLayerScaleTensors,
     "`t * gamma` per feature (timm `LayerScale`)"},
    {"conv2d", LayerKind::Conv2d, kConv2dArguments, kConv2dTensors,
     "patch embedding of an image `[B, IN, H, W]`: a Conv2d with `kernel = stride`, its "
     "output flattened to tokens `[B, (H/K) (W/K), OUT]` (timm `PatchEmbed`)"},
    {"embedding", LayerKind::Embedding, kEmbeddingArguments, kEmbeddingTensors,
     "row `id` of `weight` for each token id of integers `[B, N]`, to `[B, N, OUT]` (PyTorch "
     "`Embedding(IN, OUT)`); applied to `positions(ids)`, row `n` for token `n` (learned "
     "absolute positions, BERT)"},
    {"parameter", LayerKind::Parameter, kParameterArguments, kParameterTensors,
     "a learned tensor used as a value, not applied: `concat(cls_token, t)`, "
     "`t + pos_embed`"},
};

} // namespace

const LayerArgument *LayerKindInfo::findArgument(llvm::StringRef key) const {
  for (const LayerArgument &argument : arguments)
    if (argument.key == key)
      return &argument;
  return nullptr;
}

llvm::ArrayRef<LayerKindInfo> blockc::ast::getLayerKinds() { return kLayerKinds; }

const LayerKindInfo &blockc::ast::getLayerKindInfo(LayerKind kind) {
  const LayerKindInfo &info = kLayerKinds[static_cast<size_t>(kind)];
  assert(info.kind == kind && "kLayerKinds is in the order of LayerKind");
  return info;
}

std::optional<LayerKind> blockc::ast::lookupLayerKind(llvm::StringRef name) {
  for (const LayerKindInfo &info : kLayerKinds)
    if (info.name == name)
      return info.kind;
  return std::nullopt;
}

llvm::StringRef blockc::ast::getLayerKindName(LayerKind kind) {
  return getLayerKindInfo(kind).name;
}

int64_t blockc::ast::getDimSize(ShapeDim dim, const LayerSettings &settings,
                                int64_t features) {
  switch (dim) {
  case ShapeDim::C:
    return features;
  case ShapeDim::ThreeC:
    return 3 * features;
  case ShapeDim::In:
    return settings.inFeatures;
  case ShapeDim::Out:
    return settings.outFeatures;
  case ShapeDim::Kernel:
    return settings.kernel;
  }
  llvm_unreachable("unknown shape dimension");
}

bool blockc::ast::hasTensor(const LayerKindInfo &info, const LayerTensor &tensor,
                            const LayerSettings &settings) {
  if (tensor.presentIf.empty())
    return true;
  const LayerArgument *argument = info.findArgument(tensor.presentIf);
  assert(argument && argument->boolean && "presentIf names a Bool argument of the kind");
  return settings.*(argument->boolean);
}
