//===- OpSemantics.cpp - the math of each op as Halide expressions --------===//
#include "OpSemantics.h"

using namespace blockc;
using namespace Halide;
using mlir::Operation;

/// The polynomial with `coefficients` (from the highest power down) at x, by Horner's rule.
static Expr polynomial(Expr x, llvm::ArrayRef<float> coefficients) {
  Expr p = coefficients.front();
  for (float c : coefficients.drop_front())
    p = p * x + c;
  return p;
}

Expr blockc::roundToBFloat16(Expr value) {
  // Not 0x8000 (ties away from zero): Halide rewrites (x + 2^15) >> 16 as an overflow-safe
  // rounding shift of seven instructions.
  Expr bits = (reinterpret<uint32_t>(value) + cast<uint32_t>(0x7fff)) >> 16;
  return reinterpret(BFloat(16), cast<uint16_t>(bits));
}

Expr blockc::exp2OfNonPositive(Expr x) {
  // A weighted least-squares fit of 2^f on [-1/2, 1/2], from the highest power down.
  static const float coefficients[] = {1.3264622539281845e-03f, 9.6715195104479790e-03f,
                                       5.5507339537143707e-02f, 2.4022242426872253e-01f,
                                       6.9314700365066528e-01f, 1.f};
  // Adding 1.5 2^23 rounds t to the nearest integer k and leaves k in the low mantissa
  // bits, which shift into an exponent.
  Expr t = max(x, -127.f);
  Expr bits = reinterpret<int32_t>(t + 12582912.f);
  Expr f = t - cast<float>(bits - 0x4B400000);
  Expr twoToK = reinterpret<float>((bits << 23) + (127 << 23));
  return polynomial(f, coefficients) * twoToK;
}

bool blockc::isNormOp(Operation *op) {
  return mlir::isa<LayerNormOp, RMSNormOp, BatchNormOp, L2NormalizeOp>(op);
}

/// Whether a mask's entry (1 = token, 0 = padding) keeps its token.
Expr blockc::keeps(Expr maskValue) { return maskValue != cast(maskValue.type(), 0); }

NormFuncs blockc::defineNorm(Operation *op, Func x, const ValueFuncs &funcs, const RowVars &v) {
  NormFuncs norm;
  Var c = v.c, r = v.r;
  int64_t channels = channelsOf(op->getOperand(0));
  Expr n = cast<float>(int(channels));
  norm.k = RDom(0, int(channels), "k");
  // Run-time tokens: a run has at least one row per sample.
  norm.rows = mlir::ShapedType::isDynamic(tokensOf(op->getOperand(0))) ? 1 : tokensOf(op->getOperand(0));
  auto param = [&](mlir::Value value) { return funcs.lookup(value); };

  if (auto bn = mlir::dyn_cast<BatchNormOp>(op)) {
    auto [scale, shift] = batchNormScaleShift(bn, funcs, c);
    norm.perChannel = {scale, shift};
    norm.out(c, r) = x(c, r) * scale(c) + shift(c);
    return norm;
  }
  if (mlir::isa<L2NormalizeOp>(op)) {
    Func sumSq("sum_sq"), inv("inv_norm");
    sumSq(r) = 0.f;
    sumSq(r) += x(norm.k, r) * x(norm.k, r);
    inv(r) = 1.f / max(sqrt(sumSq(r)), 1e-12f); // PyTorch F.normalize's eps
    norm.reductions = {sumSq};
    norm.perRow = {inv};
    norm.out(c, r) = x(c, r) * inv(r);
    return norm;
  }
  if (auto rms = mlir::dyn_cast<RMSNormOp>(op)) {
    Func sumSq("sum_sq"), inv("inv_rms");
    float eps = rms.getEpsilon().convertToDouble();
    sumSq(r) = 0.f;
    sumSq(r) += x(norm.k, r) * x(norm.k, r);
    inv(r) = 1.f / sqrt(sumSq(r) / n + eps);
    norm.reductions = {sumSq};
    norm.perRow = {inv};
    norm.out(c, r) = x(c, r) * inv(r) * param(rms.getGamma())(c);
    return norm;
  }
  // LayerNorm, two passes (mean, then variance about it) for accuracy on large means.
  auto ln = mlir::cast<LayerNormOp>(op);
  Func sum("sum"), sumSqDev("sum_sq_dev"), inv("inv_std");
  float eps = ln.getEpsilon().convertToDouble();
  sum(r) = 0.f;
  sum(r) += x(norm.k, r);
  Expr mean = sum(r) / n;
  sumSqDev(r) = 0.f;
  Expr dev = x(norm.k, r) - sum(r) / n;
  sumSqDev(r) += dev * dev;
  inv(r) = 1.f / sqrt(sumSqDev(r) / n + eps);
  norm.reductions = {sum, sumSqDev};
  norm.perRow = {inv};
  norm.out(c, r) = (x(c, r) - mean) * inv(r) * param(ln.getGamma())(c) + param(ln.getBeta())(c);
  return norm;
}

