//===- MatmulSchedule.cpp - CPU schedule of the matmul kernels ------------===//
//
// Three levels, as in a BLAS: a register tile of `tileRows` x `tileCols` accumulators
// (the micro-kernel, fully unrolled over a vectorized column dimension), column panels of
// W that stay in L1/L2 while the row tiles of a block pass over them, and blocks of rows of
// A (one sample each; on AArch64, whose L2 is smaller, as many rows as fit in half of it)
// that every column panel passes over. When a register tile's rows of A (tileRows x K) do
// not fit in L1, the reduction is blocked: the accumulators of a whole column panel live
// in memory and each block of K passes over every row tile, so A's rows of one K block
// stay in L1 (ViT-B's fc2, K = 3072: 347 -> 410 GFLOP/s on 2 Zen 5 cores; at K = 768
// blocking is slower). A fused norm prologue is computed once per row block. Column panels
// run in parallel. The hand-written numbers per target are in defaultTiles; matmulSpace
// lists the alternatives the tuner may pick.
//
//===----------------------------------------------------------------------===//
#include "Kernels.h"

using namespace blockc;
using namespace Halide;

namespace {
/// The hand-written choice of register tile and row block for `f` on `target`.
struct MatmulTiles {
  int tileCols, tileRows, rowBlocks;
  int64_t kBlock; ///< 0: the whole of K at once
};

/// The largest divisor of `n` not above `limit` (at least 1): blocks, chunks and parts of
/// a reduction divide it, since a partial one would need guards.
int64_t largestDivisorUpTo(int64_t n, int64_t limit) {
  int64_t divisor = std::clamp<int64_t>(limit, 1, n);
  while (n % divisor)
    --divisor;
  return divisor;
}

/// The K block of `k_block`: 0 (no blocking) when `limit` is 0 or not below K.
int64_t kBlockOf(int64_t inFeatures, int64_t limit) {
  if (limit <= 0 || limit >= inFeatures)
    return 0;
  return largestDivisorUpTo(inFeatures, limit);
}

MatmulTiles defaultTiles(const MatmulFuncs &f, const TargetInfo &target) {
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
  // Keep a few registers for the W vectors and the broadcast A value.
  int vectorsPerRow = t.tileCols / target.vectorDividing(t.tileCols);
  t.tileRows = int(std::min<int64_t>((target.registers - 4) / vectorsPerRow, f.tokens));
  t.tileRows = std::min(t.tileRows, maxRows);
  // A row block is one sample's N rows: rows = B * N, so blocks never overlap (a shifted
  // last block would recompute up to a whole block).
  t.rowBlocks = 1;
  if (target.isArm()) {
    // Every W panel (K x 12 floats: 36 KiB at K = 768, in the 64 KiB L1) passes over the
    // row block, so the block's A rows should stay in L2. A Neoverse core's L2 (1 MiB) is
    // smaller than one sample's rows at K = 3072 (197 x 12 KiB): split the sample into
    // equal blocks that fit in half of L2 (the rest holds the panel and the output).
    const int64_t rowBytes = 4 * f.inFeatures;
    t.rowBlocks = int(std::min<int64_t>(
        8, (f.tokens * rowBytes + target.l2Bytes / 2 - 1) / (target.l2Bytes / 2)));
  }
  // A register tile's rows of A beyond L1: blocks of K whose rows take a quarter of it
  // (measured at K = 3072: a quarter beat a half and an eighth).
  t.kBlock = 0;
  if (int64_t tileBytes = 4 * t.tileRows * f.inFeatures; tileBytes > target.l1Bytes)
    t.kBlock = target.l1Bytes / 4 / (4 * t.tileRows);
  return t;
}

} // namespace

