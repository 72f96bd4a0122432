//===- ReducePrecision.cpp - linears and attention in a narrower format ---===//
//
// Halving (bf16) or quartering (int8) a weight's bytes cuts what a matmul streams, and CPUs
// with AVX512-BF16 and VNNI multiply bf16 pairs and int8 quadruples at two and four times
// the float32 rate. The weight file stays float32: the conversion is one more bind-time op
// after the others (a BatchNorm is folded in float32, then converted), so the prepare kernel
// that transposes or folds a weight also converts it. Attention cores follow the format
// of their layer, in bf16 where it is narrower than float32.
//
//===----------------------------------------------------------------------===//
#include "blockc/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace blockc {
#define GEN_PASS_DEF_REDUCEPRECISION
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

/// The inputs an int8 linear quantizes together: at most 64 (few enough that an outlier
/// feature costs only its group the resolution, enough that a group's scaling is a small
/// part of its products), dividing K, and a multiple of 4 (or 2) where K is, so that a group
/// holds whole dot-product groups (Matmul.h: weightGroup).
int64_t quantizationGroup(int64_t inFeatures) {
  const int64_t step = inFeatures % 4 == 0 ? 4 : inFeatures % 2 == 0 ? 2 : 1;
  for (int64_t g = 64 / step * step; g > step; g -= step)
    if (inFeatures % g == 0)
      return g;
  return step;
}

struct ReducePrecisionPass : blockc::impl::ReducePrecisionBase<ReducePrecisionPass> {
  using ReducePrecisionBase::ReducePrecisionBase;

  void runOnOperation() override {
    std::optional<Precision> every;
    if (!precision.empty()) {
      every = symbolizePrecision(precision);
      if (!every) {
        getOperation().emitError() << "unknown precision '" << precision
                                   << "' (expected fp32, bf16 or int8)";
        return signalPassFailure();
      }
    }
    // A weight several linears read in one format (CSE joined their transposes) is
    // converted once.
    llvm::DenseMap<std::pair<Value, Precision>, Operation *> converted;
    getOperation().walk([&](LinearOp linear) {
      const Precision format =
          every.value_or(linear.getPrecision().value_or(Precision::FP32));
      linear.removePrecisionAttr();
      Value weight = linear.getWeight();
      auto type = cast<RankedTensorType>(weight.getType());
      if (format == Precision::FP32 || !type.getElementType().isF32())
        return;
      Operation *&conversion = converted[{weight, format}];
      if (!conversion) {
        OpBuilder builder(linear.getContext());
        builder.setInsertionPointAfterValue(weight);
        if (format == Precision::BF16) {
          conversion = builder.create<ToBF16Op>(weight.getLoc(),
                                                type.clone(builder.getBF16Type()), weight);
        } else {
          const int64_t in = type.getDimSize(0), out = type.getDimSize(1);
          const int64_t group = quantizationGroup(in);
          conversion = builder.create<QuantizeOp>(
              weight.getLoc(), type.clone(builder.getI8Type()),
              RankedTensorType::get({out}, builder.getF32Type()),
              RankedTensorType::get({in / group, out}, builder.getI32Type()), weight,
              builder.getI64IntegerAttr(group));
        }
      }
      linear.getWeightMutable().assign(conversion->getResult(0));
      if (auto quantize = dyn_cast<QuantizeOp>(conversion)) {
        linear.getWeightScalesMutable().assign(quantize.getScales());
        linear.getWeightSumsMutable().assign(quantize.getSums());
      }
    });
    // An attention core multiplies activations by activations (no weight to quantize once):
    // an int8 request gives it bf16 products, not a quantization of every score tile.
    getOperation().walk([&](MHAOp mha) {
      const Precision format = every.value_or(mha.getPrecision().value_or(Precision::FP32));
      if (format == Precision::FP32)
        mha.removePrecisionAttr();
      else
        mha.setPrecision(Precision::BF16);
    });
  }
};
} // namespace
