//===- AttentionGpuSchedule.cpp - GPU schedule of the attention kernel ----===//
//
// GPU: one thread block per (tile of queries, head, batch), a thread per (head dim, tile
// of `thread_queries` queries) of the output, its weighted sums in registers. The tile's
// queries are staged in shared memory once, keys a pass of 32 at a time (read coalesced
// along the head dimension; a thread per key would read keys a whole row apart); the
// tile's scores and their exponentials stay in shared memory, a thread per (key, tile of
// queries) computing them in registers. Each query's row max and row sum is a warp
// reduction: 32 lanes take every 32nd key (rfactor), then combine (warp shuffles on CUDA
// from 32 keys up; otherwise the partials in shared memory and a thread per query adds
// its 32).
//
//===----------------------------------------------------------------------===//
#include "Attention.h"
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

namespace {
/// A head wider than a warp is split into 32-dim slices (warp lanes are the innermost
/// thread dimension, so no stage's innermost thread loop may be longer than a warp).
int gpuHeadSlices(const AttentionFuncs &f) {
  return f.headDim > 32 ? int((f.headDim + 31) / 32) : 1;
}
} // namespace

/// The GPU knobs: queries per thread block (`block_queries`), per thread
/// (`thread_queries`) and keys per pass (`keys_per_pass`). The defaults are the fastest
/// measured on an H100 (ViT-B/16, tools/gpu/README.md): 16 queries per block, 32 keys per
/// pass, and 4 queries per thread (each more per thread, up to 4, was faster: a key's
/// loads serve more queries).
ScheduleSpace blockc::attentionGpuSpace(const AttentionFuncs &f) {
  return {
      makeKnob("block_queries", {1, 2, 4, 8, 16, 32, 64}, f.fewestTokens(),
               std::min<int64_t>(16, f.fewestTokens())),
      makeKnob("thread_queries", {1, 2, 4, 8}, f.fewestTokens(),
               std::min<int64_t>(4, f.fewestTokens())),
      makeKnob("keys_per_pass", {8, 16, 32}, f.fewestTokens(),
               std::min<int64_t>(32, f.fewestTokens())),
  };
}

void blockc::scheduleAttentionGpu(AttentionFuncs &f, const TargetInfo &target,
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
  Func queryTile = f.queries.in(f.scoresAcc);
  const Var qd = queryTile.args()[0], qi = queryTile.args()[1];
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
    if (!f.runTimeTokens && target.shufflesReduce(f.tokens)) {
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
  f.weightedAcc.update().reorder(i, d, f.rv.x, f.rv.y).unroll(i);
}

