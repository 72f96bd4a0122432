//===- MatmulCpuSchedule.cpp - CPU schedule of the matmul kernels ---------===//
//
// Three levels, as in a BLAS: a register tile of `tileRows` x `tileCols` accumulators (the
// micro-kernel, fully unrolled over a vectorized column dimension), column panels of W that
// stay in L1/L2 while the row tiles of a block pass over them, and blocks of rows of A (at
// most one sample each; on AArch64, whose L2 is smaller, as many rows as fit in half of it)
// that every column panel passes over. When a register tile's rows of A (tileRows x K) do
// not fit in L1, the reduction is blocked: the accumulators of a whole column panel live in
// memory and each block of K passes over every row tile, so A's rows of one K block stay in
// L1 (it pays at fc2's long reductions, K = 3072, and costs at K = 768; README.md has the
// measurements). A fused norm prologue is computed once per row block. The row blocks run in
// parallel; with few rows per thread, one after another, each block's column panels in
// parallel. The hand-written numbers per target are in defaultTiles; matmulCpuSpace lists
// the alternatives the tuner may pick.
//
//===----------------------------------------------------------------------===//
#include "Matmul.h"
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

namespace {
/// The hand-written choice of register tile and row block for `f` on `target`.
struct MatmulTiles {
  int tileCols, tileRows, rowBlocks;
  int64_t kBlock; ///< 0: the whole of K at once
  int taskTiles;  ///< the register tiles of rows per thread from which blocks are the tasks
};

/// The K block of `k_block`: 0 (no blocking) when `limit` is 0 or not below K.
int64_t kBlockOf(int64_t inFeatures, int64_t limit) {
  if (limit <= 0 || limit >= inFeatures)
    return 0;
  return largestDivisorUpTo(inFeatures, limit);
}

/// The register tile: `colVectors` vectors of W columns x up to `maxRows` rows of A held in
/// accumulators, with registers left for the W vectors and the broadcast A values.
struct RegisterTile {
  int colVectors, maxRows;
};

RegisterTile registerTile(const TargetInfo &target) {
  if (target.isArm()) {
    // NEON: 24 of the 32 q registers as 8 rows x 3 vectors (8 x 12 floats); the 3 W vectors
    // and the A values (fmla by element) fit in the rest: 11 loads per 24 FMAs.
    return {3, 8};
  }
  if (target.registers >= 32) {
    // 24 accumulators of AVX-512's 32 registers as 8 rows x 3 vectors (measured faster than
    // 12 x 2 on ViT-B: fewer loads per FMA).
    return {3, 8};
  }
  // 12 of AVX2's 16 registers as 6 rows x 2 vectors.
  return {2, 6};
}

MatmulTiles defaultTiles(const MatmulFuncs &f, const TargetInfo &target) {
  const int maxRows = registerTile(target).maxRows;
  MatmulTiles t;
  t.tileCols = int(matmulCpuTileCols(f.outFeatures, target));
  // Keep registers for the W vectors and the broadcast A value.
  const int vectorsPerRow = t.tileCols / target.vectorDividing(t.tileCols);
  const int freeRegisters = target.registers - vectorsPerRow - 1;
  // An int8 tile holds two sums per output: the int32 sum of one quantization group and
  // the float sum of the groups, both in registers (float sums spilled to the stack were
  // loaded and stored once per group and output: docs/tuning.md, `tile_rows`).
  const int sumsPerOutput = f.dot.defined() ? 2 : 1;
  t.tileRows =
      int(std::min<int64_t>(freeRegisters / (sumsPerOutput * vectorsPerRow), f.tokens));
  t.tileRows = std::min(t.tileRows, maxRows);
  // A row block is at most one sample's N rows.
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
  // Blocks as the parallel tasks save the parallel loops of each block's own steps but
  // stream the weight once per thread and share the rows less evenly: they pay from 16
  // register tiles of rows per thread (docs/tuning.md).
  t.taskTiles = 16;
  // A register tile's rows of A beyond L1: blocks of K whose rows take a quarter of it
  // (measured at K = 3072: a quarter beat a half and an eighth).
  t.kBlock = 0;
  if (int64_t tileBytes = 4 * t.tileRows * f.inFeatures; tileBytes > target.l1Bytes)
    t.kBlock = target.l1Bytes / 4 / (4 * t.tileRows);
  return t;
}

} // namespace

int64_t blockc::matmulCpuTileCols(int64_t outFeatures, const TargetInfo &target) {
  return std::min<int64_t>(registerTile(target).colVectors * target.vectorFloats(), outFeatures);
}

