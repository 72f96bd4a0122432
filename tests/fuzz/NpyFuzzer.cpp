//===- NpyFuzzer.cpp - libFuzzer target: the .npy reader ------------------===//
//
// Any bytes as a .npy file: rejected with blockc::Error, or accepted with as many floats as
// the shape says. Any other exception escapes and libFuzzer reports it.
//
//===----------------------------------------------------------------------===//

#include "blockc/Npy.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  blockc::npy::ArrayF32 array;
  try {
    array = blockc::npy::parseF32(std::string(reinterpret_cast<const char *>(data), size),
                                  "fuzz.npy");
  } catch (const blockc::Error &) {
    return 0;
  }
  uint64_t elements = 1;
  for (int64_t d : array.shape)
    elements *= static_cast<uint64_t>(d);
  if (elements != array.data.size()) {
    std::fprintf(stderr, "accepted %zu floats for a shape of %llu elements\n",
                 array.data.size(), static_cast<unsigned long long>(elements));
    std::abort();
  }
  return 0;
}
