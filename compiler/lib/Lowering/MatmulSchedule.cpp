//===- MatmulSchedule.cpp - CPU schedule of the matmul kernels ------------===//
//
// Three levels, as in a BLAS: a register tile of `tileRows` x `tileCols` accumulators
// (the micro-kernel, fully unrolled over a vectorized column dimension), column panels of
// W that stay in L1/L2 while the row tiles of a block pass over them, and blocks of rows of
// A (one sample each; on AArch64, whose L2 is smaller, as many rows as fit in half of it)
// that every column panel passes over. A fused norm prologue is computed once per row
// block. Column panels run in parallel. The numbers per target are in chooseTiles.
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
  // The register tile: `colVectors` vectors of W columns x up to `maxRows` rows of A held in
  // accumulators, with registers left for the W vectors and the broadcast A values.
  int colVectors, maxRows;
  if (target.isArm()) {
    // NEON: 24 of the 32 q registers as 8 rows x 3 vectors (8 x 12 floats); the 3 W vectors
    // and the A values (fmla by element) fit in the rest: 11 loads per 24 FMAs.
    colVectors = 3;
    maxRows = 8;
  } else if (target.registers >= 32) {
    // 24 accumulators of AVX-512's 32 registers as 8 rows x 3 vectors (measured faster than
    // 12 x 2 on ViT-B: fewer loads per FMA).
    colVectors = 3;
    maxRows = 8;
  } else {
    // 12 of AVX2's 16 registers as 6 rows x 2 vectors.
    colVectors = 2;
    maxRows = 6;
  }
  MatmulTiles t;
  t.tileCols = int(std::min<int64_t>(colVectors * vec, f.outFeatures));
  t.vectorWidth = target.vectorDividing(t.tileCols);
  // Keep a few registers for the W vectors and the broadcast A value.
  int vectorsPerRow = t.tileCols / t.vectorWidth;
  t.tileRows = int(std::min<int64_t>((target.registers - 4) / vectorsPerRow, f.tokens));
  t.tileRows = std::min(t.tileRows, maxRows);
  // A row block is one sample's N rows: rows = B * N, so blocks never overlap (a shifted
  // last block would recompute up to a whole block).
  t.rowBlock = int(f.tokens);
  if (target.isArm()) {
    // Every W panel (K x 12 floats: 36 KiB at K = 768, in the 64 KiB L1) passes over the
    // row block, so the block's A rows should stay in L2. A Neoverse core's L2 (1 MiB) is
    // smaller than one sample's rows at K = 3072 (197 x 12 KiB): split the sample into
    // equal blocks that fit in half of L2 (the rest holds the panel and the output).
    const int64_t rowBytes = 4 * f.inFeatures;
    const int64_t blocks = std::max<int64_t>(1, (f.tokens * rowBytes + target.l2Bytes / 2 - 1) /
                                                    (target.l2Bytes / 2));
    const int64_t rows = (f.tokens + blocks - 1) / blocks;
    t.rowBlock = int(std::min<int64_t>(f.tokens, (rows + t.tileRows - 1) / t.tileRows * t.tileRows));
  }
  return t;
}
} // namespace

/// GPU: a block of threads computes 64 columns x 16 rows, each thread a 4-column tile of
/// accumulators in registers (the layout of Halide's apps/cuda_mat_mul); a fused norm runs
/// as its own kernels ahead of it. Tiles shrink to the shapes so every tail shifts inwards.
/// Measured on an H100 (ViT-B): 4 x 4 per thread is 2x faster than 4 x 8 at B = 1 (twice
/// the threads for the long reductions of few rows), 4 x 8 is faster from B = 16 up.
static void scheduleMatmulGpu(MatmulFuncs &f, const TargetInfo &target) {
  Var c = f.v.c, r = f.v.r;
  auto tiles = [&](Stage out, int threadRows) {
    Var co("co"), ro("ro"), ci("ci"), ri("ri"), cii("cii"), rii("rii");
    threadRows = int(std::min<int64_t>(threadRows, f.tokens));
    const int threadCols = int(std::min<int64_t>(4, f.outFeatures));
    const int blockCols = int(std::min<int64_t>(64, f.outFeatures / threadCols * threadCols));
    const int blockRows = int(std::min<int64_t>(16, f.tokens / threadRows * threadRows));
    out.tile(c, r, co, ro, ci, ri, blockCols, blockRows, TailStrategy::ShiftInwards)
        .tile(ci, ri, ci, ri, cii, rii, threadCols, threadRows, TailStrategy::ShiftInwards)
        .gpu_blocks(co, ro)
        .gpu_threads(ci, ri)
        .unroll(cii)
        .unroll(rii);
  };
  Expr rows = f.out.output_buffer().dim(1).extent();
  tiles(f.out.specialize(rows >= 16 * int(f.tokens)), 8);
  tiles(f.out, 4);
  f.acc.compute_at(f.out, Var("ci")).unroll(c).unroll(r);
  f.acc.update().reorder(c, r, f.k).unroll(c).unroll(r);
  for (Func &p : f.perChannel)
    gpuRoot(p);
  if (f.prologue) {
    gpuRoot(f.input);
    scheduleNormStats(*f.prologue, LoopLevel::root(), f.v, target);
  }
}

void blockc::scheduleMatmul(MatmulFuncs &f, const TargetInfo &target) {
  if (target.isGpu())
    return scheduleMatmulGpu(f, target);
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
    f.input.compute_at(block)
        .vectorize(c, target.vectorWithin(f.inFeatures))
        .parallel(r, t.tileRows);
    scheduleNormStats(*f.prologue, block, f.v, target);
  }
}