/// The CPU knobs: the register tile (`tile_cols` floats of W columns x `tile_rows` rows of
/// A), how many blocks a sample's rows are split into (`row_blocks`), whether the column
/// panels (0) or the row tiles (1) are the outer, parallel loop of a block (`loop_order`),
/// where a fused norm is computed (`prologue_at`: 0 per row block, 1 once for all rows),
/// the unrolling of the reduction over K (`k_unroll`) and its blocking (`k_block`: at most
/// that many of K per block, 0 for all of K at once).
ScheduleSpace blockc::matmulSpace(const MatmulFuncs &f, const TargetInfo &target) {
  if (target.isGpu())
    return matmulGpuSpace(f);
  const int vec = target.vectorFloats();
  const MatmulTiles t = defaultTiles(f, target);
  // Whole vectors of columns; all of them when there are fewer than four vectors.
  std::vector<int64_t> cols;
  for (int n = 1; n <= 4; ++n)
    cols.push_back(n * vec);
  if (f.outFeatures < 4 * vec)
    cols.push_back(f.outFeatures);
  std::vector<int64_t> unroll;
  for (int64_t u : {1, 2, 4})
    if (f.inFeatures % u == 0)
      unroll.push_back(u);
  std::vector<int64_t> kBlocks = {0};
  for (int64_t b : {128, 256, 384, 512, 768, 1024})
    if (b < f.inFeatures)
      kBlocks.push_back(b);
  return {
      makeKnob("tile_cols", cols, f.outFeatures, t.tileCols),
      makeKnob("tile_rows", {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16}, f.tokens, t.tileRows),
      makeKnob("row_blocks", {1, 2, 3, 4, 6, 8}, f.tokens, t.rowBlocks),
      makeKnob("loop_order", {0, 1}, 1, 0),
      makeKnob("prologue_at", {0, 1}, f.prologue ? 1 : 0, 0),
      makeKnob("k_unroll", unroll, 4, 1),
      makeKnob("k_block", kBlocks, f.inFeatures - 1, t.kBlock),
  };
}

/// GPU: a thread block computes `block_cols` columns x `block_rows` rows of the output,
/// each thread a register tile of `thread_cols` x `thread_rows` accumulators (the layout
/// of Halide's apps/cuda_mat_mul). The kernel is specialized on the row count: from 8
/// samples up (rows >= 8 x tokens) a thread takes `thread_rows` rows, below it
/// `small_thread_rows` (more threads for the long reductions of few rows). Tiles shrink to
/// the shapes (whole thread tiles, at most 1024 threads per block), so every knob value is
/// legal and every tail shifts inwards. A fused norm runs as its own kernels ahead of the
/// matmul.
///
/// `k_chunk` = 0: each thread accumulates its tile over all of K in registers, loading A
/// and W from global memory (through the caches) `k_unroll` of K at a time as vectors; with
/// `k_splits` > 1, over one part of K, the parts' sums written by a kernel of their own
/// and added by the matmul (split-K, for enough threads and short serial loops at few rows).
/// `k_chunk` > 0: shared-memory tiling. The reduction is split into chunks of K (rfactor;
/// the chunk is the largest divisor of K not above `k_chunk`): per chunk, the block's
/// threads stage the chunk of A (block_rows x k_chunk) and of W (k_chunk x block_cols) in
/// shared memory, neighbouring threads loading neighbouring floats; then each thread sums
/// the chunk for its tile into registers (the rfactor intermediate) and adds the tile into
/// the block's accumulators, which live in shared memory. (Halide keeps per-thread
/// registers across a loop outside the thread loops only for warp lanes, so the
/// accumulators across chunks cannot be registers portably.)
///
/// The defaults were measured on an H100 (ViT-B/16, tools/gpu/README.md): registers only
/// with 4 of K per step, 4 x 4 tiles per thread in 64 x 32 blocks, 4 x 2 below 8 samples,
/// K in parts of 768 (fc2, K = 3072, in 4 parts: 2.3x faster at B = 1, 2% slower at
/// B = 64; splitting K = 768 too was 1.4x faster at B = 1 but 1.15x slower at B = 64).
/// Staging in shared memory (`k_chunk` 16, 4 x 8 tiles either way) was 1.4x slower at
/// B = 1, 1.5x at B = 8, 1.07x at B = 64 (the accumulators' shared traffic); 4 x 8 tiles
/// 1.8x slower than 4 x 4 at B = 64 (their registers); 4 x 2 tiles 1.3x faster at B = 1
/// but 1.25x slower at B = 8.
ScheduleSpace blockc::matmulGpuSpace(const MatmulFuncs &f) {
  return {
      makeKnob("k_chunk", {0, 8, 16, 32}, f.inFeatures, 0),
      makeKnob("k_unroll", {1, 2, 4, 8}, 8, 4),
      makeKnob("k_splits", {1, 2, 3, 4, 6, 8}, f.inFeatures,
               std::max<int64_t>(1, f.inFeatures / 768)),
      makeKnob("thread_cols", {1, 2, 4, 8}, f.outFeatures, std::min<int64_t>(4, f.outFeatures)),
      makeKnob("thread_rows", {1, 2, 4, 8}, f.tokens, std::min<int64_t>(4, f.tokens)),
      makeKnob("small_thread_rows", {1, 2, 4, 8}, f.tokens, std::min<int64_t>(2, f.tokens)),
      makeKnob("block_cols", {16, 32, 64, 128}, f.outFeatures, std::min<int64_t>(64, f.outFeatures)),
      makeKnob("block_rows", {4, 8, 16, 32}, f.tokens, std::min<int64_t>(32, f.tokens)),
  };
}

