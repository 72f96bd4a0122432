//===- HalideCuda.h - a kernel library's Halide CUDA runtime ----*- C++ -*-===//
//
// Each CUDA kernel library (a module, or blockc-tune's standalone kernel) carries its own
// Halide CUDA runtime, which launches the kernels. Here it is made to use the device's
// primary context (cuda::device(); Halide's default would create a context of its own,
// whose memory the caller's (PyTorch's, the CUDA runtime API's) primary context cannot
// use) and the stream of the call in progress on this thread (StreamScope).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_KERNELCALL_HALIDECUDA_H
#define BLOCKC_KERNELCALL_HALIDECUDA_H

#include "blockc/KernelCall/Cuda.h"

#include <HalideRuntime.h>
#include <HalideRuntimeCuda.h>

#include <string>
#include <vector>

namespace blockc {
namespace rt {
namespace cuda {

/// The entry points of a library's Halide CUDA runtime.
struct HalideCudaRuntime {
  const halide_device_interface_t *(*interfaceOf)() = nullptr;
  halide_cuda_acquire_context_t (*setAcquireContext)(halide_cuda_acquire_context_t) = nullptr;
  halide_cuda_release_context_t (*setReleaseContext)(halide_cuda_release_context_t) = nullptr;
  halide_cuda_get_stream_t (*setGetStream)(halide_cuda_get_stream_t) = nullptr;
  int (*deviceMalloc)(void *, halide_buffer_t *, const halide_device_interface_t *) = nullptr;
  int (*deviceFree)(void *, halide_buffer_t *) = nullptr;
  /// Optional: frees the runtime's cached allocations and unloads its kernels.
  void (*deviceRelease)(void *, const halide_device_interface_t *) = nullptr;
  /// Optional.
  int (*reuseDeviceAllocations)(void *, bool) = nullptr;
};

/// Looks the entry points up in `handle`; the names of required ones that are absent are
/// appended to `missing`.
HalideCudaRuntime findHalideCudaRuntime(void *handle, std::vector<std::string> &missing);

/// Makes `runtime` use `dev`'s primary context and StreamScope's streams, and cache the
/// device allocations made inside kernels (intermediates on the GPU) per stream instead
/// of cuMemAlloc/cuMemFree on every call.
void usePrimaryContextAndStreams(const HalideCudaRuntime &runtime, const Device &dev);

/// Sets this thread's stream for the Halide CUDA runtimes for the scope; outside any scope,
/// the legacy default stream.
class StreamScope {
public:
  explicit StreamScope(CUstream stream);
  ~StreamScope();
  StreamScope(const StreamScope &) = delete;
  StreamScope &operator=(const StreamScope &) = delete;

private:
  CUstream previous_;
};

} // namespace cuda
} // namespace rt
} // namespace blockc

#endif // BLOCKC_KERNELCALL_HALIDECUDA_H
