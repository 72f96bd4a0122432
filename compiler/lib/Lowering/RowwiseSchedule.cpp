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
                               const TargetInfo &target, int gpuRows) {
  if (target.isGpu()) {
    for (auto *funcs : {&norm.perChannel, &norm.perRow})
      for (Func &f : *funcs)
        gpuRoot(f);
    // A warp per row: each of 32 lanes sums every 32nd channel (coalesced), then the lanes
    // combine their partial sums (rfactor). `gpuRows` rows per block (at most a sample's);
    // the tail shifts inwards, since partial sums stay in registers only when their loops
    // have constant extents.
    const int rows = int(std::max<int64_t>(1, std::min<int64_t>(gpuRows, norm.rows)));
    for (Func &sum : norm.reductions) {
      Func perRow = sum.in();
      Var ro("ro"), ri("ri"), lane("lane"), u("u");
      RVar kOuter("k_outer"), kLane("k_lane");
      Func partial = sum.update().split(norm.k, kOuter, kLane, 32).reorder(kOuter, kLane)
                         .rfactor(kLane, u);
      if (target.shufflesReduce(*as_const_int(norm.k.x.extent()))) {
        // CUDA: the lanes combine with warp shuffles (gpu_lanes, as in Halide's own GPU
        // reduction tests).
        perRow.compute_root()
            .split(v.r, ro, ri, rows, TailStrategy::ShiftInwards)
            .split(ri, ri, lane, 1)
            .gpu_blocks(ro)
            .gpu_threads(ri, lane);
        partial.compute_at(perRow, ri).gpu_lanes(u);
        partial.update().gpu_lanes(u);
      } else {
        // No shuffles (OpenCL, or fewer than 32 channels): the block's partial sums live in
        // shared (local) memory, a thread per (lane, row), then a thread per row adds its 32.
        // (gpu_threads instead of gpu_lanes at the row would give each thread a private copy
        // of all 32 partials, silently wrong.)
        perRow.compute_root()
            .split(v.r, ro, ri, rows, TailStrategy::ShiftInwards)
            .gpu_blocks(ro)
            .gpu_threads(ri);
        sum.compute_at(perRow, ro).gpu_threads(v.r);
        sum.update().gpu_threads(v.r);
        partial.compute_at(perRow, ro).reorder(u, v.r).gpu_threads(u, v.r);
        partial.update().reorder(u, v.r).gpu_threads(u, v.r);
      }
    }
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

/// The CPU knobs: rows per parallel task (`rows_per_task`; the default keeps a task to a
/// few KiB) and the vector width along the channels (`vector_width`). The GPU knobs: the
/// thread block of the output, `block_cols` x `block_rows` threads (one element each), and
/// with per-row statistics, the rows per thread block of their reductions (`stats_rows`, a
/// warp per row). The GPU defaults are the hand-written ones, unmeasured as knobs.
ScheduleSpace blockc::rowwiseSpace(int64_t channels, int64_t tokens, bool rowStats,
                                   const TargetInfo &target) {
  if (target.isGpu()) {
    ScheduleSpace space = {
        makeKnob("block_cols", {16, 32, 64, 128}, std::max<int64_t>(channels, 16), 32),
        makeKnob("block_rows", {1, 2, 4, 8}, 8, 8),
    };
    if (rowStats)
      space.push_back(makeKnob("stats_rows", {1, 2, 4, 8, 16, 32}, std::max<int64_t>(tokens, 1),
                               std::min<int64_t>(8, std::max<int64_t>(tokens, 1))));
    return space;
  }
  const int vec = target.vectorWithin(channels);
  return {
      makeKnob("rows_per_task", {1, 2, 4, 8, 16, 32, 64, 128}, std::max<int64_t>(tokens, 1),
               std::max<int64_t>(1, std::min<int64_t>(4096 / channels, 64))),
      makeKnob("vector_width", {std::max(1, vec / 4), std::max(1, vec / 2), vec}, vec, vec),
  };
}

void blockc::scheduleRowwise(Func out, std::vector<NormFuncs> &norms, const RowVars &v,
                             int64_t channels, const TargetInfo &target,
                             const KnobValues &knobs) {
  if (target.isGpu()) {
    Var ci("ci"), ri("ri");
    out.gpu_tile(v.c, v.r, ci, ri, int(knobs.at("block_cols")), int(knobs.at("block_rows")),
                 TailStrategy::GuardWithIf);
    const int statsRows = knobs.count("stats_rows") ? int(knobs.at("stats_rows")) : 8;
    for (NormFuncs &norm : norms)
      scheduleNormStats(norm, LoopLevel::root(), v, target, statsRows);
    return;
  }
  Var ro("ro"), ri("ri");
  // Rows in parallel tasks; the statistics of a norm are computed per task.
  out.split(v.r, ro, ri, int(knobs.at("rows_per_task")), TailStrategy::GuardWithIf).parallel(ro);
  out.vectorize(v.c, int(knobs.at("vector_width")), TailStrategy::ShiftInwards);
  for (NormFuncs &norm : norms)
    scheduleNormStats(norm, LoopLevel(out, ro), v, target);
}