static void scheduleMatmulGpu(MatmulFuncs &f, const TargetInfo &target, const KnobValues &knobs) {
  Var c = f.v.c, r = f.v.r;
  Var co("co"), ro("ro"), ci("ci"), ri("ri"), cii("cii"), rii("rii");
  struct Tiles {
    int threadCols, threadRows, blockCols, blockRows;
  };
  auto tilesFor = [&](bool large) {
    Tiles t;
    t.threadCols = int(std::min<int64_t>(knobs.at("thread_cols"), f.outFeatures));
    t.threadRows = int(std::min<int64_t>(knobs.at(large ? "thread_rows" : "small_thread_rows"),
                                         f.tokens));
    // Whole thread tiles that fit in the shapes (every tail shifts inwards).
    t.blockCols = int(std::max<int64_t>(
        t.threadCols, std::min<int64_t>(knobs.at("block_cols"), f.outFeatures) /
                          t.threadCols * t.threadCols));
    t.blockRows = int(std::max<int64_t>(
        t.threadRows,
        std::min<int64_t>(knobs.at("block_rows"), f.tokens) / t.threadRows * t.threadRows));
    const int threadsX = t.blockCols / t.threadCols;
    if (threadsX * (t.blockRows / t.threadRows) > 1024)
      t.blockRows = t.threadRows * std::max(1, 1024 / threadsX);
    return t;
  };
  const Tiles large = tilesFor(true), small = tilesFor(false);
  // Chunks divide K (the largest divisor of K not above the knob): a partial last chunk
  // would stage floats beyond the ends of A and W.
  const int kChunk =
      knobs.at("k_chunk") == 0 ? 0 : int(largestDivisorUpTo(f.inFeatures, knobs.at("k_chunk")));
  Expr rows = f.out.output_buffer().dim(1).extent();
  Expr isLarge = rows >= 8 * int(f.tokens);
  // Thread blocks of output tiles (and of the K parts of a split reduction, `parts`).
  auto tileOut = [&](Stage out, const Tiles &t, std::optional<Var> parts = std::nullopt) {
    out.tile(c, r, co, ro, ci, ri, t.blockCols, t.blockRows, TailStrategy::ShiftInwards)
        .tile(ci, ri, ci, ri, cii, rii, t.threadCols, t.threadRows, TailStrategy::ShiftInwards)
        .gpu_threads(ci, ri)
        .unroll(cii)
        .unroll(rii);
    if (parts)
      out.reorder(cii, rii, ci, ri, co, ro, *parts).gpu_blocks(co, ro, *parts);
    else
      out.gpu_blocks(co, ro);
  };
  tileOut(f.out.specialize(isLarge), large);
  tileOut(f.out, small);

  if (kChunk == 0) {
    // Registers only: the thread's accumulators at its tile. Per step of `k_unroll` of K
    // (the largest power of two dividing K not above it: a vector width GPUs load), the
    // tile's A values (rows x step, contiguous along K) and W values (step x columns,
    // contiguous along the columns) are first loaded into registers as vectors, as in
    // Halide's apps/cuda_mat_mul.
    int kUnroll = 1;
    while (2 * kUnroll <= knobs.at("k_unroll") && f.inFeatures % (2 * kUnroll) == 0)
      kUnroll *= 2;
    // `k_splits` parts of K (the most, up to the knob, that divide K into whole steps):
    // each part's sums are a kernel of their own, thread blocks over (tiles, parts), and
    // the matmul adds the parts: more threads, and shorter serial loops, for few rows.
    const int splits = int(largestDivisorUpTo(f.inFeatures / kUnroll, knobs.at("k_splits")));
    Func reduced = f.acc; // accumulates (a part of) K in the registers of a thread
    RVar k = f.k;
    LoopLevel at(f.out, ci);
    if (splits > 1) {
      RVar part("part"), kInPart("k_in_part");
      Var partVar("part_v");
      const int partLength = int(f.inFeatures / splits);
      Func partSums = f.acc.update().split(f.k, part, kInPart, partLength).rfactor(part, partVar);
      Func partsOut = partSums.in(f.acc);
      partsOut.compute_root();
      tileOut(partsOut.specialize(isLarge), large, partsOut.args()[2]);
      tileOut(partsOut, small, partsOut.args()[2]);
      f.acc.compute_at(f.out, ci).unroll(c).unroll(r);
      f.acc.update().reorder(c, r, part).unroll(c).unroll(r);
      reduced = partSums;
      k = kInPart;
      at = LoopLevel(partsOut, ci);
    }
    RVar ko("ko"), ki("ki");
    reduced.compute_at(at).unroll(c).unroll(r);
    reduced.update()
        .split(k, ko, ki, kUnroll)
        .reorder(c, r, ki, ko)
        .unroll(c)
        .unroll(r)
        .unroll(ki);
    Func aIn = f.input.in(reduced), wIn = f.weight.in(reduced);
    const Var ak = aIn.args()[0], ar = aIn.args()[1], wc = wIn.args()[0], wk = wIn.args()[1];
    aIn.compute_at(reduced, ko).vectorize(ak).unroll(ar);
    wIn.compute_at(reduced, ko).vectorize(wc).unroll(wk);
  } else {
    RVar ko("ko"), ki("ki");
    Var kc("kc"), ct("ct"), rt("rt");
    // acc(c, r) += chunk(c, r, ko) over the chunks; chunk sums its k_chunk products.
    Func chunk = f.acc.update().split(f.k, ko, ki, kChunk).rfactor(ko, kc);
    Func aIn = f.input.in(chunk), wIn = f.weight.in(chunk);
    f.acc.compute_at(f.out, co).store_in(MemoryType::GPUShared);
    chunk.compute_at(f.acc, ct).unroll(c).unroll(r);
    chunk.update().reorder(c, r, ki).unroll(c).unroll(r);
    aIn.compute_at(f.acc, ko);
    wIn.compute_at(f.acc, ko);
    const Var a0 = aIn.args()[0], a1 = aIn.args()[1]; // (k, r)
    const Var w0 = wIn.args()[0], w1 = wIn.args()[1]; // (o, k)
    // One schedule per branch of the row-count specialization.
    auto branch = [&](Stage init, Stage update, Stage a, Stage w, const Tiles &t) {
      init.tile(c, r, ct, rt, cii, rii, t.threadCols, t.threadRows, TailStrategy::RoundUp)
          .gpu_threads(ct, rt)
          .unroll(cii)
          .unroll(rii);
      update.tile(c, r, ct, rt, cii, rii, t.threadCols, t.threadRows, TailStrategy::RoundUp)
          .reorder(cii, rii, ct, rt, ko)
          .gpu_threads(ct, rt)
          .unroll(cii)
          .unroll(rii);
      // The chunk's loads spread over the block's threads, neighbouring threads reading
      // neighbouring floats (A along k, W along the output columns).
      const int threadsX = t.blockCols / t.threadCols, threadsY = t.blockRows / t.threadRows;
      for (auto [stage, x, y] : {std::tuple(a, a0, a1), std::tuple(w, w0, w1)}) {
        Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
        stage.split(x, xo, xi, threadsX, TailStrategy::GuardWithIf)
            .split(y, yo, yi, threadsY, TailStrategy::GuardWithIf)
            .reorder(xo, yo, xi, yi)
            .gpu_threads(xi, yi);
      }
    };
    branch(f.acc.specialize(isLarge), f.acc.update().specialize(isLarge),
           aIn.specialize(isLarge), wIn.specialize(isLarge), large);
    branch(f.acc, f.acc.update(), aIn, wIn, small);
  }
  for (Func &p : f.perChannel)
    gpuRoot(p);
  if (f.prologue) {
    gpuRoot(f.input);
    scheduleNormStats(*f.prologue, LoopLevel::root(), f.v, target);
  }
}

