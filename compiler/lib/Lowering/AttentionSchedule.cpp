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

/// The widest power-of-two vector, at most `vec`, that divides `extent`.
static int dividingWidth(int64_t extent, int vec) {
  int w = vec;
  while (w > 1 && extent % w)
    w /= 2;
  return w;
}

void blockc::scheduleAttention(AttentionFuncs &f, const TargetInfo &target) {
  const int vec = target.vectorFloats();
  const int registers = target.halide.has_feature(Target::AVX512) ? 32 : 16;
  const int dWidth = dividingWidth(f.headDim, vec);
  const int vectorsPerHead = int(f.headDim / dWidth);
  const int queries = int(std::clamp<int64_t>((registers - 4) / vectorsPerHead, 1,
                                              std::min<int64_t>(8, f.tokens)));
  const int keyTile = 2 * vec;
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
  f.weightedAcc.update()
      .reorder(d, i, f.rj)
      .vectorize(d, dWidth)
      .unroll(d)
      .unroll(i);
}
