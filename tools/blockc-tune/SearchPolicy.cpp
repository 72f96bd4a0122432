//===- SearchPolicy.cpp - which kernel gets the next round ----------------===//
//
// Kernels are tuned in rounds. First every kernel's round 0 (its default first: the
// default's outputs are the reference every other candidate is checked against, and its
// time weighs the kernel), then more rounds: with --trials, to the kernel with the fewest
// trials; with --budget, to the kernel with the least tuning time spent relative to its
// weight (default time x uses), until the budget is spent. A round compiles its
// candidates in parallel workers, then times them one by one, never while compiling.
//
//===----------------------------------------------------------------------===//
#include "TuningRun.h"

#include <algorithm>

using namespace blockc::tune;

bool TuningRun::tuneKernels() {
  // Round 0 of every kernel: its default (the reference and the kernel's weight) and the
  // seeding candidates.
  for (KernelRun &k : kernels) {
    if (stopRequested())
      return true;
    if (!finished(k) && runRound(k) == RoundEnd::Fatal)
      return false;
  }
  // Then the kernel that is furthest behind its share.
  while (!stopRequested()) {
    KernelRun *next = nextKernel();
    if (!next)
      return true;
    if (runRound(*next) == RoundEnd::Fatal)
      return false;
  }
  return true;
}

KernelRun *TuningRun::nextKernel() {
  KernelRun *next = nullptr;
  double nextScore = 0;
  for (KernelRun &k : kernels) {
    if (finished(k))
      continue;
    double score;
    if (options.trials) {
      score = static_cast<double>(k.trials);
    } else {
      const double weight =
          std::max(1e-3, k.defaultTimeUs.value_or(1.0) * std::max(1, k.task.uses));
      score = k.spentS / weight;
    }
    if (!next || score < nextScore) {
      next = &k;
      nextScore = score;
    }
  }
  return next;
}

void TuningRun::updatePlanned() {
  if (!options.trials)
    return;
  int64_t planned = 0;
  for (const KernelRun &k : kernels)
    planned += finished(k) ? k.trials : *options.trials;
  progress->setPlanned(planned);
}
