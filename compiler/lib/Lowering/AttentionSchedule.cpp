//===- AttentionSchedule.cpp - CPU schedule of the attention kernel -------===//
//
// Parallel tasks over (batch, head). Inside a task: the head's keys are transposed once;
// then per tile of queries, scores are computed in register tiles (keys x queries), then
// softmax, then the weighted sum of values in a register tile (head dim x queries).
//
//===----------------------------------------------------------------------===//
#include "Kernels.h"

using namespace blockc;
using namespace Halide;

namespace {
struct AttentionTiles {
  int queries;  // queries per tile: the register tiles' second dimension
  int keyTile;  // keys per register tile of scores
  int dTile;    // head dimensions per register tile of the weighted sum (a divisor of headDim)
};

/// The hand-written tiles for `f` on `target`.
AttentionTiles defaultTiles(const AttentionFuncs &f, const TargetInfo &target) {
  const int vec = target.vectorFloats();
  AttentionTiles t;
  const int dWidth = target.vectorDividing(f.headDim);
  const int vectorsPerHead = int(f.headDim / dWidth);
  if (target.isArm()) {
    // NEON's 4-float vectors make a head (64 dims) 16 vectors: too many to keep a whole
    // row per query. Both register tiles are 24 of the 32 q registers as 4 vectors x 6
    // queries: scores over 16 keys, the weighted sum over 16 head dims (the head in passes
    // over the keys, whose weights stay in L1). 10 loads per 24 FMAs.
    t.queries = int(std::min<int64_t>(6, f.tokens));
    t.keyTile = 4 * vec;
    int dVectors = std::min(4, vectorsPerHead);
    while (vectorsPerHead % dVectors)
      --dVectors;
    t.dTile = dVectors * dWidth;
  } else {
    // A whole head row per query in registers (AVX-512: 4 vectors x 7 queries).
    t.queries = int(std::clamp<int64_t>((target.registers - 4) / vectorsPerHead, 1,
                                        std::min<int64_t>(8, f.tokens)));
    t.keyTile = 2 * vec;
    t.dTile = int(f.headDim);
  }
  return t;
}
} // namespace

/// GPU: a head wider than a warp is split into 32-dim slices (warp lanes are the innermost
/// thread dimension, so no stage's innermost thread loop may be longer than a warp).
static int gpuHeadSlices(const AttentionFuncs &f) {
  return f.headDim > 32 ? int((f.headDim + 31) / 32) : 1;
}

static int gpuDefaultQueries(const AttentionFuncs &f) {
  return int(std::min<int64_t>(16, f.tokens));
}

/// The CPU knobs: queries per tile (`queries`), keys per register tile of scores
/// (`key_tile`, whole vectors) and head dimensions per register tile of the weighted sum
/// (`d_tile`, whole vectors dividing the head). The GPU knobs: queries per thread block
/// (`block_queries`), per thread (`thread_queries`) and keys per pass (`keys_per_pass`).
/// The GPU defaults were measured on an H100 (ViT-B/16, tools/gpu/README.md): 16 queries
/// per block, 4 per thread, 32 keys per pass (attention at B = 64: 3.73 ms with a query per
/// thread, 1.74 with 2, 1.41 with 4).
ScheduleSpace blockc::attentionSpace(const AttentionFuncs &f, const TargetInfo &target) {
  if (target.isGpu()) {
    return {
        makeKnob("block_queries", {1, 2, 4, 8, 16, 32, 64}, f.tokens, gpuDefaultQueries(f)),
        makeKnob("thread_queries", {1, 2, 4, 8}, f.tokens, std::min<int64_t>(4, f.tokens)),
        makeKnob("keys_per_pass", {8, 16, 32}, f.tokens, std::min<int64_t>(32, f.tokens)),
    };
  }
  const int vec = target.vectorFloats();
  const int dWidth = target.vectorDividing(f.headDim);
  const AttentionTiles t = defaultTiles(f, target);
  std::vector<int64_t> dTiles;
  for (int64_t d = dWidth; d <= f.headDim; d += dWidth)
    if (f.headDim % d == 0)
      dTiles.push_back(d);
  return {
      makeKnob("queries", {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16}, f.tokens, t.queries),
      makeKnob("key_tile", {vec, 2 * vec, 3 * vec, 4 * vec}, 4 * vec, t.keyTile),
      makeKnob("d_tile", dTiles, f.headDim, t.dTile),
  };
}