void blockc::scheduleMatmul(MatmulFuncs &f, const TargetInfo &target, const KnobValues &knobs) {
  if (target.isGpu())
    return scheduleMatmulGpu(f, target, knobs);
  const int tileCols = int(knobs.at("tile_cols")), tileRows = int(knobs.at("tile_rows"));
  const int vectorWidth = target.vectorDividing(tileCols);
  // Equal blocks of whole register tiles; one block is the sample's N rows.
  const int64_t blocks = knobs.at("row_blocks");
  const int64_t blockRows = (f.tokens + blocks - 1) / blocks;
  const int rowBlock = int(std::min<int64_t>(f.tokens, (blockRows + tileRows - 1) / tileRows * tileRows));
  Var c = f.v.c, r = f.v.r;
  Var rb("rb"), rr("rr"), co("co"), ro("ro"), ci("ci"), ri("ri");
  f.out.split(r, rb, rr, rowBlock, TailStrategy::ShiftInwards)
      .tile(c, rr, co, ro, ci, ri, tileCols, tileRows, TailStrategy::ShiftInwards)
      .vectorize(ci, vectorWidth)
      .unroll(ci)
      .unroll(ri);
  const bool panelsOuter = knobs.at("loop_order") == 0;
  const Var innerTiles = panelsOuter ? ro : co, outerTiles = panelsOuter ? co : ro;
  f.out.reorder(ci, ri, innerTiles, outerTiles, rb).parallel(outerTiles);
  const int64_t kBlock = kBlockOf(f.inFeatures, knobs.at("k_block"));
  const int64_t unroll = knobs.at("k_unroll");
  Stage update = f.acc.update();
  RVar kb("kb"), k("k"), ku("ku");
  if (kBlock == 0) {
    // A register tile over the whole of K, per output tile.
    f.acc.compute_at(f.out, innerTiles).vectorize(c, vectorWidth).unroll(c).unroll(r);
    update.split(f.k, k, ku, int(unroll)).reorder(c, r, ku, k);
  } else {
    // The accumulators of all the inner loop's tiles, in memory; per block of K, every
    // register tile loads its accumulators, adds the block's products and stores them.
    Var ct("ct"), rt("rt");
    f.acc.compute_at(f.out, outerTiles).vectorize(c, vectorWidth);
    update.split(f.k, kb, k, int(kBlock))
        .split(k, k, ku, int(unroll))
        .tile(c, r, ct, rt, c, r, tileCols, tileRows, TailStrategy::GuardWithIf)
        .reorder(c, r, ku, k, ct, rt, kb);
  }
  update.unroll(ku).vectorize(c, vectorWidth).unroll(c).unroll(r);
  for (Func &p : f.perChannel)
    p.compute_root();
  if (f.prologue) {
    const bool perBlock = knobs.at("prologue_at") == 0;
    LoopLevel at = perBlock ? LoopLevel(f.out, rb) : LoopLevel::root();
    f.input.compute_at(at)
        .vectorize(c, target.vectorWithin(f.inFeatures))
        .parallel(r, tileRows);
    scheduleNormStats(*f.prologue, at, f.v, target);
  }
}
