//===- Target.cpp - compile targets ---------------------------------------===//
#include "Target.h"

#include <algorithm>

using namespace blockc;
using Halide::Target;

namespace {
struct FeatureName {
  Target::Feature feature;
  std::vector<const char *> cpuFlags; // names the runtime checks with __builtin_cpu_supports
};

// Halide's x86 feature sets and the CPU flags each implies.
const std::vector<FeatureName> &x86Features() {
  static const std::vector<FeatureName> table = {
      {Target::SSE41, {"sse41"}},
      {Target::AVX, {"avx"}},
      {Target::AVX2, {"avx2"}},
      {Target::FMA, {"fma"}},
      {Target::F16C, {"f16c"}},
      {Target::AVX512, {"avx512f", "avx512cd"}},
      {Target::AVX512_Skylake, {"avx512bw", "avx512dq", "avx512vl"}},
      {Target::AVX512_Cannonlake, {"avx512ifma", "avx512vbmi"}},
      {Target::AVX512_Zen4, {"avx512bf16", "avx512vnni", "avx512bitalg", "avx512vbmi2"}},
      {Target::AVXVNNI, {"avxvnni"}},
      {Target::AVX512_SapphireRapids, {"amx-tile", "amx-int8", "amx-bf16"}},
  };
  return table;
}

// Halide's AArch64 features and the HWCAP names each needs (Linux getauxval(AT_HWCAP,
// AT_HWCAP2), as in /proc/cpuinfo). Every arm-64 module needs "fp" and "asimd" (NEON).
const std::vector<FeatureName> &armFeatures() {
  static const std::vector<FeatureName> table = {
      {Target::ARMDotProd, {"asimddp"}},
      {Target::ARMFp16, {"fphp", "asimdhp"}},
      {Target::ARMv81a, {"atomics", "asimdrdm", "crc32"}},
      {Target::SVE, {"sve"}},
      {Target::SVE2, {"sve", "sve2"}},
  };
  return table;
}

// ARMv8.2-a and later imply extensions the runtime does not check one by one.
constexpr Target::Feature kUncheckedArmVersions[] = {
    Target::ARMv82a, Target::ARMv83a, Target::ARMv84a, Target::ARMv85a,
    Target::ARMv86a, Target::ARMv87a, Target::ARMv88a, Target::ARMv89a};

/// "arm64": ARMv8-a with NEON; "arm64-dotprod": + the ARMv8.2 dot product instructions;
/// "arm64-sve2": + SVE2 at 128-bit vectors (Neoverse N2/V2; Halide needs a fixed length).
Target armTier(const std::string &name) {
  Target t(Target::Linux, Target::ARM, 64);
  if (name == "arm64-dotprod")
    t.set_feature(Target::ARMDotProd);
  if (name == "arm64-sve2") {
    t.set_feature(Target::SVE2);
    t.vector_bits = 128;
  }
  return t;
}

/// "cuda" (= "cuda-sm80") and "cuda-sm86": kernels on an NVIDIA GPU of at least that compute
/// capability (Halide's newest is 8.6; newer GPUs run its PTX through the driver's JIT),
/// host code for any x86-64 with AVX2.
Target cudaTier(const std::string &name);

/// The x86-64 tiers by name, oldest first: each has the features of those before it (Halide's
/// own hierarchy, which its code generator assumes: completeX86 below).
struct X86Tier {
  const char *name;
  Target::Feature feature;
};
constexpr X86Tier kX86Tiers[] = {
    {"x86-64-avx2", Target::AVX2},
    {"x86-64-avx512", Target::AVX512_Skylake},
    // AVX512-BF16 and VNNI (vdpbf16ps, vpdpbusd): AMD Zen 4, Zen 5 (+ AVX-VNNI), Intel
    // Sapphire Rapids (+ AVX-VNNI, AMX).
    {"x86-64-zen4", Target::AVX512_Zen4},
    {"x86-64-zen5", Target::AVX512_Zen5},
    {"x86-64-sapphirerapids", Target::AVX512_SapphireRapids},
};

/// `t` with every feature its x86 features imply, as Halide's code generator completes a
/// target: the runtime must check the CPU flags of all of them.
Target completeX86(Target t) {
  if (t.has_feature(Target::AVX512_SapphireRapids) || t.has_feature(Target::AVX512_Zen5)) {
    t.set_feature(Target::AVX512_Zen4);
    t.set_feature(Target::AVXVNNI);
  }
  if (t.has_feature(Target::AVX512_Zen4))
    t.set_feature(Target::AVX512_Cannonlake);
  if (t.has_feature(Target::AVX512_Cannonlake))
    t.set_feature(Target::AVX512_Skylake);
  if (t.has_feature(Target::AVX512_Skylake))
    t.set_feature(Target::AVX512);
  if (t.has_feature(Target::AVX512))
    t.set_feature(Target::AVX2);
  if (t.has_feature(Target::AVX2))
    for (auto f : {Target::SSE41, Target::AVX, Target::FMA, Target::F16C})
      t.set_feature(f);
  return t;
}

Target tier(Target::Feature level) {
  Target t(Target::Linux, Target::X86, 64);
  t.set_feature(level);
  return completeX86(t);
}

Target cudaTier(const std::string &name) {
  Target t = tier(Target::AVX2);
  t.set_feature(Target::CUDA);
  t.set_feature(name == "cuda-sm86" ? Target::CUDACapability86 : Target::CUDACapability80);
  return t;
}

llvm::Expected<TargetInfo> resolve(const std::string &name) {
  if (name == "opencl") {
    // The host CPU's tier, kernels through Halide's OpenCL backend.
    llvm::Expected<TargetInfo> host = resolve("host");
    if (!host)
      return host.takeError();
    host->halide.set_feature(Target::OpenCL);
    host->name = name;
    host->device = "opencl";
    return host;
  }
  TargetInfo info;
  info.name = name;
  const Target host = Halide::get_host_target();
  if (name == "host") {
    // Portable tiers rather than every feature of this exact CPU, so a module built here
    // runs on any CPU of the same tier.
    if (host.arch == Target::X86 && host.has_feature(Target::AVX2)) {
      const Target complete = completeX86(host);
      for (const X86Tier &level : kX86Tiers)
        if (complete.has_feature(level.feature))
          info.name = level.name;
      info.halide = tier(std::find_if(std::begin(kX86Tiers), std::end(kX86Tiers),
                                      [&](const X86Tier &l) { return info.name == l.name; })
                             ->feature);
    } else if (host.arch == Target::ARM && host.bits == 64) {
      info.name = host.has_feature(Target::ARMDotProd) ? "arm64-dotprod" : "arm64";
      info.halide = armTier(info.name);
    } else {
      return llvm::createStringError("host CPU is neither an x86-64 with AVX2 nor an AArch64: " +
                                     host.to_string());
    }
  } else if (auto level = std::find_if(std::begin(kX86Tiers), std::end(kX86Tiers),
                                       [&](const X86Tier &l) { return name == l.name; });
             level != std::end(kX86Tiers)) {
    info.halide = tier(level->feature);
  } else if (name == "arm64" || name == "arm64-dotprod" || name == "arm64-sve2") {
    info.halide = armTier(name);
  } else if (name == "cuda" || name == "cuda-sm80" || name == "cuda-sm86") {
    info.halide = cudaTier(name);
  } else if (Target::validate_target_string(name)) {
    info.halide = Target(name);
  } else {
    return llvm::createStringError("unknown target '" + name +
                                   "' (expected host, x86-64-avx2, x86-64-avx512, x86-64-zen4, "
                                   "x86-64-zen5, x86-64-sapphirerapids, arm64, "
                                   "arm64-dotprod, arm64-sve2, cuda, cuda-sm80, cuda-sm86, "
                                   "opencl or a Halide target string)");
  }
  const Target &t = info.halide;
  if (t.has_gpu_feature()) {
    const bool cuda = t.has_feature(Target::CUDA), opencl = t.has_feature(Target::OpenCL);
    if (cuda == opencl || (cuda && t.arch != Target::X86))
      return llvm::createStringError("target '" + name + "': the GPU targets are CUDA with an "
                                     "x86-64 host and, for testing kernels, OpenCL");
    info.device = cuda ? "cuda" : "opencl";
  }
  if (t.bits != 64 || t.os != Target::Linux || (t.arch != Target::X86 && t.arch != Target::ARM))
    return llvm::createStringError("target '" + name +
                                   "' is not supported yet (x86-64 and arm-64 Linux only)");
  auto addFeatures = [&](const std::vector<FeatureName> &table) {
    for (const FeatureName &f : table)
      if (t.has_feature(f.feature))
        for (const char *flag : f.cpuFlags)
          if (std::find(info.cpuFeatures.begin(), info.cpuFeatures.end(), flag) ==
              info.cpuFeatures.end())
            info.cpuFeatures.push_back(flag);
  };
  if (t.arch == Target::X86) {
    info.arch = "x86-64";
    info.linker = "cc";
    info.halide = completeX86(info.halide);
    addFeatures(x86Features());
    // Sapphire Rapids class (AVX-512: 32 zmm) and Haswell..Alder Lake class (AVX2: 16 ymm).
    bool avx512 = t.has_feature(Target::AVX512);
    info.registers = avx512 ? 32 : 16;
    info.l1Bytes = avx512 ? 48 << 10 : 32 << 10;
    info.l2Bytes = avx512 ? 2 << 20 : 256 << 10;
  } else {
    for (Target::Feature v : kUncheckedArmVersions)
      if (t.has_feature(v))
        return llvm::createStringError(
            "target '" + name + "': ARMv8.2-a and later feature sets are not supported (the "
            "runtime cannot check what they imply); use arm64, arm64-dotprod or arm64-sve2");
    if ((t.has_feature(Target::SVE) || t.has_feature(Target::SVE2)) && t.vector_bits == 0)
      return llvm::createStringError("target '" + name + "': SVE needs a fixed vector length "
                                     "(add -vector_bits_128, or use arm64-sve2)");
    info.arch = "arm-64";
    // Cross-linked from x86-64 with Debian's g++-aarch64-linux-gnu; natively with cc.
    info.linker = host.arch == Target::ARM ? "cc" : "aarch64-linux-gnu-gcc";
    info.cpuFeatures = {"fp", "asimd"};
    addFeatures(armFeatures());
    // Halide's SVE code assumes exactly `vector_bits`: the runtime checks the length too.
    if (t.has_feature(Target::SVE) || t.has_feature(Target::SVE2))
      info.cpuFeatures.push_back("sve-vl" + std::to_string(t.vector_bits));
    // 32 128-bit NEON (or SVE) registers; a Neoverse N1/N2/V1 core: 64 KiB L1D, 1 MiB L2.
    info.registers = 32;
    info.l1Bytes = 64 << 10;
    info.l2Bytes = 1 << 20;
  }
  return info;
}
} // namespace

llvm::Expected<TargetInfo> blockc::resolveTarget(const std::string &name) {
  try {
    return resolve(name);
  } catch (const Halide::Error &e) {
    return llvm::createStringError("target '" + name + "': " + e.what());
  }
}

int TargetInfo::vectorDividing(int64_t extent) const {
  int width = vectorFloats();
  while (width > 1 && extent % width)
    width /= 2;
  return width;
}

int TargetInfo::vectorWithin(int64_t extent) const {
  int width = vectorFloats();
  while (width > 1 && width > extent)
    width /= 2;
  return width;
}
