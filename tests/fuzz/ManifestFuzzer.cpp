//===- ManifestFuzzer.cpp - libFuzzer target: the manifest reader ---------===//
//
// Any bytes as a module's manifest: rejected with RtError, or accepted as a manifest whose
// every kernel argument views elements inside the storage the runtime allocates for it
// (storageElements), at batch 1 and 2 and, with run-time tokens, at every sequence length
// up to 64 and at the maximum. Any other exception escapes and libFuzzer reports it.
//
//===----------------------------------------------------------------------===//

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Manifest.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace blockc::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Manifest manifest;
  try {
    manifest = parseManifest(std::string(reinterpret_cast<const char *>(data), size));
  } catch (const RtError &) {
    return 0;
  }
  std::vector<int64_t> lengths = {1};
  for (int64_t s = 2; s <= std::min<int64_t>(manifest.maxTokens, 64); ++s)
    lengths.push_back(s);
  if (manifest.maxTokens > 64)
    lengths.push_back(manifest.maxTokens);
  for (const auto *kernels : {&manifest.prepare, &manifest.run})
    for (const KernelSpec &kernel : *kernels)
      for (const ArgView &arg : kernel.args)
        for (int64_t batch : {1, 2})
          for (int64_t tokens : lengths) {
            const RunShape run{batch, tokens};
            // The last element the view reaches, written out (not through ArgView::extent).
            int64_t last = arg.offset;
            for (size_t d = 0; d < arg.shape.size(); ++d) {
              int64_t extent = arg.shape[d] < 0 ? -arg.shape[d] * batch : arg.shape[d];
              int64_t stride = arg.strides[d];
              if (arg.tokensShape >> d & 1)
                extent *= tokens;
              if (arg.tokensStrides >> d & 1)
                stride *= tokens;
              last += (extent - 1) * stride;
            }
            if (arg.offset < 0 || last >= storageElements(manifest, arg, run)) {
              std::fprintf(stderr, "kernel '%s': an argument reaches element %lld of %lld\n",
                           kernel.name.c_str(), static_cast<long long>(last),
                           static_cast<long long>(storageElements(manifest, arg, run)));
              std::abort();
            }
          }
  return 0;
}
