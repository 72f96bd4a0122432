//===- RowwiseCpuSchedule.cpp - CPU schedule of the row-wise kernels -------===//
#include "Rowwise.h"
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

/// The CPU knobs: rows per parallel task (`rows_per_task`; the default keeps a task to a
/// few KiB) and the vector width along the channels (`vector_width`).
ScheduleSpace blockc::rowwiseCpuSpace(int64_t channels, int64_t tokens,
                                      const TargetInfo &target) {
  const int vec = target.vectorWithin(channels);
  return {
      makeKnob("rows_per_task", {1, 2, 4, 8, 16, 32, 64, 128}, std::max<int64_t>(tokens, 1),
               std::max<int64_t>(1, std::min<int64_t>(4096 / channels, 64))),
      makeKnob("vector_width", {std::max(1, vec / 4), std::max(1, vec / 2), vec}, vec, vec),
  };
}

void blockc::scheduleRowwiseCpu(Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                                const TargetInfo &target, const KnobValues &knobs) {
  Var ro("ro"), ri("ri");
  // Rows in parallel tasks; the statistics of a norm are computed per task.
  out.split(v.r, ro, ri, int(knobs.at("rows_per_task")), TailStrategy::GuardWithIf).parallel(ro);
  out.vectorize(v.c, int(knobs.at("vector_width")), TailStrategy::ShiftInwards);
  for (NormFuncs &norm : norms)
    scheduleNormStats(norm, LoopLevel(out, ro), v, target);
}