/// The CPU knobs: the register tile (`tile_cols` floats of W columns x `tile_rows` rows of
/// A), how many blocks a sample's rows are split into (`row_blocks`), whether the column
/// panels (0) or the row tiles (1) are the outer, parallel loop of a block (`loop_order`),
/// where a fused norm or an image's patches are computed (`prologue_at`: 0 per row block,
/// 1 once for all rows),
/// the unrolling of the reduction over K (`k_unroll`) and its blocking (`k_block`: at most
/// that many of K per block, 0 for all of K at once).
ScheduleSpace blockc::matmulCpuSpace(const MatmulFuncs &f, const TargetInfo &target) {
  const int vec = target.vectorFloats();
  const MatmulTiles t = defaultTiles(f, target);
  // Whole vectors of columns; all of them when there are fewer than four vectors. A weight
  // stored in groups of inputs (Matmul.h: weightGroup) is stored in panels of the default
  // tile's columns with the groups interleaved: a tile of another width gathers its weight
  // vectors element by element (docs/tuning.md, `tile_cols`), so that is the only choice.
  std::vector<int64_t> cols;
  if (f.group > 1) {
    cols = {t.tileCols};
  } else {
    for (int n = 1; n <= 4; ++n)
      cols.push_back(n * vec);
    if (f.outFeatures < 4 * vec)
      cols.push_back(f.outFeatures);
  }
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
      makeKnob("prologue_at", {0, 1}, f.prologue || f.patches ? 1 : 0, 0),
      makeKnob("k_unroll", unroll, 4, 1),
      makeKnob("k_block", kBlocks, f.inFeatures - 1, t.kBlock),
      makeKnob("task_tiles", {1, 2, 4, 8, 16, 32}, 32, t.taskTiles),
  };
}

