//===- MatmulAlgorithm.cpp - linear with fused prologue and epilogue ------===//
//
// out(o, r) = epilogue(bias(o) + sum_k A(k, r) W(o, k)), where A is the input or the norm
// of it (norm fused into the matmul: computed once per block of rows, in cache, never
// written to memory) and the epilogue is the kernel's elementwise chain: activation,
// residual add, LayerScale, scale, unfolded BatchNorm.
//
//===----------------------------------------------------------------------===//
#include "Matmul.h"

using namespace blockc;
using namespace Halide;

/// The patches of an image as rows: feature c of row r is pixel (ch, py P + i, px P + j)
/// of sample b, with r = b Np + py (W/P) + px and c = ch P P + i P + j (PatchesOp).
static Func definePatches(PatchesOp patches, const ValueFuncs &funcs, const RowVars &v) {
  llvm::ArrayRef<int64_t> image =
      mlir::cast<mlir::RankedTensorType>(patches.getImage().getType()).getShape();
  const int p = int(patches.getPatch()), across = int(image[3]) / p;
  const int perSample = int(tokensOf(patches.getResult()));
  Var c = v.c, r = v.r;
  Expr b = r / perSample, t = r % perSample;
  Func f("patches");
  f(c, r) = funcs.lookup(patches.getImage())((t % across) * p + c % p, (t / across) * p + (c / p) % p,
                                             c / (p * p), b);
  return f;
}

int64_t blockc::weightPanelWidth(mlir::Value constant, const TargetInfo &target) {
  auto producer = constant.getDefiningOp<KernelOp>();
  auto type = mlir::cast<mlir::RankedTensorType>(constant.getType());
  if (target.isGpu() || !producer || producer.getKind() != KernelKind::Prepare ||
      type.getRank() != 2)
    return 0;
  // Every reader is a run kernel's linear, reading it as its weight.
  for (mlir::OpOperand &use : constant.getUses()) {
    auto reader = mlir::dyn_cast<KernelOp>(use.getOwner());
    if (!reader || reader.getKind() == KernelKind::Prepare)
      return 0;
    mlir::Value arg = reader.getBody().front().getArgument(use.getOperandNumber());
    for (mlir::OpOperand &inner : arg.getUses()) {
      auto linear = mlir::dyn_cast<LinearOp>(inner.getOwner());
      if (!linear || linear.getWeight() != arg)
        return 0;
    }
  }
  const int64_t out = type.getDimSize(1), panel = matmulCpuTileCols(out, target);
  return panel < out && out % panel == 0 ? panel : 0;
}

int64_t blockc::weightGroup(mlir::Value constant, const TargetInfo &target) {
  auto type = mlir::cast<mlir::RankedTensorType>(constant.getType());
  mlir::Type element = type.getElementType();
  if (!weightPanelWidth(constant, target))
    return 1;
  int64_t group = 1;
  if (element.isBF16() && target.hasBF16Dot())
    group = 2;
  else if (element.isInteger(8))
    group = target.hasInt8Dot() ? 4 : 2;
  return type.getDimSize(0) % group == 0 ? group : 1;
}

Type blockc::weightStorageType(mlir::Value constant, const TargetInfo &target) {
  const Type type = elementTypeOf(constant);
  if (type == Int(8) && !target.isArm() && !target.hasInt8Dot() &&
      weightPanelWidth(constant, target))
    return Int(16);
  return type;
}

