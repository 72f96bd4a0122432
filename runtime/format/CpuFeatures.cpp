//===- CpuFeatures.cpp - host CPU checks ----------------------------------===//

#include "blockc/ModuleFormat/CpuFeatures.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <cstdlib>
#include <sys/auxv.h>
#include <sys/prctl.h>
#endif

namespace blockc {
namespace rt {

const char *hostArch() {
#if defined(__x86_64__)
  return "x86-64";
#elif defined(__i386__)
  return "x86-32";
#elif defined(__aarch64__)
  return "arm-64";
#elif defined(__arm__)
  return "arm-32";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv-64";
#else
  return "unknown";
#endif
}

namespace {

#if defined(__x86_64__) || defined(__i386__)
/// A CPUID bit, for the names a compiler's __builtin_cpu_supports lacks (newer features on
/// older compilers, Xeon Phi's on newer ones).
bool cpuidBit(unsigned leaf, unsigned subleaf, int reg, unsigned bit) {
  unsigned r[4] = {0, 0, 0, 0};
  if (static_cast<unsigned>(__get_cpuid_max(0, nullptr)) < leaf)
    return false;
  __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
  return (r[reg] >> bit) & 1u;
}
enum { EAX = 0, EBX = 1, ECX = 2, EDX = 3 };

#if defined(__clang__) && __clang_major__ < 16
#define BLOCKC_SUPPORTS_NEW(name, leaf, sub, reg, bit) cpuidBit(leaf, sub, reg, bit)
#else
#define BLOCKC_SUPPORTS_NEW(name, leaf, sub, reg, bit) (__builtin_cpu_supports(name) != 0)
#endif

struct Feature {
  const char *names[3]; // canonical name first, then aliases (Halide, /proc/cpuinfo)
  bool (*has)();
};

// __builtin_cpu_supports takes string literals only, hence one lambda each.
#define F(...) +[]() -> bool { return __VA_ARGS__; }
const Feature kFeatures[] = {
    {{"sse2"}, F(__builtin_cpu_supports("sse2") != 0)},
    {{"sse3"}, F(__builtin_cpu_supports("sse3") != 0)},
    {{"ssse3"}, F(__builtin_cpu_supports("ssse3") != 0)},
    {{"sse41", "sse4.1", "sse4_1"}, F(__builtin_cpu_supports("sse4.1") != 0)},
    {{"sse42", "sse4.2", "sse4_2"}, F(__builtin_cpu_supports("sse4.2") != 0)},
    {{"popcnt"}, F(__builtin_cpu_supports("popcnt") != 0)},
    {{"avx"}, F(__builtin_cpu_supports("avx") != 0)},
    {{"avx2"}, F(__builtin_cpu_supports("avx2") != 0)},
    {{"fma"}, F(__builtin_cpu_supports("fma") != 0)},
    {{"f16c"}, F(BLOCKC_SUPPORTS_NEW("f16c", 1, 0, ECX, 29))},
    {{"bmi", "bmi1"}, F(__builtin_cpu_supports("bmi") != 0)},
    {{"bmi2"}, F(__builtin_cpu_supports("bmi2") != 0)},
    {{"avx512f"}, F(__builtin_cpu_supports("avx512f") != 0)},
    {{"avx512bw"}, F(__builtin_cpu_supports("avx512bw") != 0)},
    {{"avx512dq"}, F(__builtin_cpu_supports("avx512dq") != 0)},
    {{"avx512vl"}, F(__builtin_cpu_supports("avx512vl") != 0)},
    {{"avx512cd"}, F(__builtin_cpu_supports("avx512cd") != 0)},
    // Xeon Phi's (Halide avx512_knl), read from CPUID: clang 19 no longer knows the names.
    {{"avx512er"}, F(cpuidBit(7, 0, EBX, 27))},
    {{"avx512pf"}, F(cpuidBit(7, 0, EBX, 26))},
    {{"avx512vnni", "avx512_vnni"}, F(__builtin_cpu_supports("avx512vnni") != 0)},
    {{"avx512bf16", "avx512_bf16"}, F(__builtin_cpu_supports("avx512bf16") != 0)},
    {{"avx512fp16", "avx512_fp16"}, F(BLOCKC_SUPPORTS_NEW("avx512fp16", 7, 0, EDX, 23))},
    {{"avx512vbmi"}, F(__builtin_cpu_supports("avx512vbmi") != 0)},
    {{"avx512vbmi2", "avx512_vbmi2"}, F(__builtin_cpu_supports("avx512vbmi2") != 0)},
    {{"avx512ifma"}, F(__builtin_cpu_supports("avx512ifma") != 0)},
    {{"avx512bitalg", "avx512_bitalg"}, F(__builtin_cpu_supports("avx512bitalg") != 0)},
    {{"avx512vpopcntdq", "avx512_vpopcntdq"}, F(__builtin_cpu_supports("avx512vpopcntdq") != 0)},
    {{"avxvnni", "avx_vnni"}, F(BLOCKC_SUPPORTS_NEW("avxvnni", 7, 1, EAX, 4))},
    {{"amx-tile", "amx_tile"}, F(BLOCKC_SUPPORTS_NEW("amx-tile", 7, 0, EDX, 24))},
    {{"amx-bf16", "amx_bf16"}, F(BLOCKC_SUPPORTS_NEW("amx-bf16", 7, 0, EDX, 22))},
    {{"amx-int8", "amx_int8"}, F(BLOCKC_SUPPORTS_NEW("amx-int8", 7, 0, EDX, 25))},
};
#undef F
#endif

#if defined(__aarch64__) && defined(__linux__)
/// Linux's HWCAP bits (getauxval), named as in /proc/cpuinfo, then aliases.
struct ArmFeature {
  const char *names[2];
  unsigned long auxType, bit;
};
const ArmFeature kArmFeatures[] = {
    {{"fp"}, AT_HWCAP, HWCAP_FP},
    {{"asimd", "neon"}, AT_HWCAP, HWCAP_ASIMD},
    {{"crc32"}, AT_HWCAP, HWCAP_CRC32},
    {{"atomics", "lse"}, AT_HWCAP, HWCAP_ATOMICS},
    {{"fphp"}, AT_HWCAP, HWCAP_FPHP},
    {{"asimdhp"}, AT_HWCAP, HWCAP_ASIMDHP},
    {{"asimdrdm"}, AT_HWCAP, HWCAP_ASIMDRDM},
    {{"asimddp", "dotprod"}, AT_HWCAP, HWCAP_ASIMDDP},
    {{"sve"}, AT_HWCAP, HWCAP_SVE},
    {{"sve2"}, AT_HWCAP2, HWCAP2_SVE2},
    {{"i8mm"}, AT_HWCAP2, HWCAP2_I8MM},
    {{"bf16"}, AT_HWCAP2, HWCAP2_BF16},
};

/// "sve-vl<bits>": Halide's SVE code assumes one vector length; true if this thread's is it.
bool sveVectorLength(const std::string &feature, bool &known) {
  const std::string prefix = "sve-vl";
  if (feature.compare(0, prefix.size(), prefix) != 0 || feature.size() == prefix.size() ||
      feature.find_first_not_of("0123456789", prefix.size()) != std::string::npos)
    return false;
  known = true;
  if (!(getauxval(AT_HWCAP) & HWCAP_SVE))
    return false;
  const int vl = prctl(PR_SVE_GET_VL, 0, 0, 0, 0);
  return vl >= 0 && (vl & PR_SVE_VL_LEN_MASK) * 8 == std::atol(feature.c_str() + prefix.size());
}
#endif

} // namespace

bool hostHasCpuFeature(const std::string &feature, bool &known) {
  known = false;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  for (const Feature &f : kFeatures)
    for (const char *name : f.names)
      if (name && feature == name) {
        known = true;
        return f.has();
      }
#elif defined(__aarch64__) && defined(__linux__)
  for (const ArmFeature &f : kArmFeatures)
    for (const char *name : f.names)
      if (name && feature == name) {
        known = true;
        return (getauxval(f.auxType) & f.bit) != 0;
      }
  return sveVectorLength(feature, known);
#endif
  return false;
}

std::vector<std::string> knownCpuFeatures() {
  std::vector<std::string> out;
#if defined(__x86_64__) || defined(__i386__)
  for (const Feature &f : kFeatures)
    out.push_back(f.names[0]);
#elif defined(__aarch64__) && defined(__linux__)
  for (const ArmFeature &f : kArmFeatures)
    out.push_back(f.names[0]);
  out.push_back("sve-vl<bits>");
#endif
  return out;
}

} // namespace rt
} // namespace blockc
