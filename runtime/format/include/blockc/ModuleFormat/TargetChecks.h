//===- TargetChecks.h - whether this machine can run a module ---*- C++ -*-===//
//
// A module's target, as its ELF header and its manifest say, against this machine: the
// architecture, the CPU features, the device. Each check throws RtError
// (BLOCKC_ERROR_INCOMPATIBLE) naming the module file and what is missing, before anything
// of the module runs.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_TARGETCHECKS_H
#define BLOCKC_RUNTIME_TARGETCHECKS_H

#include "blockc/ModuleFormat/Manifest.h"

#include <string>

namespace blockc {
namespace rt {

/// Refuses a shared library (`path`, whose first 20 bytes, `headerBytes` of them read, are
/// `header`) compiled for another architecture than this machine's; a header that is not a
/// little-endian ELF header of a known machine passes (dlopen judges it).
void checkElfArch(const std::string &path, const unsigned char *header, size_t headerBytes);

/// Refuses a manifest whose target is a GPU other than CUDA with its "device" field,
/// another architecture, or CPU features this machine lacks.
void checkManifestTarget(const std::string &path, const Manifest &m);

/// The highest compute capability named in a Halide target ("cuda_capability_86" -> 86);
/// 0 if none.
int requiredComputeCapability(const std::string &target);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_TARGETCHECKS_H
