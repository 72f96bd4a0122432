//===- TargetChecks.cpp - whether this machine can run a module -----------===//

#include "blockc/ModuleFormat/TargetChecks.h"

#include "blockc/ModuleFormat/CpuFeatures.h"
#include "blockc/ModuleFormat/Error.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <elf.h>
#include <vector>

namespace blockc {
namespace rt {
namespace {

/// The architecture, in hostArch()'s spelling, of a little-endian ELF header's class and
/// machine; null for others.
const char *elfArch(const unsigned char *header) {
  const bool is64 = header[EI_CLASS] == ELFCLASS64;
  if (header[EI_DATA] != ELFDATA2LSB || (!is64 && header[EI_CLASS] != ELFCLASS32))
    return nullptr;
  switch (header[18] | header[19] << 8) { // e_machine, in both classes
  case EM_X86_64: return is64 ? "x86-64" : nullptr;
  case EM_386: return is64 ? nullptr : "x86-32";
  case EM_AARCH64: return is64 ? "arm-64" : nullptr;
  case EM_ARM: return is64 ? nullptr : "arm-32";
  case EM_RISCV: return is64 ? "riscv-64" : nullptr;
  default: return nullptr;
  }
}

} // namespace

void checkElfArch(const std::string &path, const unsigned char *header, size_t headerBytes) {
  // A module of another architecture (an arm-64 module here, or the reverse): say so
  // before dlopen, whose message for this is obscure. Little-endian ELF: e_machine at 18.
  const char *arch = headerBytes >= 20 ? elfArch(header) : nullptr;
  if (arch && std::strcmp(arch, hostArch()) != 0)
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " was compiled for " + arch +
                                        " (its ELF machine), but this machine is " + hostArch());
}

void checkManifestTarget(const std::string &path, const Manifest &m) {
  // Architecture: GPU targets other than CUDA with its "device" field, and other CPUs, are
  // refused before anything runs.
  static const char *const kGpuFeatures[] = {"cuda",   "opencl", "metal",        "vulkan",
                                             "webgpu", "d3d12compute", "hexagon_dma"};
  for (const char *gpu : kGpuFeatures) {
    std::string t = "-" + m.target + "-";
    const bool targets = m.arch == gpu ||
                         t.find(std::string("-") + gpu + "-") != std::string::npos ||
                         t.find(std::string("-") + gpu + "_") != std::string::npos;
    if (!targets || (m.device == "cuda" && std::strcmp(gpu, "cuda") == 0))
      continue;
    if (std::strcmp(gpu, "cuda") == 0)
      fail(BLOCKC_ERROR_INCOMPATIBLE,
           quoted(path) + " targets cuda (target '" + m.target +
               "') but its manifest has no \"device\": \"cuda\" (compiled by an older blockc? "
               "recompile it with --target cuda)");
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " targets " + gpu + " (target '" + m.target +
                                        "'); this runtime runs CPU and CUDA modules only");
  }
  if (m.device == "cuda" && ("-" + m.target + "-").find("-cuda-") == std::string::npos)
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + ": the manifest says \"device\": \"cuda\" "
                                                   "but target '" + m.target +
                                        "' has no cuda feature");
  if (m.arch != hostArch())
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " was compiled for " + m.arch + " (target '" +
                                        m.target + "'), but this machine is " + hostArch());
  std::vector<std::string> unknown, missing;
  for (const std::string &f : m.cpuFeatures) {
    bool known;
    if (!hostHasCpuFeature(f, known))
      (known ? missing : unknown).push_back(f);
  }
  if (!unknown.empty())
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + ": unknown CPU feature(s) in the manifest: " +
                                        joinNames(unknown) +
                                        " (this runtime knows: " + joinNames(knownCpuFeatures()) +
                                        ")");
  if (!missing.empty())
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " (target '" + m.target +
                                        "') needs CPU features this machine lacks: " +
                                        joinNames(missing));
}

int requiredComputeCapability(const std::string &target) {
  int best = 0;
  const std::string key = "cuda_capability_";
  for (size_t at = target.find(key); at != std::string::npos; at = target.find(key, at + 1)) {
    size_t end = at + key.size();
    int value = 0;
    while (end < target.size() && std::isdigit(static_cast<unsigned char>(target[end])))
      value = value * 10 + (target[end++] - '0');
    best = std::max(best, value);
  }
  return best;
}

} // namespace rt
} // namespace blockc