/// GPU: one thread block per (tile of queries, head, batch), a thread per (head dim, tile
/// of `thread_queries` queries) of the output, its weighted sums in registers. The tile's
/// queries are staged in shared memory once, keys a pass of 32 at a time (read coalesced
/// along the head dimension; a thread per key would read keys a whole row apart); the
/// tile's scores and their exponentials stay in shared memory, a thread per (key, tile of
/// queries) computing them in registers. Each query's row max and row sum is a warp
/// reduction: 32 lanes take every 32nd key (rfactor), then combine (warp shuffles on CUDA
/// from 32 keys up; otherwise the partials in shared memory and a thread per query adds
/// its 32).
static void scheduleAttentionGpu(AttentionFuncs &f, const TargetInfo &target,
                                 const KnobValues &knobs) {
  Var d = f.d, h = f.h, i = f.i, j = f.j, b = f.b;
  Var io("io"), ii("ii"), iq("iq"), jo("jo"), ji("ji"), jk("jk");
  Var dOuter("d_outer"), dInner("d_inner");
  const int keys = int(knobs.at("keys_per_pass"));
  // Whole thread tiles of queries per block, at most 1024 threads, and shared memory (the
  // tile's scores and exponentials, a pass of keys, the tile's queries) within the 48 KiB
  // a block gets without opting in to more, which Halide's CUDA runtime does not do.
  // A block is a warp wide (the keys of a pass, the lanes) per slice of the head.
  int perThread = int(std::min(knobs.at("thread_queries"), knobs.at("block_queries")));
  const int slices = gpuHeadSlices(f);
  int threadRows =
      int(std::min<int64_t>(knobs.at("block_queries") / perThread, 1024 / (32 * slices)));
  auto sharedBytes = [&] {
    const int64_t queries = threadRows * perThread;
    return 4 * (2 * queries * f.tokens + (keys + queries) * f.headDim);
  };
  while (sharedBytes() > 48 * 1024 && threadRows * perThread > 1)
    (threadRows > 1 ? threadRows : perThread) -= 1;
  const int queries = threadRows * perThread;
  const bool splitHead = slices > 1;
  // A thread per (head dimension, tile of `perThread` queries) of the output.
  f.out.split(i, io, ii, queries, TailStrategy::ShiftInwards).split(ii, ii, iq, perThread);
  if (splitHead)
    f.out.split(d, dOuter, dInner, 32, TailStrategy::GuardWithIf)
        .reorder(iq, dInner, ii, dOuter, io, h, b)
        .gpu_blocks(io, h, b)
        .gpu_threads(dInner, ii, dOuter);
  else
    f.out.reorder(iq, d, ii, io, h, b).gpu_blocks(io, h, b).gpu_threads(d, ii);
  f.out.unroll(iq);
  LoopLevel block(f.out, io);
  // Scores and their exponentials: a thread per (key of the pass, tile of queries).
  for (Func s : {f.scores, f.expScores})
    s.compute_at(block)
        .split(j, jo, ji, keys, TailStrategy::ShiftInwards)
        .split(i, ii, iq, perThread)
        .reorder(iq, ji, ii, jo)
        .gpu_threads(ji, ii)
        .unroll(iq);
  // The pass's keys, as many per step as the block has threads over the head dimension.
  f.keysT.compute_at(f.scores, jo)
      .reorder(d, j)
      .split(j, jk, j, threadRows, TailStrategy::GuardWithIf);
  // The tile's queries, once per block: every key's score reads all of them.
  Func queryTile = f.q.in(f.scoresAcc);
  const Var qd = queryTile.args()[0], qi = queryTile.args()[2];
  queryTile.compute_at(block).split(qi, jk, qi, threadRows, TailStrategy::GuardWithIf);
  if (splitHead) {
    f.keysT.split(d, dOuter, dInner, 32, TailStrategy::GuardWithIf)
        .reorder(dInner, j, dOuter, jk)
        .gpu_threads(dInner, j, dOuter);
    queryTile.split(qd, dOuter, dInner, 32, TailStrategy::GuardWithIf)
        .reorder(dInner, qi, dOuter, jk)
        .gpu_threads(dInner, qi, dOuter);
  } else {
    f.keysT.gpu_threads(d, j);
    queryTile.reorder(qd, qi, jk).gpu_threads(qd, qi);
  }
  // Each thread's scores in registers: its key against its queries.
  f.scoresAcc.compute_at(f.scores, ji).unroll(i);
  f.scoresAcc.update().reorder(i, j, f.rd).unroll(i);
  for (Func r : {f.rowMax, f.rowSum}) {
    Var u("u"), lane("lane");
    RVar kOuter("k_outer"), kLane("k_lane");
    Func partial =
        r.update().split(f.rj, kOuter, kLane, 32).reorder(kOuter, kLane).rfactor(kLane, u);
    if (target.shufflesReduce(f.tokens)) {
      // A warp per query (as scheduleNormStats): the tile's queries are a constant extent,
      // so each lane's partial stays in a register.
      Func perQuery = r.in();
      perQuery.compute_at(block)
          .split(i, io, i, threadRows, TailStrategy::GuardWithIf)
          .split(i, i, lane, 1)
          .reorder(lane, i, io)
          .gpu_threads(i, lane);
      partial.compute_at(perQuery, i).gpu_lanes(u);
      partial.update().gpu_lanes(u);
    } else {
      r.compute_at(block).gpu_threads(i);
      r.update().gpu_threads(i);
      partial.compute_at(block).reorder(u, i).gpu_threads(u, i);
      partial.update().reorder(u, i).gpu_threads(u, i);
    }
  }
  // Each thread's weighted sums in registers: its head dimension for its queries.
  f.weightedAcc.compute_at(f.out, splitHead ? dInner : d).unroll(i);
  f.weightedAcc.update().reorder(i, d, f.rj).unroll(i);
}

