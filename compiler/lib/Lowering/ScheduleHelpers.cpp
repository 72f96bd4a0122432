//===- ScheduleHelpers.cpp - what the kinds' schedules share ---------------===//
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

Knob blockc::makeKnob(std::string name, std::vector<int64_t> candidates, int64_t limit,
                      int64_t defaultValue) {
  llvm::erase_if(candidates, [&](int64_t v) { return v < 0 || v > limit; });
  candidates.push_back(defaultValue);
  llvm::sort(candidates);
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  return Knob{std::move(name), std::move(candidates), defaultValue};
}

int64_t blockc::largestDivisorUpTo(int64_t n, int64_t limit) {
  int64_t divisor = std::clamp<int64_t>(limit, 1, n);
  while (n % divisor)
    --divisor;
  return divisor;
}

void blockc::vectorizeReduction(Func f, RDom over, Var at, const TargetInfo &target) {
  RVar outer("outer"), inner("inner");
  Var lane("lane");
  // One vector of partial results; on AArch64 four 4-float NEON vectors, so that four
  // independent add chains hide the add latency.
  const int lanes = target.isArm() ? 4 * target.vectorFloats() : target.vectorFloats();
  Func partial = f.update().split(over, outer, inner, lanes).rfactor(inner, lane);
  partial.compute_at(f, at).vectorize(lane);
  partial.update().vectorize(lane);
  // The lanes' partials added in a tree of shuffles, not a chain of scalar adds.
  f.update().atomic().vectorize(inner);
}

Expr blockc::runTimeThreads() {
  using Internal::Call;
  // Halide's runtime functions, in every CPU module's runtime: the pool's size is 0 until
  // it starts or halide_set_num_threads is called.
  Expr pool = Call::make(Int(32), "halide_get_num_threads", {}, Call::PureExtern);
  Expr cores = Call::make(Int(32), "halide_host_cpu_count", {}, Call::PureExtern);
  return max(1, select(pool > 0, pool, cores));
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
