//===- ManifestFuzzer.cpp - libFuzzer target: the manifest reader ---------===//
//
// Any bytes as a module's manifest: rejected with RtError, or accepted as a manifest whose
// every kernel argument views elements inside the storage the runtime allocates for it
// (storageElements), at batch 1 and 2. Any other exception escapes and libFuzzer reports
// it.
//
//===----------------------------------------------------------------------===//

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Manifest.h"

#include <cstdio>
#include <cstdlib>

using namespace blockc::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Manifest manifest;
  try {
    manifest = parseManifest(std::string(reinterpret_cast<const char *>(data), size));
  } catch (const RtError &) {
    return 0;
  }
  for (const auto *kernels : {&manifest.prepare, &manifest.run})
    for (const KernelSpec &kernel : *kernels)
      for (const ArgView &arg : kernel.args)
        for (int64_t batch : {1, 2}) {
          // The last element the view reaches (extents -k mean k * B).
          int64_t last = arg.offset;
          for (size_t d = 0; d < arg.shape.size(); ++d) {
            const int64_t extent = arg.shape[d] < 0 ? -arg.shape[d] * batch : arg.shape[d];
            last += (extent - 1) * arg.strides[d];
          }
          if (arg.offset < 0 || last >= storageElements(manifest, arg, batch)) {
            std::fprintf(stderr, "kernel '%s': an argument reaches element %lld of %lld\n",
                         kernel.name.c_str(), static_cast<long long>(last),
                         static_cast<long long>(storageElements(manifest, arg, batch)));
            std::abort();
          }
        }
  return 0;
}