void blockc::scheduleMatmulCpu(MatmulFuncs &f, const TargetInfo &target,
                               const KnobValues &knobs) {
  const int tileCols = int(knobs.at("tile_cols")), tileRows = int(knobs.at("tile_rows"));
  const int vectorWidth = target.vectorDividing(tileCols);
  // The largest row block: equal parts of the sample's N rows, in whole register tiles.
  const int64_t blocks = knobs.at("row_blocks");
  const int64_t blockRows = (f.tokens + blocks - 1) / blocks;
  const int rowBlock = int(std::min<int64_t>(f.tokens, (blockRows + tileRows - 1) / tileRows * tileRows));
  Var c = f.v.c, r = f.v.r;
  Var rb("rb"), rr("rr"), co("co"), ro("ro"), ci("ci"), ri("ri");
  const bool panelsOuter = knobs.at("loop_order") == 0;
  const Var innerTiles = panelsOuter ? ro : co, outerTiles = panelsOuter ? co : ro;
  // The register tile (rows split into blocks rb, tiles ro and rows ri) with its columns.
  auto tileColumns = [&](Stage out, Var parallelLoop) {
    out.split(c, co, ci, tileCols, TailStrategy::ShiftInwards)
        .reorder(ci, ri, innerTiles, outerTiles, rb)
        .vectorize(ci, vectorWidth)
        .unroll(ci)
        .unroll(ri)
        .parallel(parallelLoop);
  };
  // Blocks of rows, each in register tiles of `rows` rows whose last one shifts inwards
  // (the unrolled tiles need constant extents), one after another, the outer tiles of a
  // block in parallel.
  auto tileRowsOf = [&](Stage out, Expr blockRows, int rows) {
    out.split(r, rb, rr, blockRows, TailStrategy::ShiftInwards)
        .split(rr, ro, ri, rows, TailStrategy::ShiftInwards);
    tileColumns(out, outerTiles);
  };
  // Register tiles of rows (the last one shifted inwards), in parallel blocks of `tiles`
  // tiles (the last block guarded): blocks overlap only in the last tile's rows.
  auto tileBlocksOf = [&](Stage out, Expr tiles) {
    Var rt("rt");
    out.split(r, rt, ri, tileRows, TailStrategy::ShiftInwards)
        .split(rt, rb, ro, tiles, TailStrategy::GuardWithIf);
    tileColumns(out, rb);
  };
  // The row blocks are the parallel tasks where every thread gets at least `task_tiles`
  // register tiles of rows: each task computes its block's prologue and narrow input itself,
  // the kernel is one parallel loop (a parallel loop per block and step costs a dispatch
  // and a wait each, which small kernels feel). As many blocks of equally many register
  // tiles as threads, or a multiple of them where blocks would exceed `rowBlock` rows.
  // With fewer rows, one block after another, its steps and column panels in parallel.
  const int taskTiles = int(knobs.at("task_tiles"));
  Expr rows = f.out.output_buffer().dim(1).extent();
  Expr threads = runTimeThreads();
  Expr blocksInParallel = rows >= threads * (taskTiles * tileRows);
  Expr tasks = threads * ((rows + threads * rowBlock - 1) / (threads * rowBlock));
  Expr tiles = (rows + tileRows - 1) / tileRows;
  tileBlocksOf(f.out.specialize(blocksInParallel), (tiles + tasks - 1) / tasks);
  if (f.runTimeTokens) {
    // A run may have fewer rows than a block (then one block of all of them: a guarded
    // block would still loop over a whole block's tiles) or than a register tile (then
    // tiles of one row).
    Expr blockRows = min(rowBlock, rows);
    tileRowsOf(f.out.specialize(rows >= tileRows), blockRows, tileRows);
    tileRowsOf(f.out, blockRows, 1);
  } else {
    tileRowsOf(f.out, rowBlock, tileRows);
  }
  // A weight stored in groups of inputs (Matmul.h: weightGroup) is reduced a group per lane
  // (vdpbf16ps, vpdpbusd, pmaddwd): the group is the innermost, vectorized reduction, the
  // blocks and unrolling count groups. An int8 matmul's dot product is the int32 sum of one
  // quantization group, computed in registers per group of the float accumulators' update
  // (its K is the group's, never blocked).
  const int group = int(f.group);
  const bool grouped = f.dot.defined();
  const int64_t steps = (grouped ? f.quantGroup : f.inFeatures) / group;
  const int64_t kBlock = grouped ? 0 : kBlockOf(steps, knobs.at("k_block") / group);
  int64_t unroll = knobs.at("k_unroll");
  while (steps % unroll)
    unroll /= 2;
  Func dot = grouped ? f.dot : f.acc;
  if (grouped) {
    f.acc.compute_at(f.out, innerTiles).vectorize(c, vectorWidth).unroll(c).unroll(r);
    RVar groups(f.groups);
    f.acc.update().reorder(c, r, groups).vectorize(c, vectorWidth).unroll(c).unroll(r);
  }
  Stage update = dot.update();
  RVar kb("kb"), k("k"), ku("ku"), kp("kp"), kAll = f.k;
  std::vector<VarOrRVar> inGroup;
  if (group > 1) {
    update.split(f.k, kAll, kp, group);
    inGroup.push_back(kp);
  }
  auto order = [&](std::vector<VarOrRVar> loops) {
    loops.insert(loops.begin(), inGroup.begin(), inGroup.end());
    update.reorder(loops);
  };
  if (grouped) {
    dot.compute_at(f.acc, RVar(f.groups)).vectorize(c, vectorWidth).unroll(c).unroll(r);
    update.split(kAll, k, ku, int(unroll));
    order({c, r, ku, k});
  } else if (kBlock == 0) {
    // A register tile over the whole of K, per output tile.
    f.acc.compute_at(f.out, innerTiles).vectorize(c, vectorWidth).unroll(c).unroll(r);
    update.split(kAll, k, ku, int(unroll));
    order({c, r, ku, k});
  } else {
    // The accumulators of all the inner loop's tiles, in memory; per block of K, every
    // register tile loads its accumulators, adds the block's products and stores them.
    Var ct("ct"), rt("rt");
    f.acc.compute_at(f.out, outerTiles).vectorize(c, vectorWidth);
    update.split(kAll, kb, k, int(kBlock))
        .split(k, k, ku, int(unroll))
        .tile(c, r, ct, rt, c, r, tileCols, tileRows, TailStrategy::GuardWithIf);
    order({c, r, ku, k, ct, rt, kb});
  }
  if (group > 1)
    update.atomic().vectorize(kp);
  update.unroll(ku).vectorize(c, vectorWidth).unroll(c).unroll(r);
  // A block's own steps, where the blocks are not the parallel tasks, in parallel over rows.
  const TailStrategy rowTail = f.runTimeTokens ? TailStrategy::GuardWithIf : TailStrategy::Auto;
  auto rowsInParallelUnlessBlocksAre = [&](Stage step, TailStrategy tail) {
    step.specialize(!blocksInParallel).parallel(r, tileRows, tail);
  };
  // The input in the weight's format once per row block, not once per column panel (an
  // int8 row's group ranges first).
  if (f.narrowInput.defined()) {
    f.narrowInput.compute_at(f.out, rb).vectorize(c, target.vectorWithin(f.inFeatures));
    rowsInParallelUnlessBlocksAre(f.narrowInput, rowTail);
    if (f.dot.defined()) {
      for (Func range : {f.groupMin, f.groupMax}) {
        range.compute_at(f.out, rb);
        if (f.quantGroup % target.vectorFloats() == 0)
          vectorizeReduction(range, f.inGroup, range.args()[0], target);
        rowsInParallelUnlessBlocksAre(range.update(), TailStrategy::GuardWithIf);
      }
      for (Func param : {f.groupScale, f.groupInverseScale, f.groupZeroPoint})
        param.compute_at(f.out, rb);
    }
  }
  for (Func &p : f.perChannel)
    p.compute_root();
  // A norm prologue, or an image's patches (gathered once into rows the register tiles
  // read contiguously, instead of index arithmetic per multiply-add).
  if (f.prologue || f.patches) {
    const bool perBlock = knobs.at("prologue_at") == 0;
    LoopLevel at = perBlock ? LoopLevel(f.out, rb) : LoopLevel::root();
    f.input.compute_at(at).vectorize(c, target.vectorWithin(f.inFeatures));
    if (perBlock)
      rowsInParallelUnlessBlocksAre(f.input, rowTail);
    else
      f.input.parallel(r, tileRows, rowTail);
    if (f.prologue)
      scheduleNormStats(*f.prologue, at, f.v, target);
  }
}
