//===- RowwiseGpuSchedule.cpp - GPU schedule of the row-wise kernels -------===//
#include "Rowwise.h"
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

/// The GPU knobs: the thread block of the output, `block_cols` x `block_rows` threads (one
/// element each), and with per-row statistics, the rows per thread block of their
/// reductions (`stats_rows`, a warp per row). The defaults are the hand-written ones,
/// unmeasured as knobs.
ScheduleSpace blockc::rowwiseGpuSpace(int64_t channels, int64_t tokens, bool rowStats) {
  ScheduleSpace space = {
      makeKnob("block_cols", {16, 32, 64, 128}, std::max<int64_t>(channels, 16), 32),
      makeKnob("block_rows", {1, 2, 4, 8}, 8, 8),
  };
  if (rowStats)
    space.push_back(makeKnob("stats_rows", {1, 2, 4, 8, 16, 32}, std::max<int64_t>(tokens, 1),
                             std::min<int64_t>(8, std::max<int64_t>(tokens, 1))));
  return space;
}

void blockc::scheduleRowwiseGpu(Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                                const TargetInfo &target, const KnobValues &knobs) {
  Var ci("ci"), ri("ri");
  out.gpu_tile(v.c, v.r, ci, ri, int(knobs.at("block_cols")), int(knobs.at("block_rows")),
               TailStrategy::GuardWithIf);
  const int statsRows = knobs.count("stats_rows") ? int(knobs.at("stats_rows")) : 8;
  for (NormFuncs &norm : norms)
    scheduleNormStats(norm, LoopLevel::root(), v, target, statsRows);
}