namespace {
/// erf(x) as x P(x^2) / Q(x^2) on [-limit, limit] and +-1 beyond; the coefficients of P and
/// Q from the highest power of x^2 down.
struct RationalErf {
  float limit;
  llvm::ArrayRef<float> numerator, denominator;
};

/// Float32's erf, Eigen's and XLA's (from Cephes): degree 13 over 8, within 4e-7 of erf
/// everywhere. Half the operations of Halide::erf, whose cost showed in the matmul
/// epilogues of the MLPs.
const float float32ErfNumerator[] = {-2.72614225801306e-10f, 2.77068142495902e-08f,
                                     -2.10102402082508e-06f, -5.69250639462346e-05f,
                                     -7.34990630326855e-04f, -2.95459980854025e-03f,
                                     -1.60960333262415e-02f};
const float float32ErfDenominator[] = {-1.45660718464996e-05f, -2.13374055278905e-04f,
                                       -1.68282697438203e-03f, -7.37332916720468e-03f,
                                       -1.42647390514189e-02f};
const RationalErf float32Erf{4.f, float32ErfNumerator, float32ErfDenominator};

/// The erf of a kernel whose matmuls take bf16 or 8-bit inputs: degree 7 over 6 (a linear
/// least-squares fit refined to the least maximum error), within 1.3e-5 of erf everywhere,
/// far below the rounding of those inputs (2^-9 of a value in bf16); four multiply-adds
/// fewer per element in the MLP's epilogue, where int8's products are four times cheaper.
const float reducedErfNumerator[] = {6.473495114328194e-04f, 4.1702048081978936e-02f,
                                     1.6691676790963067e-01f, 1.1283001835987012f};
const float reducedErfDenominator[] = {8.480969964262623e-03f, 9.791363938709946e-02f,
                                       4.808401470615418e-01f, 1.f};
const RationalErf reducedErf{3.8f, reducedErfNumerator, reducedErfDenominator};
} // namespace

Expr blockc::rationalErf(Expr x, ErfAccuracy accuracy) {
  const RationalErf &erf = accuracy == ErfAccuracy::Float32 ? float32Erf : reducedErf;
  Expr t = clamp(x, -erf.limit, erf.limit), t2 = t * t;
  return t * polynomial(t2, erf.numerator) / polynomial(t2, erf.denominator);
}

static Expr erfGelu(Expr x, ErfAccuracy accuracy) {
  return 0.5f * x * (1.f + rationalErf(x * float(M_SQRT1_2), accuracy));
}

/// Whether `op`'s kernel multiplies in bf16 or int8 (has a linear with such a weight).
static bool inReducedPrecisionKernel(Operation *op) {
  bool reduced = false;
  op->getParentOp()->walk([&](LinearOp linear) {
    auto weight = mlir::cast<mlir::ShapedType>(linear.getWeight().getType());
    reduced |= !weight.getElementType().isF32();
  });
  return reduced;
}

static Expr tanhGelu(Expr x) {
  const float k = std::sqrt(2.f / float(M_PI));
  return 0.5f * x * (1.f + tanh(k * (x + 0.044715f * x * x * x)));
}

Func blockc::defineElementwise(Operation *op, const ValueFuncs &funcs, const RowVars &v,
                               LoweredKernel &lowered) {
  Var c = v.c, r = v.r;
  auto in = [&](unsigned i) { return funcs.lookup(op->getOperand(i)); };
  Func f(op->getName().stripDialect().str());
  if (mlir::isa<GeluOp>(op))
    f(c, r) = erfGelu(in(0)(c, r), inReducedPrecisionKernel(op) ? ErfAccuracy::Reduced
                                                                 : ErfAccuracy::Float32);
  else if (mlir::isa<GeluTanhOp>(op))
    f(c, r) = tanhGelu(in(0)(c, r));
  else if (mlir::isa<ReluOp>(op))
    f(c, r) = max(in(0)(c, r), 0.f);
  else if (mlir::isa<SiluOp>(op))
    f(c, r) = in(0)(c, r) / (1.f + exp(-in(0)(c, r)));
  else if (auto add = mlir::dyn_cast<AddOp>(op))
    f(c, r) = add.getRhs().getType() == add.getLhs().getType()
                  ? in(0)(c, r) + in(1)(c, r)
                  : in(0)(c, r) + in(1)(c, r % int(tokensOf(add.getLhs())), 0); // a [1, N, C] table
  else if (auto mul = mlir::dyn_cast<MulOp>(op))
    f(c, r) = mul.getRhs().getType() == mul.getLhs().getType() ? in(0)(c, r) * in(1)(c, r)
                                                               : in(0)(c, r) * in(1)(c);
  else if (auto scale = mlir::dyn_cast<ScaleOp>(op))
    f(c, r) = in(0)(c, r) * float(scale.getFactor().convertToDouble());
  else if (auto embedding = mlir::dyn_cast<EmbeddingOp>(op)) {
    // Clamped: the runtime refuses ids outside the table, and no id reads past it.
    const int rows = int(embedding.getTable().getType().getDimSize(0));
    Expr id = in(1)(r);
    f(c, r) = in(0)(c, cast<int>(clamp(id, cast(id.type(), 0), cast(id.type(), rows - 1))));
  } else if (auto positions = mlir::dyn_cast<PositionsOp>(op)) {
    auto type = mlir::cast<mlir::RankedTensorType>(positions.getType());
    Expr n = tokenCount(positions.getResult(), lowered);
    f(r) = cast(Int(int(type.getElementTypeBitWidth())), r % n); // row b N + n: n
  } else
    throw CompileError("blockc: no elementwise lowering for " +
                       op->getName().getStringRef().str());
  return f;
}

