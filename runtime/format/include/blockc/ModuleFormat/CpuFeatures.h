//===- CpuFeatures.h - host CPU checks for a module's target ----*- C++ -*-===//
#ifndef BLOCKC_RUNTIME_CPUFEATURES_H
#define BLOCKC_RUNTIME_CPUFEATURES_H

#include <string>
#include <vector>

namespace blockc {
namespace rt {

/// This machine's architecture in Halide's spelling ("x86-64", "arm-64", ...).
const char *hostArch();

/// Whether the host CPU has `feature`; false with known = false if the name is
/// not in the runtime's table.
bool hostHasCpuFeature(const std::string &feature, bool &known);

/// The feature names the runtime knows, for messages and docs.
std::vector<std::string> knownCpuFeatures();

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_CPUFEATURES_H
