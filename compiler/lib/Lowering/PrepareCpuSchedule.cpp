//===- PrepareCpuSchedule.cpp - CPU schedule of the bind-time kernels ------===//
//
// These run once per weight file: a plain parallel loop over rows, vectorized along them.
//
//===----------------------------------------------------------------------===//
#include "Prepare.h"

using namespace blockc;
using namespace Halide;

void blockc::schedulePrepareCpu(std::vector<Func> &outputs, std::vector<Func> &perChannel,
                                const TargetInfo &target) {
  for (Func &f : perChannel)
    f.compute_root();
  for (Func &f : outputs) {
    f.compute_root();
    std::vector<Var> args = f.args();
    if (args.size() >= 2)
      f.parallel(args.back());
    f.vectorize(args[0], target.vectorFloats(), TailStrategy::GuardWithIf);
  }
}
