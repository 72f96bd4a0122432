//===- SafetensorsFuzzer.cpp - libFuzzer target: the safetensors reader ---===//
//
// Any bytes as a .safetensors file: rejected with RtError, or accepted with every tensor's
// bytes inside the data section, readable, and as many as its dtype and shape say. Any other
// exception escapes and libFuzzer reports it.
//
//===----------------------------------------------------------------------===//

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Safetensors.h"

#include <cstdio>
#include <cstdlib>

using namespace blockc::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<SafetensorsFile> file;
  try {
    file = SafetensorsFile::fromBytes(data, size, "fuzz.safetensors");
  } catch (const RtError &) {
    return 0;
  }
  for (const auto &[name, t] : file->tensors()) {
    uint64_t elements = 1;
    for (int64_t d : t.shape)
      elements *= static_cast<uint64_t>(d);
    if (!(t.begin <= t.end && t.end <= size - 8 &&
          elements * dtypeSize(t.dtype) == t.byteSize())) {
      std::fprintf(stderr, "accepted tensor '%s' with bytes [%llu, %llu) of a %zu-byte file\n",
                   name.c_str(), static_cast<unsigned long long>(t.begin),
                   static_cast<unsigned long long>(t.end), size);
      std::abort();
    }
    // Its first and last bytes must be readable (AddressSanitizer checks the pointer).
    if (t.byteSize() > 0) {
      volatile unsigned char first = t.data[0], last = t.data[t.byteSize() - 1];
      (void)first;
      (void)last;
    }
  }
  return 0;
}
