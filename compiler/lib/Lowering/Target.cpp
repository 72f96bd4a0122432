//===- Target.cpp - compile targets ---------------------------------------===//
#include "Target.h"

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
  };
  return table;
}

Target tier(bool avx512) {
  Target t(Target::Linux, Target::X86, 64);
  for (auto f : {Target::SSE41, Target::AVX, Target::AVX2, Target::FMA, Target::F16C})
    t.set_feature(f);
  if (avx512)
    for (auto f : {Target::AVX512, Target::AVX512_Skylake})
      t.set_feature(f);
  return t;
}
} // namespace

llvm::Expected<TargetInfo> blockc::resolveTarget(const std::string &name) {
  TargetInfo info;
  info.name = name;
  if (name == "host") {
    // Portable tiers rather than every feature of this exact CPU, so a module built here
    // runs on any CPU of the same tier.
    Target host = Halide::get_host_target();
    if (host.arch != Target::X86 || !host.has_feature(Target::AVX2))
      return llvm::createStringError("host CPU is not an x86-64 with AVX2: " + host.to_string());
    bool avx512 = host.has_feature(Target::AVX512_Skylake);
    info.halide = tier(avx512);
    info.name = avx512 ? "x86-64-avx512" : "x86-64-avx2";
  } else if (name == "x86-64-avx512" || name == "x86-64-avx2") {
    info.halide = tier(name == "x86-64-avx512");
  } else if (Target::validate_target_string(name)) {
    info.halide = Target(name);
  } else {
    return llvm::createStringError("unknown target '" + name +
                                   "' (expected host, x86-64-avx512, x86-64-avx2 or a Halide "
                                   "target string)");
  }
  if (info.halide.arch != Target::X86 || info.halide.bits != 64 ||
      info.halide.os != Target::Linux)
    return llvm::createStringError("target '" + name + "' is not supported yet (x86-64 Linux only)");
  info.arch = "x86-64";
  info.linker = "cc";
  for (const FeatureName &f : x86Features())
    if (info.halide.has_feature(f.feature))
      info.cpuFeatures.insert(info.cpuFeatures.end(), f.cpuFlags.begin(), f.cpuFlags.end());
  return info;
}
