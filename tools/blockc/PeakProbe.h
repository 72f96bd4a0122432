//===- PeakProbe.h - this machine's arithmetic peak per number format -----*- C++ -*-===//
//
// What `blockc bench` compares a run with: the multiply-add rate of this CPU, now, for the
// module's number format, measured on as many threads as the run uses (each thread 12
// independent chains of the format's widest multiply-add instruction). The same probe as
// bench/peak.c, which the Python benchmarks build.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TOOLS_PEAKPROBE_H
#define BLOCKC_TOOLS_PEAKPROBE_H

#include <string>

namespace blockc {
namespace cli {

struct Peak {
  double gops = 0;          ///< G operations/s (2 per multiply-add); 0: no instruction for it
  std::string instruction;  ///< what was measured ("AVX2 FMA", "vdpbf16ps", "vpmaddwd", ...)
};

/// The peak for `precision` ("fp32", "bf16", "int8") on `threads` threads, the best of a few
/// runs of about 0.1 s. bf16 without a bf16 dot product instruction: gops 0 (the kernels
/// then multiply widened floats: the fp32 peak is theirs).
Peak measurePeak(const std::string &precision, int threads);

} // namespace cli
} // namespace blockc

#endif // BLOCKC_TOOLS_PEAKPROBE_H
