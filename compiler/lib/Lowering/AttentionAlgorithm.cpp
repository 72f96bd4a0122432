//===- AttentionAlgorithm.cpp - multi-head attention with its softmax -----===//
//
// Per (batch, head, tile of queries): scores against every key, their softmax and the
// weighted sum of values, all in cache; the full score matrix is never written out.
// q, k and v are 4-D views (d, h, n, b) of their tensors: of one packed qkv buffer at
// channel offsets 0, C and 2C (timm), or of three separate buffers (BERT). In bf16 the
// products are of values rounded to bf16 (Attention.h).
//
//===----------------------------------------------------------------------===//
#include "Attention.h"
#include "OpSemantics.h"

using namespace blockc;
using namespace Halide;

namespace {
/// The view [B, N, heads, headDim] of a tensor [B, N, total] (from channel `offset`), as the
/// Halide buffer (d, h, n, b) `p` sees it. With run-time tokens, N is S and the batch stride
/// S * total (bits of the view); Halide reads both from the buffer.
ArgView headsLayout(mlir::Value tensor, int64_t offset, int64_t heads, int64_t headDim,
                    OutputImageParam p) {
  const int64_t total = channelsOf(tensor), n = tokensOf(tensor);
  p.dim(0).set_bounds(0, int(headDim)).set_stride(1);
  p.dim(1).set_bounds(0, int(heads)).set_stride(int(headDim));
  if (mlir::ShapedType::isDynamic(n)) {
    p.dim(2).set_min(0).set_stride(int(total));
    p.dim(3).set_min(0);
    return ArgView{tensor, offset, {-1, 1, heads, headDim}, {total, total, headDim, 1}, p,
                   /*tokensShape=*/0b10, /*tokensStrides=*/0b01};
  }
  p.dim(2).set_bounds(0, int(n)).set_stride(int(total));
  p.dim(3).set_min(0).set_stride(int(n * total));
  return ArgView{tensor, offset, {-1, n, heads, headDim}, {n * total, total, headDim, 1}, p};
}

/// A [B, N, heads * headDim] view of the kernel operand behind `value` (maybe a slice).
ImageParam headsView(KernelOp kernel, mlir::Value value, int64_t heads, int64_t headDim,
                     const std::string &name, LoweredKernel &lowered) {
  int64_t offset = 0;
  if (auto slice = value.getDefiningOp<SliceOp>()) {
    offset = slice.getOffset();
    value = slice.getInput();
  }
  mlir::Value operand = kernel.getOperand(mlir::cast<mlir::BlockArgument>(value).getArgNumber());
  ImageParam p(Float(32), 4, name);
  lowered.arguments.push_back(p);
  lowered.inputs.push_back(headsLayout(operand, offset, heads, headDim, p));
  return p;
}
} // namespace

