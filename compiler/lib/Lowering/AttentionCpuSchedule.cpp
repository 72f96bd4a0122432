//===- AttentionCpuSchedule.cpp - CPU schedule of the attention kernel ----===//
//
// Parallel tasks over (batch, head), or parts of their queries where those are too few for
// the threads. Inside a task: the head's keys are transposed once (in bf16 pairs: and its
// values paired); then per tile of queries, scores are computed in register tiles (keys x
// queries), then softmax, then the weighted sum of values in a register tile (head dim x
// queries).
//
//===----------------------------------------------------------------------===//
#include "Attention.h"
#include "ScheduleHelpers.h"

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
  if (target.isArm() || target.registers < 32) {
    // NEON's 4-float vectors make a head (64 dims) 16 vectors, AVX2's 16 registers hold 8:
    // too many to keep a whole row per query. The head in passes over the keys, whose
    // weights stay in L1. NEON: both register tiles are 24 of the 32 q registers as 4
    // vectors x 6 queries (scores over 16 keys, the weighted sum over 16 head dims; 10
    // loads per 24 FMAs). AVX2: 2 vectors x 4 queries, blockc-tune's pick on a Zen 3 (twice
    // as fast as a whole head row for one query).
    const bool neon = target.isArm();
    t.queries = int(std::min<int64_t>(neon ? 6 : 4, f.tokens));
    t.keyTile = (neon ? 4 : 2) * vec;
    int dVectors = std::min(neon ? 4 : 2, vectorsPerHead);
    while (vectorsPerHead % dVectors)
      --dVectors;
    t.dTile = dVectors * dWidth;
  } else {
    // AVX-512: a whole head row per query in registers (4 vectors x 6 queries), with the
    // row of values and the broadcast weight beside them (7 queries spill).
    t.queries = int(std::clamp<int64_t>((target.registers - vectorsPerHead - 1) / vectorsPerHead,
                                        1, std::min<int64_t>(8, f.tokens)));
    t.keyTile = 2 * vec;
    t.dTile = int(f.headDim);
  }
  return t;
}
} // namespace

