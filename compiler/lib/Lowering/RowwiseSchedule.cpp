//===- RowwiseSchedule.cpp - CPU schedule of per-row kernels and norms ----===//
#include "Kernels.h"

using namespace blockc;
using namespace Halide;

void blockc::vectorizeReduction(Func f, RDom over, Var at, const TargetInfo &target) {
  RVar outer("outer"), inner("inner");
  Var lane("lane");
  // One vector of partial results; on AArch64 four 4-float NEON vectors, so that four
  // independent add chains hide the add latency.
  const int lanes = target.isArm() ? 4 * target.vectorFloats() : target.vectorFloats();
  Func partial = f.update().split(over, outer, inner, lanes).rfactor(inner, lane);
  partial.compute_at(f, at).vectorize(lane);
  partial.update().vectorize(lane);
}

void blockc::scheduleNormStats(NormFuncs &norm, LoopLevel at, const RowVars &v,
                               const TargetInfo &target) {
  for (Func &p : norm.perChannel)
    p.compute_root();
  for (Func &p : norm.perRow)
    p.compute_at(at);
  for (Func &sum : norm.reductions) {
    sum.compute_at(at);
    vectorizeReduction(sum, norm.k, v.r, target);
  }
}

void blockc::scheduleRowwise(Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                             int64_t channels, const TargetInfo &target) {
  Var ro("ro"), ri("ri");
  // Rows in tasks of a few KiB each; the statistics of a norm are computed per task.
  int rowsPerTask = int(std::max<int64_t>(1, std::min<int64_t>(4096 / channels, 64)));
  out.split(v.r, ro, ri, rowsPerTask, TailStrategy::GuardWithIf).parallel(ro);
  out.vectorize(v.c, target.vectorWithin(channels), TailStrategy::ShiftInwards);
  for (NormFuncs &norm : norms)
    scheduleNormStats(norm, LoopLevel(out, ro), v, target);
}