LoweredKernel blockc::lowerAttention(KernelOp kernel, const TargetInfo &target) {
  LoweredKernel lowered;
  MHAOp mha;
  kernel.getBody().walk([&](MHAOp op) { mha = op; });
  int64_t c = channelsOf(mha.getResult());
  int64_t heads = mha.getHeads(), headDim = c / heads;
  ImageParam q = headsView(kernel, mha.getQuery(), heads, headDim, "q", lowered);
  ImageParam k = headsView(kernel, mha.getKey(), heads, headDim, "k", lowered);
  ImageParam v = headsView(kernel, mha.getValue(), heads, headDim, "v", lowered);

  AttentionFuncs f;
  f.q = q;
  f.tokens = plannedTokens(mha.getResult());
  f.runTimeTokens = mlir::ShapedType::isDynamic(tokensOf(mha.getResult()));
  f.headDim = headDim;
  f.bf16 = mha.getPrecision() == Precision::BF16;
  if (f.bf16 && target.hasBF16Dot() && headDim % 2 == 0)
    f.pair = 2;
  Var d = f.d, h = f.h, i = f.i, j = f.j, b = f.b;
  const Expr n = f.runTimeTokens ? Expr(k.dim(2).extent()) : Expr(int(f.tokens));
  f.rd = RDom(0, int(headDim), "rd");
  f.rj = RDom(0, n, "rj");
  // (member of the pair, pair): pairs of keys for the weighted sum.
  f.rv = RDom(0, f.pair, 0, (n + f.pair - 1) / f.pair, "rv");
  // Scores in units of log2 (scaled by log2 e as well): their softmax is 2^(score - max).
  const float scale = float(M_LOG2E) / std::sqrt(float(headDim));
  // The core's format: values stored rounded to bf16, multiplied as float32 products.
  auto narrow = [&](Expr e) { return f.bf16 ? roundToBFloat16(e) : e; };
  auto wide = [&](Expr e) { return f.bf16 ? cast<float>(e) : e; };

  f.queries = Func("queries");
  f.queries(d, i, h, b) = narrow(q(d, h, i, b));
  // Clamped so a schedule may round the key loop up past N; those scores are never read.
  f.keysT = Func("keys_t");
  if (f.pair > 1) {
    Var p("p"), dp("dp");
    f.pairedKeys = Func("paired_keys");
    f.pairedKeys(p, j, dp, h, b) = narrow(k(dp * f.pair + p, h, min(j, n - 1), b));
    f.keysT(j, d, h, b) = f.pairedKeys(d % f.pair, j, d / f.pair, h, b);
  } else {
    f.keysT(j, d, h, b) = narrow(k(d, h, min(j, n - 1), b));
  }
  f.scoresAcc = Func("scores_acc");
  f.scoresAcc(j, i, h, b) = 0.f;
  f.scoresAcc(j, i, h, b) += wide(f.queries(f.rd, i, h, b)) * wide(f.keysT(j, f.rd, h, b));
  Expr score = f.scoresAcc(j, i, h, b) * scale;
  if (mlir::Value mask = mha.getMask()) {
    // A padded key's score is the lowest float, as Hugging Face's BERT adds it.
    mlir::Value operand = kernel.getOperand(mlir::cast<mlir::BlockArgument>(mask).getArgNumber());
    ImageParam keep = idsParam(operand, "mask", lowered);
    score = select(keeps(keep(b * n + min(j, n - 1))), score, Float(32).min());
  }
  f.scores = Func("scores");
  f.scores(j, i, h, b) = score;
  f.rowMax = Func("row_max");
  f.rowMax(i, h, b) = Float(32).min();
  f.rowMax(i, h, b) = max(f.rowMax(i, h, b), f.scores(f.rj, i, h, b));
  // The weights the sums use, so that they add up to what divides them. Pairs of keys
  // may end past N: that key's weight is zero.
  Expr weight = exp2OfNonPositive(f.scores(j, i, h, b) - f.rowMax(i, h, b));
  if (f.pair > 1)
    weight = select(j < n, weight, 0.f);
  f.expScores = Func("exp_scores");
  f.expScores(j, i, h, b) = narrow(weight);
  f.rowSum = Func("row_sum");
  f.rowSum(i, h, b) = 0.f;
  f.rowSum(i, h, b) += wide(f.expScores(f.rj, i, h, b));
  f.weightedAcc = Func("weighted_acc");
  f.weightedAcc(d, i, h, b) = 0.f;
  Expr key = f.rv.y * f.pair + f.rv.x, value;
  if (f.pair > 1) {
    Var p("p"), jp("jp");
    f.pairedValues = Func("paired_values");
    f.pairedValues(p, d, jp, h, b) = narrow(v(d, h, min(jp * f.pair + p, n - 1), b));
    value = f.pairedValues(f.rv.x, d, f.rv.y, h, b);
  } else {
    value = narrow(v(d, h, key, b));
  }
  f.weightedAcc(d, i, h, b) += wide(f.expScores(key, i, h, b)) * wide(value);
  f.out = Func(kernel.getSymName().str());
  f.out(d, h, i, b) = f.weightedAcc(d, i, h, b) / f.rowSum(i, h, b);

  lowered.outputs.push_back(headsLayout(kernel.getResult(0), 0, heads, headDim,
                                        f.out.output_buffer()));
  lowered.space = target.isGpu() ? attentionGpuSpace(f) : attentionCpuSpace(f, target);
  lowered.schedule = [f, target](const KnobValues &knobs) mutable {
    if (target.isGpu())
      scheduleAttentionGpu(f, target, knobs);
    else
      scheduleAttentionCpu(f, target, knobs);
  };
  lowered.pipeline = Pipeline(f.out);
  return lowered;
}