Func blockc::defineTokensOp(Operation *op, const ValueFuncs &funcs, const RowVars &v,
                            LoweredKernel &lowered) {
  Var c = v.c, r = v.r;
  auto in = [&](mlir::Value value) { return funcs.lookup(value); };
  Func f(op->getName().stripDialect().str());
  if (auto concat = mlir::dyn_cast<ConcatTokensOp>(op)) {
    // Row r is token t of sample b; the learned tokens come first, then x's.
    mlir::Value x = concat.getInputs().back();
    const int total = int(tokensOf(concat.getResult())), n = int(tokensOf(x));
    Expr b = r / total, t = r % total;
    int first = total - n; // the first of x's tokens
    Expr value = in(x)(c, b * n + max(t - first, 0));
    int end = first;
    for (mlir::Value prefix : llvm::reverse(concat.getInputs().drop_back())) {
      int count = int(tokensOf(prefix));
      end -= count;
      value = select(t < end + count, in(prefix)(c, clamp(t - end, 0, count - 1), 0), value);
    }
    f(c, r) = value;
  } else if (auto take = mlir::dyn_cast<TakeTokenOp>(op)) {
    f(c, r) = in(take.getInput())(c, r * tokenCount(take.getInput(), lowered) + int(take.getIndex()));
  } else if (auto mean = mlir::dyn_cast<MeanTokensOp>(op)) {
    const Expr n = tokenCount(mean.getInput(), lowered);
    const int from = int(mean.getFrom());
    RDom k(from, n - from, "k");
    if (mlir::Value mask = mean.getMask()) {
      // sentence-transformers' mean pooling: the kept tokens' sum over their count (at
      // least 1e-9: a sample without tokens gives zeros).
      Func count("token_count");
      count(r) = sum(select(keeps(in(mask)(r * n + k)), 1.f, 0.f));
      f(c, r) = sum(select(keeps(in(mask)(r * n + k)), in(mean.getInput())(c, r * n + k), 0.f)) /
                max(count(r), 1e-9f);
    } else {
      f(c, r) = sum(in(mean.getInput())(c, r * n + k)) / cast<float>(n - from);
    }
  } else {
    throw CompileError("blockc: no token lowering for " + op->getName().getStringRef().str());
  }
  return f;
}

std::optional<NormFuncs> blockc::defineRowOp(Operation *op, ValueFuncs &funcs, const RowVars &v,
                                             LoweredKernel &lowered) {
  if (mlir::isa<ConcatTokensOp, TakeTokenOp, MeanTokensOp>(op)) {
    funcs[op->getResult(0)] = defineTokensOp(op, funcs, v, lowered);
    return std::nullopt;
  }
  if (!isNormOp(op)) {
    funcs[op->getResult(0)] = defineElementwise(op, funcs, v, lowered);
    return std::nullopt;
  }
  NormFuncs norm = defineNorm(op, funcs.lookup(op->getOperand(0)), funcs, v);
  funcs[op->getResult(0)] = norm.out;
  return norm;
}

Func blockc::rowOutput(KernelOp kernel, const ValueFuncs &funcs, const RowVars &v,
                       LoweredKernel &lowered) {
  auto yield = mlir::cast<YieldOp>(kernel.getBody().front().getTerminator());
  Func out(kernel.getSymName().str());
  out(v.c, v.r) = funcs.lookup(yield.getValues()[0])(v.c, v.r);
  activationOutput(kernel.getResult(0), out, lowered);
  return out;
}
