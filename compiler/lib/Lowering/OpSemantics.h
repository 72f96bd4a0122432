//===- OpSemantics.h - the math of each op as Halide functions ----*- C++ -*-===//
//
// The norms and elementwise ops over (c, r), shared by every kernel kind: a matmul's
// fused prologue and epilogue, and the row-wise kernels' chains.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_OPSEMANTICS_H
#define BLOCKC_LOWERING_OPSEMANTICS_H

#include "KernelIO.h"

#include <optional>

namespace blockc {

/// Shared loop variables: channel (or output feature) and row.
struct RowVars {
  Halide::Var c{"c"}, r{"r"};
};

/// A norm over the channels of each row. `stats` are per-row (LayerNorm, RMSNorm) or
/// per-channel (BatchNorm) functions the schedule places; `reductions` are the row sums
/// among them, with the reduction domain `k` over channels.
struct NormFuncs {
  Halide::Func out;
  std::vector<Halide::Func> reductions;  // updated over k, per row
  std::vector<Halide::Func> perChannel;  // pure functions of c (BatchNorm's scale, shift)
  std::vector<Halide::Func> perRow;      // pure functions of r (1/std)
  Halide::RDom k;
  int64_t rows = 0;                      // rows per sample (N): every batch has at least these
};

/// Inference BatchNorm as a per-channel affine map x * scale(ch) + shift(ch), with
/// scale = gamma / sqrt(var + eps) and shift = beta - mean * scale: of a BatchNorm op, or
/// of one folded into a linear's weight and bias (the fold ops have the same parameters).
template <typename BatchNormLikeOp>
std::pair<Halide::Func, Halide::Func> batchNormScaleShift(BatchNormLikeOp op,
                                                          const ValueFuncs &funcs,
                                                          Halide::Var ch) {
  auto param = [&](mlir::Value value) { return funcs.lookup(value); };
  Halide::Func scale("bn_scale"), shift("bn_shift");
  float eps = op.getEpsilon().convertToDouble();
  scale(ch) = param(op.getGamma())(ch) / Halide::sqrt(param(op.getRunningVar())(ch) + eps);
  shift(ch) = param(op.getBeta())(ch) - param(op.getRunningMean())(ch) * scale(ch);
  return {scale, shift};
}

/// erf in float32 arithmetic as a rational function: within 4e-7 of erf (`Float32`), or
/// within 1.3e-5 with four multiply-adds fewer (`Reduced`, for the kernels whose matmuls
/// take bf16 or 8-bit inputs).
enum class ErfAccuracy { Float32, Reduced };
Halide::Expr rationalErf(Halide::Expr x, ErfAccuracy accuracy);

/// An activation rounded to bf16 for a matmul or attention product: to nearest, ties
/// toward zero (`(bits + 0x7fff) >> 16`: two integer operations, where Halide's cast, ties to
/// even, takes five). Weights are rounded at bind time by the cast, as PyTorch rounds them.
Halide::Expr roundToBFloat16(Halide::Expr value);

/// 2^x for x <= 0 (a softmax's score less its row's maximum, in units of log2), within
/// 2e-7 of it relatively, and 0 below 2^-127: 2^k 2^f, k the integer nearest x and 2^f,
/// |f| <= 1/2, a degree-5 polynomial. Halide's exp rounds with floor, which its AVX-512
/// code does in two halves of 8 floats, and selects for ranges a softmax never has.
Halide::Expr exp2OfNonPositive(Halide::Expr x);

bool isNormOp(mlir::Operation *op);
/// Whether a mask's entry (1 = token, 0 = padding) keeps its token.
Halide::Expr keeps(Halide::Expr maskValue);
NormFuncs defineNorm(mlir::Operation *norm, Halide::Func input, const ValueFuncs &funcs,
                     const RowVars &v);
/// `lowered` gives the ops that index tokens (positions, take_token, mean_tokens) the run's
/// token count (tokenCount).
Halide::Func defineElementwise(mlir::Operation *op, const ValueFuncs &funcs, const RowVars &v,
                               LoweredKernel &lowered);
/// An op that moves tokens (concat_tokens, take_token, mean_tokens) over the rows (c, r)
/// of its result, from the rows of its inputs.
Halide::Func defineTokensOp(mlir::Operation *op, const ValueFuncs &funcs, const RowVars &v,
                            LoweredKernel &lowered);
/// Defines `funcs[op result]` for a norm, elementwise or token op over (c, r); returns the norm's
/// functions (for the schedule) when `op` is a norm.
std::optional<NormFuncs> defineRowOp(mlir::Operation *op, ValueFuncs &funcs, const RowVars &v,
                                     LoweredKernel &lowered);
/// The kernel's single result as its output function (c, r), bound as an activation output.
Halide::Func rowOutput(KernelOp kernel, const ValueFuncs &funcs, const RowVars &v,
                       LoweredKernel &lowered);

} // namespace blockc

#endif // BLOCKC_LOWERING_OPSEMANTICS_H
