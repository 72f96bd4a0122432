//===- MatmulGpuSchedule.cpp - GPU schedule of the matmul kernels ---------===//
//
// GPU: a thread block computes `block_cols` columns x `block_rows` rows of the output,
// each thread a register tile of `thread_cols` x `thread_rows` accumulators (the layout
// of Halide's apps/cuda_mat_mul). The kernel is specialized on the row count: from 8
// samples up (rows >= 8 x tokens) a thread takes `thread_rows` rows, below it
// `small_thread_rows` (more threads for the long reductions of few rows). Tiles shrink to
// the shapes (whole thread tiles, at most 1024 threads per block), so every knob value is
// legal and every tail shifts inwards. A fused norm runs as its own kernels ahead of the
// matmul.
//
// Two strategies for the reduction over K, picked by `k_chunk`: accumulators in registers
// (scheduleRegisterTiles) or chunks of K staged in shared memory (scheduleSharedChunks).
//
//===----------------------------------------------------------------------===//
#include "Matmul.h"
#include "ScheduleHelpers.h"

using namespace blockc;
using namespace Halide;

/// The defaults are the fastest measured on an H100 (ViT-B/16; tools/gpu/README.md has
/// the numbers): registers only with 4 of K per step, 4 x 4 tiles per thread in 64 x 32
/// blocks, 4 x 2 below 8 samples (more threads for few rows; slower from 8 samples up),
/// and K in parts of 768 (splitting fc2's K = 3072 pays at few rows; splitting K = 768 as
/// well costs more at many rows than it gains at one). Staging in shared memory is slower
/// at every batch size (the accumulators' shared traffic), and 4 x 8 tiles are slower than
/// 4 x 4 (their registers).
ScheduleSpace blockc::matmulGpuSpace(const MatmulFuncs &f) {
  return {
      makeKnob("k_chunk", {0, 8, 16, 32}, f.inFeatures, 0),
      makeKnob("k_unroll", {1, 2, 4, 8}, 8, 4),
      makeKnob("k_splits", {1, 2, 3, 4, 6, 8}, f.inFeatures,
               std::max<int64_t>(1, f.inFeatures / 768)),
      makeKnob("thread_cols", {1, 2, 4, 8}, f.outFeatures, std::min<int64_t>(4, f.outFeatures)),
      makeKnob("thread_rows", {1, 2, 4, 8}, f.fewestTokens(), std::min<int64_t>(4, f.fewestTokens())),
      makeKnob("small_thread_rows", {1, 2, 4, 8}, f.fewestTokens(), std::min<int64_t>(2, f.fewestTokens())),
      makeKnob("block_cols", {16, 32, 64, 128}, f.outFeatures, std::min<int64_t>(64, f.outFeatures)),
      makeKnob("block_rows", {4, 8, 16, 32}, f.fewestTokens(), std::min<int64_t>(32, f.fewestTokens())),
  };
}