LoweredKernel blockc::lowerMatmul(KernelOp kernel, const TargetInfo &target) {
  LoweredKernel lowered;
  ValueFuncs funcs = bindInputs(kernel, lowered, target);
  MatmulFuncs f;
  Var c = f.v.c, r = f.v.r;
  std::vector<NormFuncs> epilogueNorms;
  bool afterLinear = false;
  for (mlir::Operation &op : kernel.getBody().front().without_terminator()) {
    if (auto linear = mlir::dyn_cast<LinearOp>(op)) {
      mlir::Value weight = linear.getWeight();
      f.inFeatures = channelsOf(linear.getInput());
      f.outFeatures = channelsOf(linear.getResult());
      f.tokens = plannedTokens(linear.getInput());
      f.runTimeTokens = mlir::ShapedType::isDynamic(tokensOf(linear.getInput()));
      f.input = funcs.lookup(linear.getInput());
      f.k = RDom(0, int(f.inFeatures), "k");
      f.weight = funcs.lookup(weight);
      f.acc = Func("acc");
      Expr bias = linear.getBias() ? funcs.lookup(linear.getBias())(c) : Expr(0.f);
      mlir::Type element = mlir::cast<mlir::RankedTensorType>(weight.getType()).getElementType();
      if (element.isF32()) {
        f.acc(c, r) = bias;
        f.acc(c, r) += f.input(f.k, r) * f.weight(c, f.k);
        funcs[linear.getResult()] = f.acc;
        afterLinear = true;
        continue;
      }
      // The bind-time constant the weight argument is, whose layout the prepare kernel chose.
      const mlir::Value constant =
          kernel.getOperand(mlir::cast<mlir::BlockArgument>(weight).getArgNumber());
      f.group = weightGroup(constant, target);
      f.narrowInput = Func("narrow_input");
      if (element.isBF16()) {
        // bf16 products accumulated in float32.
        f.narrowInput(c, r) = roundToBFloat16(f.input(c, r));
        f.acc(c, r) = bias;
        f.acc(c, r) += cast<float>(f.narrowInput(f.k, r)) * cast<float>(f.weight(c, f.k));
        funcs[linear.getResult()] = f.acc;
      } else {
        // int8: each group of a row's inputs quantized to 8 bits over its own range (an
        // outlier feature costs only its group the resolution), x ~ scale (q - zp) with q
        // in [0, 255]; stored as q (unsigned, x86: vpdpbusd, pmaddwd) or q - 128 (signed,
        // AArch64: sdot). Per group, the int32 sum of the stored values times the weights,
        // plus (offset - zp) times the group's weight sum, is sum (q - zp) W.
        const int64_t groupCount =
            mlir::cast<mlir::RankedTensorType>(linear.getWeightSums().getType()).getDimSize(0);
        const int g = int(f.inFeatures / groupCount);
        f.quantGroup = g;
        f.inGroup = RDom(0, g, "kg");
        Var grp("g");
        f.groupMin = Func("group_min");
        f.groupMax = Func("group_max");
        f.groupMin(grp, r) = 0.f; // zero is in every range: exactly representable
        f.groupMax(grp, r) = 0.f;
        f.groupMin(grp, r) = min(f.groupMin(grp, r), f.input(grp * g + f.inGroup, r));
        f.groupMax(grp, r) = max(f.groupMax(grp, r), f.input(grp * g + f.inGroup, r));
        // Each group's scale and zero point, once per row block (not per column panel).
        const bool unsignedInput = !target.isArm();
        const float offset = unsignedInput ? 0.f : 128.f;
        f.groupScale = Func("group_scale");
        f.groupScale(grp, r) = max(f.groupMax(grp, r) - f.groupMin(grp, r), 1e-30f) * (1.f / 255.f);
        // The inputs are multiplied by the group's inverse scale, computed once, not divided
        // by the scale per vector (a division is many times a multiplication's cost).
        f.groupInverseScale = Func("group_inverse_scale");
        f.groupInverseScale(grp, r) = 1.f / f.groupScale(grp, r);
        f.groupZeroPoint = Func("group_zero_point");
        f.groupZeroPoint(grp, r) = round(-f.groupMin(grp, r) * f.groupInverseScale(grp, r));
        // round(x / scale) + zp as the truncation of x / scale + zp + 1/2 (zp is whole,
        // the sum clamped to [0, 255] first): one multiply-add and a truncating convert,
        // where round() is two 8-float instructions on AVX-512.
        Expr q = cast<int32_t>(clamp(f.input(c, r) * f.groupInverseScale(c / g, r) +
                                         (f.groupZeroPoint(c / g, r) + 0.5f),
                                     0.f, 255.f));
        // Stored as the weight is: 8 bits, or 16 where the weight is widened.
        const Type stored = weightStorageType(constant, target);
        f.narrowInput(c, r) = stored == Int(16)  ? cast<int16_t>(q)
                              : unsignedInput    ? cast<uint8_t>(q)
                                                 : cast<int8_t>(q - 128);
        Func sums = funcs.lookup(linear.getWeightSums());
        f.dot = Func("group_dot");
        f.dot(c, r, grp) = cast<int32_t>(offset - f.groupZeroPoint(grp, r)) * sums(c, grp);
        f.k = RDom(0, g, "k");
        f.dot(c, r, grp) += cast<int32_t>(f.narrowInput(grp * g + f.k, r)) *
                            cast<int32_t>(f.weight(c, grp * g + f.k));
        f.groups = RDom(0, int(groupCount), "groups");
        f.acc(c, r) = 0.f;
        f.acc(c, r) += cast<float>(f.dot(c, r, f.groups)) * f.groupScale(f.groups, r);
        Func dequantized("dequantized");
        dequantized(c, r) = f.acc(c, r) * funcs.lookup(linear.getWeightScales())(c) + bias;
        funcs[linear.getResult()] = dequantized;
      }
      afterLinear = true;
    } else if (auto patches = mlir::dyn_cast<PatchesOp>(op)) {
      funcs[patches.getResult()] = definePatches(patches, funcs, f.v);
      f.patches = true;
    } else if (std::optional<NormFuncs> norm = defineRowOp(&op, funcs, f.v, lowered)) {
      if (afterLinear)
        epilogueNorms.push_back(*norm); // a per-channel affine BatchNorm, inlined
      else
        f.prologue = norm;
    }
  }
  f.out = rowOutput(kernel, funcs, f.v, lowered);
  for (NormFuncs &norm : epilogueNorms)
    f.perChannel.insert(f.perChannel.end(), norm.perChannel.begin(), norm.perChannel.end());
  lowered.space = target.isGpu() ? matmulGpuSpace(f) : matmulCpuSpace(f, target);
  lowered.schedule = [f, target](const KnobValues &knobs) mutable {
    if (target.isGpu())
      scheduleMatmulGpu(f, target, knobs);
    else
      scheduleMatmulCpu(f, target, knobs);
  };
  lowered.pipeline = Pipeline(f.out);
  return lowered;
}
