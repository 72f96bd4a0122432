//===- Target.h - compile targets ---------------------------------*- C++ -*-===//
//
// One abstraction for every target: the name the user gives, the Halide target, the
// architecture and CPU features the runtime checks at load, and the linker that makes the
// module. Only Lowering includes it (it pulls in Halide.h).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_TARGET_H
#define BLOCKC_LOWERING_TARGET_H

#include "Halide.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace blockc {

struct TargetInfo {
  std::string name;                      // x86-64-avx512, x86-64-avx2, arm64, ...
  Halide::Target halide;                 // what the kernels are compiled for
  std::string arch;                      // "x86-64" or "arm-64" (docs/module-format.md)
  std::string device;                    // "cuda" or "opencl" where kernels run on a GPU, else empty
  std::vector<std::string> cpuFeatures;  // checked by the runtime at load
  std::string linker;                    // C compiler driver used to link module.so
  // What the schedules size their tiles by: the vector registers a register tile may use,
  // and the per-core data caches of a typical CPU of the tier.
  int registers = 16;
  int64_t l1Bytes = 32 << 10, l2Bytes = 1 << 20;
  int vectorFloats() const { return halide.natural_vector_size<float>(); }
  /// The widest vector of floats (a power of two, at most the native width) dividing
  /// `extent`: for loops that must not have a tail.
  int vectorDividing(int64_t extent) const;
  /// The widest vector of floats (a power of two, at most the native width) no longer than
  /// `extent`: for loops whose tail shifts inwards.
  int vectorWithin(int64_t extent) const;
  bool isArm() const { return halide.arch == Halide::Target::ARM; }
  /// bf16 dot products into float32 (AVX512-BF16's vdpbf16ps, two products per lane).
  bool hasBF16Dot() const { return halide.has_feature(Halide::Target::AVX512_Zen4) && !isGpu(); }
  /// int8 dot products into int32, four products per lane: AVX512-VNNI's vpdpbusd (unsigned
  /// by signed bytes: hasUnsignedInt8Dot) or AArch64's sdot (signed by signed).
  bool hasInt8Dot() const {
    return !isGpu() && (halide.has_feature(Halide::Target::AVX512_Zen4) ||
                        (isArm() && halide.has_feature(Halide::Target::ARMDotProd)));
  }
  bool hasUnsignedInt8Dot() const { return hasInt8Dot() && !isArm(); }
  bool isGpu() const { return !device.empty(); }
  /// Warp shuffles (Halide's gpu_lanes) exist only in Halide's CUDA backend.
  bool hasWarpShuffles() const { return device == "cuda"; }
  /// Whether a reduction of `extent` elements can combine its 32 lanes' partials with warp
  /// shuffles. Below 32 elements Halide trims the lanes to the extent and guards the
  /// partials' updates, so some lanes would skip a shuffle that names the whole warp (a
  /// hang on an H100 at 1 element, undefined behaviour at any other).
  bool shufflesReduce(int64_t extent) const { return hasWarpShuffles() && extent >= 32; }
};

/// Resolves "host", "x86-64-avx2", "x86-64-avx512", "x86-64-zen4", "x86-64-zen5",
/// "x86-64-sapphirerapids", "arm64", "arm64-dotprod",
/// "arm64-sve2", "cuda", "cuda-sm80", "cuda-sm86", "opencl" or a Halide target string (x86-64
/// or arm-64 Linux, optionally with CUDA or OpenCL). "opencl" (the host CPU's tier with
/// Halide's OpenCL backend) is for testing the GPU schedules kernel by kernel, on PoCL for
/// example; whole modules are not compiled for it (emitModule refuses). Halide's errors
/// are returned naming the target.
llvm::Expected<TargetInfo> resolveTarget(const std::string &name);

} // namespace blockc

#endif // BLOCKC_LOWERING_TARGET_H