/// The CPU knobs: queries per tile (`queries`), keys per register tile of scores
/// (`key_tile`, whole vectors) and head dimensions per register tile of the weighted sum
/// (`d_tile`, whole vectors dividing the head).
ScheduleSpace blockc::attentionCpuSpace(const AttentionFuncs &f, const TargetInfo &target) {
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

void blockc::scheduleAttentionCpu(AttentionFuncs &f, const TargetInfo &target,
                                  const KnobValues &knobs) {
  const int vec = target.vectorFloats();
  const int dWidth = target.vectorDividing(f.headDim);
  const int queries = int(knobs.at("queries")), keyTile = int(knobs.at("key_tile"));
  const int dTile = int(knobs.at("d_tile"));
  Var d = f.d, h = f.h, i = f.i, j = f.j, b = f.b;
  Var io("io"), ii("ii"), part("part"), hp("hp"), task("task"), jo("jo"), ji("ji");

  // The tasks are the (batch, head) pairs. Where fewer than four per thread do not divide
  // among the threads (ViT-Ti at B = 1: 3 heads on 2 threads), each pair's query tiles
  // are split into as many parts as threads, so that no thread idles while another runs
  // a last head; each part transposes the head's keys itself.
  const Expr n = f.q.dim(2).extent(), threads = runTimeThreads();
  const Expr pairs = f.q.dim(1).extent() * f.q.dim(3).extent();
  const Expr splitHeads = pairs % threads != 0 && pairs < 4 * threads;
  // Tiles of queries whose last one shifts inwards (the unrolled register tiles need
  // constant extents), maybe in parts (the last one guarded).
  auto tileQueries = [&](Stage out, int tile, bool inParts) {
    out.split(i, io, ii, tile, TailStrategy::ShiftInwards);
    if (inParts) {
      Expr tiles = (n + tile - 1) / tile, parts = min(threads, tiles);
      out.split(io, part, io, (tiles + parts - 1) / parts, TailStrategy::GuardWithIf)
          .reorder(d, ii, io, part, h, b)
          .fuse(part, h, hp)
          .fuse(hp, b, task);
    } else {
      out.reorder(d, ii, io, h, b).fuse(h, b, task);
    }
    out.parallel(task).vectorize(d, dWidth).unroll(d);
  };
  // Run-time tokens fewer than a tile take tiles of one query.
  if (f.runTimeTokens) {
    tileQueries(f.out.specialize(splitHeads && n >= queries), queries, true);
    tileQueries(f.out.specialize(splitHeads), 1, true);
    tileQueries(f.out.specialize(n >= queries), queries, false);
    tileQueries(f.out, 1, false);
  } else {
    tileQueries(f.out.specialize(splitHeads), queries, true);
    tileQueries(f.out, queries, false);
  }
  // The head's keys are transposed once per task, then every query tile uses them; in
  // pairs, the values too. A tile's queries are rounded once.
  LoopLevel perTask(f.out, task), perQueryTile(f.out, io);
  if (f.pair > 1) {
    // A vector per member of the pair, stored interleaved. The values' members are rows of
    // v (dense loads; a vector over both would be a gather, the last pair's second row
    // being clamped).
    const Var keyOfPair = f.pairedKeys.args()[0], valueOfPair = f.pairedValues.args()[0];
    f.pairedKeys.compute_at(perTask)
        .reorder(keyOfPair, j)
        .unroll(keyOfPair)
        .vectorize(j, vec, TailStrategy::RoundUp);
    f.pairedValues.compute_at(perTask)
        .reorder(valueOfPair, d)
        .unroll(valueOfPair)
        .vectorize(d, dWidth);
  } else {
    f.keysT.compute_at(perTask).vectorize(d, dWidth);
  }
  if (f.bf16)
    f.queries.compute_at(perQueryTile).vectorize(d, dWidth);
  f.scores.compute_at(perQueryTile)
      .split(j, jo, ji, keyTile, TailStrategy::RoundUp)
      .reorder(ji, i, jo)
      .vectorize(ji, vec);
  f.scoresAcc.compute_at(f.scores, jo).vectorize(j, vec).unroll(j).unroll(i);
  // A pair of products per float lane: the pair is the innermost, vectorized reduction (as
  // the bf16 matmul's, MatmulCpuSchedule.cpp).
  Stage scoresUpdate = f.scoresAcc.update();
  if (f.pair > 1) {
    RVar rdPair("rd_pair"), rdOuter("rd_outer");
    scoresUpdate.split(f.rd, rdOuter, rdPair, f.pair)
        .reorder(rdPair, j, i, rdOuter)
        .atomic()
        .vectorize(rdPair);
  } else {
    scoresUpdate.reorder(j, i, f.rd);
  }
  scoresUpdate.vectorize(j, vec).unroll(j).unroll(i);
  f.rowMax.compute_at(perQueryTile);
  vectorizeReduction(f.rowMax, f.rj, i, target);
  f.expScores.compute_at(perQueryTile).vectorize(j, vec, TailStrategy::RoundUp);
  f.rowSum.compute_at(perQueryTile);
  vectorizeReduction(f.rowSum, f.rj, i, target);
  f.weightedAcc.compute_at(perQueryTile).vectorize(d, dWidth).unroll(d).unroll(i);
  Stage weightedUpdate = f.weightedAcc.update();
  Var dInner = d;
  if (dTile < f.headDim) {
    Var dOuter("dOuter");
    dInner = Var("dInner");
    weightedUpdate.split(d, dOuter, dInner, dTile).reorder(f.rv.x, dInner, i, f.rv.y, dOuter);
  } else {
    weightedUpdate.reorder(f.rv.x, d, i, f.rv.y);
  }
  if (f.pair > 1)
    weightedUpdate.atomic().vectorize(f.rv.x);
  weightedUpdate.vectorize(dInner, dWidth).unroll(dInner).unroll(i);
}
