//===- KernelTask.h - one distinct run kernel of a block ----------*- C++ -*-===//
//
// What the tuner knows of a kernel it tunes: which kernels share it, what kind it is and
// the knobs of its schedule. The compiler lists them (blockc/Lowering/KernelTasks.h).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_SCHEDULE_KERNELTASK_H
#define BLOCKC_SCHEDULE_KERNELTASK_H

#include "blockc/Schedule/ScheduleChoice.h"

#include <string>

namespace blockc {

/// One distinct run kernel of a block.
struct KernelTask {
  std::string name;      // the first kernel with this signature (k0, k1, ...)
  std::string signature; // kernelSignature
  std::string kind;      // matmul, attention, norm, elementwise
  int uses = 0;          // how many of the block's kernels share the signature
  ScheduleSpace space;   // its knobs on this target
};

} // namespace blockc

#endif // BLOCKC_SCHEDULE_KERNELTASK_H