void blockc::scheduleAttention(AttentionFuncs &f, const TargetInfo &target,
                               const KnobValues &knobs) {
  if (target.isGpu())
    return scheduleAttentionGpu(f, target, knobs);
  const int vec = target.vectorFloats();
  const int dWidth = target.vectorDividing(f.headDim);
  const int queries = int(knobs.at("queries")), keyTile = int(knobs.at("key_tile"));
  const int dTile = int(knobs.at("d_tile"));
  Var d = f.d, h = f.h, i = f.i, j = f.j, b = f.b;
  Var io("io"), ii("ii"), task("task"), jo("jo"), ji("ji");

  f.out.split(i, io, ii, queries, TailStrategy::ShiftInwards)
      .reorder(d, ii, io, h, b)
      .fuse(h, b, task)
      .parallel(task)
      .vectorize(d, dWidth)
      .unroll(d);
  // The head's keys are transposed once per (batch, head), then every query tile uses them.
  f.keysT.compute_at(f.out, task).vectorize(d, dWidth);
  LoopLevel perTask(f.out, io);
  f.scores.compute_at(perTask)
      .split(j, jo, ji, keyTile, TailStrategy::RoundUp)
      .reorder(ji, i, jo)
      .vectorize(ji, vec);
  f.scoresAcc.compute_at(f.scores, jo).vectorize(j, vec).unroll(j).unroll(i);
  f.scoresAcc.update()
      .reorder(j, i, f.rd)
      .vectorize(j, vec)
      .unroll(j)
      .unroll(i);
  f.rowMax.compute_at(perTask);
  vectorizeReduction(f.rowMax, f.rj, i, target);
  f.expScores.compute_at(perTask).vectorize(j, vec, TailStrategy::RoundUp);
  f.rowSum.compute_at(perTask);
  vectorizeReduction(f.rowSum, f.rj, i, target);
  f.weightedAcc.compute_at(perTask).vectorize(d, dWidth).unroll(d).unroll(i);
  if (dTile < f.headDim) {
    Var dOuter("dOuter"), dInner("dInner");
    f.weightedAcc.update()
        .split(d, dOuter, dInner, dTile)
        .reorder(dInner, i, f.rj, dOuter)
        .vectorize(dInner, dWidth)
        .unroll(dInner)
        .unroll(i);
  } else {
    f.weightedAcc.update()
        .reorder(d, i, f.rj)
        .vectorize(d, dWidth)
        .unroll(d)
        .unroll(i);
  }
}
