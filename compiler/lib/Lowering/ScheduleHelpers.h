//===- ScheduleHelpers.h - what the kinds' schedules share --------*- C++ -*-===//
#ifndef BLOCKC_LOWERING_SCHEDULEHELPERS_H
#define BLOCKC_LOWERING_SCHEDULEHELPERS_H

#include "OpSemantics.h"

namespace blockc {

/// A knob with the `candidates` up to `limit` (and never below 0) as its choices, and
/// `defaultValue` (always among them) as its default.
Knob makeKnob(std::string name, std::vector<int64_t> candidates, int64_t limit,
              int64_t defaultValue);

/// The largest divisor of `n` not above `limit` (at least 1): blocks, chunks and parts of
/// a reduction divide it, since a partial one would need guards.
int64_t largestDivisorUpTo(int64_t n, int64_t limit);

/// Vectorizes the reduction of `f` over the 1-D domain `over`: `vec` partial results
/// (one per lane, rfactor), computed per iteration of `f`'s pure variable `at`.
void vectorizeReduction(Halide::Func f, Halide::RDom over, Halide::Var at,
                        const TargetInfo &target);

/// CPU: the threads of Halide's pool that runs the kernel, read at run time (before the
/// pool starts or is sized, the cores).
Halide::Expr runTimeThreads();

/// GPU: computes `f` (and its updates) at the root as its own kernel, one thread per
/// element of its pure dimensions; for norm statistics, per-channel parameters and the
/// bind-time kernels.
void gpuRoot(Halide::Func f);

/// Places a norm's statistics per block of rows at `at` (inside a kernel's loop nest). On a
/// GPU, `gpuRows` rows per thread block (at most the rows per sample), a warp per row.
void scheduleNormStats(NormFuncs &norm, Halide::LoopLevel at, const RowVars &v,
                       const TargetInfo &target, int gpuRows = 8);

} // namespace blockc

#endif // BLOCKC_LOWERING_SCHEDULEHELPERS_H