namespace {
/// A thread block's output tile and each thread's register tile within it.
struct GpuTiles {
  int threadCols, threadRows, blockCols, blockRows;
};

/// The tiles of the knobs for the `large` (or small) row counts, shrunk to the shapes.
GpuTiles gpuTiles(const MatmulFuncs &f, const KnobValues &knobs, bool large) {
  GpuTiles t;
  t.threadCols = int(std::min<int64_t>(knobs.at("thread_cols"), f.outFeatures));
  t.threadRows = int(std::min<int64_t>(knobs.at(large ? "thread_rows" : "small_thread_rows"),
                                       f.fewestTokens()));
  // Whole thread tiles that fit in the shapes (every tail shifts inwards).
  t.blockCols = int(std::max<int64_t>(
      t.threadCols, std::min<int64_t>(knobs.at("block_cols"), f.outFeatures) /
                        t.threadCols * t.threadCols));
  t.blockRows = int(std::max<int64_t>(
      t.threadRows,
      std::min<int64_t>(knobs.at("block_rows"), f.fewestTokens()) / t.threadRows * t.threadRows));
  const int threadsX = t.blockCols / t.threadCols;
  if (threadsX * (t.blockRows / t.threadRows) > 1024)
    t.blockRows = t.threadRows * std::max(1, 1024 / threadsX);
  return t;
}

/// The kernel's specialization on the row count: from 8 samples up `large` tiles, below
/// it `small` ones.
struct RowCountBranches {
  Expr isLarge;
  GpuTiles large, small;
};

/// Thread blocks of output tiles of `out` over (c, r) (and of the K parts of a split
/// reduction, `parts`), a thread per register tile.
void tileOutput(Stage out, Var c, Var r, const GpuTiles &t,
                std::optional<Var> parts = std::nullopt) {
  Var co("co"), ro("ro"), ci("ci"), ri("ri"), cii("cii"), rii("rii");
  out.tile(c, r, co, ro, ci, ri, t.blockCols, t.blockRows, TailStrategy::ShiftInwards)
      .tile(ci, ri, ci, ri, cii, rii, t.threadCols, t.threadRows, TailStrategy::ShiftInwards)
      .gpu_threads(ci, ri)
      .unroll(cii)
      .unroll(rii);
  if (parts)
    out.reorder(cii, rii, ci, ri, co, ro, *parts).gpu_blocks(co, ro, *parts);
  else
    out.gpu_blocks(co, ro);
}

/// `k_chunk` = 0, registers only: each thread accumulates its tile over all of K in registers, loading A
/// and W from global memory (through the caches) `k_unroll` of K at a time as vectors; with
/// `k_splits` > 1, over one part of K, the parts' sums written by a kernel of their own
/// and added by the matmul (split-K, for enough threads and short serial loops at few rows).
void scheduleRegisterTiles(MatmulFuncs &f, const KnobValues &knobs,
                           const RowCountBranches &branches) {
  Var c = f.v.c, r = f.v.r, ci("ci");
  // Per step of `k_unroll` of K (the largest power of two dividing K not above it: a
  // vector width GPUs load), the tile's A values (rows x step, contiguous along K) and W
  // values (step x columns, contiguous along the columns) are first loaded into registers
  // as vectors, as in Halide's apps/cuda_mat_mul.
  int kUnroll = 1;
  while (2 * kUnroll <= knobs.at("k_unroll") && f.inFeatures % (2 * kUnroll) == 0)
    kUnroll *= 2;
  // `k_splits` parts of K (the most, up to the knob, that divide K into whole steps):
  // each part's sums are a kernel of their own, thread blocks over (tiles, parts), and
  // the matmul adds the parts: more threads, and shorter serial loops, for few rows.
  const int splits = int(largestDivisorUpTo(f.inFeatures / kUnroll, knobs.at("k_splits")));
  Func reduced = f.acc; // accumulates (a part of) K in the registers of a thread
  RVar k = f.k;
  LoopLevel at(f.out, ci);
  if (splits > 1) {
    RVar part("part"), kInPart("k_in_part");
    Var partVar("part_v");
    const int partLength = int(f.inFeatures / splits);
    Func partSums = f.acc.update().split(f.k, part, kInPart, partLength).rfactor(part, partVar);
    Func partsOut = partSums.in(f.acc);
    partsOut.compute_root();
    tileOutput(partsOut.specialize(branches.isLarge), c, r, branches.large, partsOut.args()[2]);
    tileOutput(partsOut, c, r, branches.small, partsOut.args()[2]);
    f.acc.compute_at(f.out, ci).unroll(c).unroll(r);
    f.acc.update().reorder(c, r, part).unroll(c).unroll(r);
    reduced = partSums;
    k = kInPart;
    at = LoopLevel(partsOut, ci);
  }
  RVar ko("ko"), ki("ki");
  reduced.compute_at(at).unroll(c).unroll(r);
  reduced.update()
      .split(k, ko, ki, kUnroll)
      .reorder(c, r, ki, ko)
      .unroll(c)
      .unroll(r)
      .unroll(ki);
  Func aIn = f.input.in(reduced), wIn = f.weight.in(reduced);
  const Var ak = aIn.args()[0], ar = aIn.args()[1], wc = wIn.args()[0], wk = wIn.args()[1];
  aIn.compute_at(reduced, ko).vectorize(ak).unroll(ar);
  wIn.compute_at(reduced, ko).vectorize(wc).unroll(wk);
}

/// `k_chunk` > 0, shared-memory tiling: The reduction is split into chunks of K (rfactor;
/// the chunk is the largest divisor of K not above `k_chunk`): per chunk, the block's
/// threads stage the chunk of A (block_rows x k_chunk) and of W (k_chunk x block_cols) in
/// shared memory, neighbouring threads loading neighbouring floats; then each thread sums
/// the chunk for its tile into registers (the rfactor intermediate) and adds the tile into
/// the block's accumulators, which live in shared memory. (Halide keeps per-thread
/// registers across a loop outside the thread loops only for warp lanes, so the
/// accumulators across chunks cannot be registers portably.)
void scheduleSharedChunks(MatmulFuncs &f, const KnobValues &knobs,
                          const RowCountBranches &branches) {
  Var c = f.v.c, r = f.v.r;
  Var co("co"), cii("cii"), rii("rii");
  // Chunks divide K (the largest divisor of K not above the knob): a partial last chunk
  // would stage floats beyond the ends of A and W.
  const int kChunk = int(largestDivisorUpTo(f.inFeatures, knobs.at("k_chunk")));
  RVar ko("ko"), ki("ki");
  Var kc("kc"), ct("ct"), rt("rt");
  // acc(c, r) += chunk(c, r, ko) over the chunks; chunk sums its k_chunk products.
  Func chunk = f.acc.update().split(f.k, ko, ki, kChunk).rfactor(ko, kc);
  Func aIn = f.input.in(chunk), wIn = f.weight.in(chunk);
  f.acc.compute_at(f.out, co).store_in(MemoryType::GPUShared);
  chunk.compute_at(f.acc, ct).unroll(c).unroll(r);
  chunk.update().reorder(c, r, ki).unroll(c).unroll(r);
  aIn.compute_at(f.acc, ko);
  wIn.compute_at(f.acc, ko);
  const Var a0 = aIn.args()[0], a1 = aIn.args()[1]; // (k, r)
  const Var w0 = wIn.args()[0], w1 = wIn.args()[1]; // (o, k)
  // One schedule per branch of the row-count specialization.
  auto branch = [&](Stage init, Stage update, Stage a, Stage w, const GpuTiles &t) {
    init.tile(c, r, ct, rt, cii, rii, t.threadCols, t.threadRows, TailStrategy::RoundUp)
        .gpu_threads(ct, rt)
        .unroll(cii)
        .unroll(rii);
    update.tile(c, r, ct, rt, cii, rii, t.threadCols, t.threadRows, TailStrategy::RoundUp)
        .reorder(cii, rii, ct, rt, ko)
        .gpu_threads(ct, rt)
        .unroll(cii)
        .unroll(rii);
    // The chunk's loads spread over the block's threads, neighbouring threads reading
    // neighbouring floats (A along k, W along the output columns).
    const int threadsX = t.blockCols / t.threadCols, threadsY = t.blockRows / t.threadRows;
    for (auto [stage, x, y] : {std::tuple(a, a0, a1), std::tuple(w, w0, w1)}) {
      Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
      stage.split(x, xo, xi, threadsX, TailStrategy::GuardWithIf)
          .split(y, yo, yi, threadsY, TailStrategy::GuardWithIf)
          .reorder(xo, yo, xi, yi)
          .gpu_threads(xi, yi);
    }
  };
  const Expr isLarge = branches.isLarge;
  branch(f.acc.specialize(isLarge), f.acc.update().specialize(isLarge),
         aIn.specialize(isLarge), wIn.specialize(isLarge), branches.large);
  branch(f.acc, f.acc.update(), aIn, wIn, branches.small);
}
} // namespace

void blockc::scheduleMatmulGpu(MatmulFuncs &f, const TargetInfo &target,
                               const KnobValues &knobs) {
  Expr rows = f.out.output_buffer().dim(1).extent();
  const RowCountBranches branches{rows >= 8 * int(f.fewestTokens()), gpuTiles(f, knobs, true),
                                  gpuTiles(f, knobs, false)};
  tileOutput(f.out.specialize(branches.isLarge), f.v.c, f.v.r, branches.large);
  tileOutput(f.out, f.v.c, f.v.r, branches.small);
  if (knobs.at("k_chunk") == 0)
    scheduleRegisterTiles(f, knobs, branches);
  else
    scheduleSharedChunks(f, knobs, branches);
  for (Func &p : f.perChannel)
    gpuRoot(p);
  if (f.prologue) {
    gpuRoot(f.input);
    scheduleNormStats(*f.prologue, LoopLevel::root(), f.v, target);
  }
}
