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

void blockc::gpuRoot(Func f) {
  f.compute_root();
  auto tile = [](Stage stage, const std::vector<Var> &args) {
    Var xi("xi"), yi("yi");
    if (args.size() == 1)
      stage.gpu_tile(args[0], xi, 64, TailStrategy::GuardWithIf);
    else
      stage.gpu_tile(args[0], args[1], xi, yi, 32, 8, TailStrategy::GuardWithIf);
  };
  tile(f, f.args());
  for (int u = 0; u < f.num_update_definitions(); ++u)
    tile(f.update(u), f.args());
}

void blockc::scheduleNormStats(NormFuncs &norm, LoopLevel at, const RowVars &v,
                               const TargetInfo &target) {
  if (target.isGpu()) {
    // One thread per row (or channel); each sums its row serially.
    for (auto *funcs : {&norm.perChannel, &norm.perRow, &norm.reductions})
      for (Func &f : *funcs)
        gpuRoot(f);
    return;
  }
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
  if (target.isGpu()) {
    Var ci("ci"), ri("ri");
    out.gpu_tile(v.c, v.r, ci, ri, 32, 8, TailStrategy::GuardWithIf);
    for (NormFuncs &norm : norms)
      scheduleNormStats(norm, LoopLevel::root(), v, target);
    return;
  }
  Var ro("ro"), ri("ri");
  // Rows in tasks of a few KiB each; the statistics of a norm are computed per task.
  int rowsPerTask = int(std::max<int64_t>(1, std::min<int64_t>(4096 / channels, 64)));
  out.split(v.r, ro, ri, rowsPerTask, TailStrategy::GuardWithIf).parallel(ro);
  out.vectorize(v.c, target.vectorWithin(channels), TailStrategy::ShiftInwards);
  for (NormFuncs &norm : norms)
    scheduleNormStats(norm, LoopLevel(out, ro), v, target);
}
