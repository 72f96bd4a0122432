//===- PrepareGpuSchedule.cpp - GPU schedule of the bind-time kernels ------===//
//
// These run once per weight file: one thread per element.
//
//===----------------------------------------------------------------------===//
#include "Prepare.h"
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

void blockc::schedulePrepareGpu(std::vector<Func> &outputs, std::vector<Func> &perChannel) {
  for (auto *funcs : {&perChannel, &outputs})
    for (Func &f : *funcs)
      gpuRoot(f);
}
