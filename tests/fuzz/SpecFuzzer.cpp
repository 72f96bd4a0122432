//===- SpecFuzzer.cpp - libFuzzer target: spec text through every pass ----===//
//
// Any bytes as a spec: the front end rejects them with a located error, or accepts them
// into a module that verifies and that the pass pipeline takes (SpecCheck.h, as the seeded
// fuzz test asks). A problem aborts, so libFuzzer keeps the input as a crash.
//
//===----------------------------------------------------------------------===//

#include "SpecCheck.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context each time: one kept for the whole run would keep every name and
  // attribute ever uniqued in it.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  const std::string source(reinterpret_cast<const char *>(data), size);
  const blockc::test::Outcome outcome = blockc::test::compileThroughPasses(context, source);
  if (!outcome.problem.empty()) {
    std::fprintf(stderr, "%s\n", outcome.problem.c_str());
    std::abort();
  }
  return 0;
}
