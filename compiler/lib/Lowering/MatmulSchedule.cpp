//===- MatmulSchedule.cpp - CPU schedule of the matmul kernels ------------===//
//
// Three levels, as in a BLAS: a register tile of `tileRows` x `tileCols` accumulators
// (the micro-kernel, fully unrolled over a vectorized column dimension), column panels of
// W that stay in L1/L2 while the row tiles of a block pass over them, and blocks of rows of
// A (one sample each) that every column panel passes over. A fused norm prologue is
// computed once per row block. Column panels run in parallel.
//
//===----------------------------------------------------------------------===//
#include "Kernels.h"

using namespace blockc;
using namespace Halide;

namespace {
struct MatmulTiles {
  int vectorWidth, tileCols, tileRows, rowBlock;
};

MatmulTiles chooseTiles(const MatmulFuncs &f, const TargetInfo &target) {
  const int vec = target.vectorFloats();
  const bool avx512 = target.halide.has_feature(Target::AVX512);
  const int registers = avx512 ? 32 : 16;
  MatmulTiles t;
  // 24 accumulators of AVX-512's 32 registers as 8 rows x 3 vectors (measured faster than
  // 12 x 2 on ViT-B: fewer loads per FMA); 12 of AVX2's 16 as 6 rows x 2 vectors.
  const int colVectors = avx512 ? 3 : 2;
  t.tileCols = int(std::min<int64_t>(colVectors * vec, f.outFeatures));
  t.vectorWidth = vec;
  while (t.tileCols % t.vectorWidth)
    t.vectorWidth /= 2;
  // Keep a few registers for the W vectors and the broadcast A value.
  int vectorsPerRow = t.tileCols / t.vectorWidth;
  t.tileRows = int(std::min<int64_t>((registers - 4) / vectorsPerRow, f.tokens));
  t.tileRows = std::min(t.tileRows, avx512 ? 8 : 6);
  // A row block is one sample's N rows: rows = B * N, so blocks never overlap (a shifted
  // last block would recompute up to a whole block).
  t.rowBlock = int(f.tokens);
  return t;
}
} // namespace

void blockc::scheduleMatmul(MatmulFuncs &f, const TargetInfo &target) {
  MatmulTiles t = chooseTiles(f, target);
  Var c = f.v.c, r = f.v.r;
  Var rb("rb"), rr("rr"), co("co"), ro("ro"), ci("ci"), ri("ri");
  f.out.split(r, rb, rr, t.rowBlock, TailStrategy::ShiftInwards)
      .tile(c, rr, co, ro, ci, ri, t.tileCols, t.tileRows, TailStrategy::ShiftInwards)
      .reorder(ci, ri, ro, co, rb)
      .vectorize(ci, t.vectorWidth)
      .unroll(ci)
      .unroll(ri)
      .parallel(co);
  f.acc.compute_at(f.out, ro).vectorize(c, t.vectorWidth).unroll(c).unroll(r);
  f.acc.update()
      .reorder(c, r, f.k)
      .vectorize(c, t.vectorWidth)
      .unroll(c)
      .unroll(r);
  for (Func &p : f.perChannel)
    p.compute_root();
  if (f.prologue) {
    LoopLevel block(f.out, rb);
    f.input.compute_at(block).vectorize(c, target.vectorFloats()).parallel(r, t.tileRows);
    scheduleNormStats(*f.prologue, block, f.v, target);
  }
}
