//===- HalideCuda.cpp - a kernel library's Halide CUDA runtime ------------===//

#include "blockc/KernelCall/HalideCuda.h"

#include "blockc/KernelCall/KernelLibrary.h"

#include <atomic>
#include <type_traits>

namespace {

/// The device's primary context, for every CUDA kernel library of the process.
std::atomic<void *> gCudaContext{nullptr};

/// The stream of the call in progress on this thread; null outside calls (the legacy
/// default stream).
thread_local void *tCudaStream = nullptr;

extern "C" int blockcCudaAcquireContext(void * /*user_context*/, void **ctx, bool create) {
  *ctx = gCudaContext.load();
  return *ctx || !create ? 0 : halide_error_code_gpu_device_error;
}

extern "C" int blockcCudaReleaseContext(void * /*user_context*/) { return 0; }

extern "C" int blockcCudaGetStream(void * /*user_context*/, void * /*ctx*/, void **stream) {
  *stream = tCudaStream;
  return 0;
}

} // namespace

namespace blockc {
namespace rt {
namespace cuda {

HalideCudaRuntime findHalideCudaRuntime(void *handle, std::vector<std::string> &missing) {
  auto required = [&](auto &f, const char *name) {
    f = reinterpret_cast<std::remove_reference_t<decltype(f)>>(lookupSymbol(handle, name));
    if (!f)
      missing.push_back(name);
  };
  HalideCudaRuntime r;
  required(r.interfaceOf, "halide_cuda_device_interface");
  required(r.setAcquireContext, "halide_set_cuda_acquire_context");
  required(r.setReleaseContext, "halide_set_cuda_release_context");
  required(r.setGetStream, "halide_set_cuda_get_stream");
  required(r.deviceMalloc, "halide_device_malloc");
  required(r.deviceFree, "halide_device_free");
  r.deviceRelease = reinterpret_cast<decltype(r.deviceRelease)>(
      lookupSymbol(handle, "halide_device_release"));
  r.reuseDeviceAllocations = reinterpret_cast<decltype(r.reuseDeviceAllocations)>(
      lookupSymbol(handle, "halide_reuse_device_allocations"));
  return r;
}

void usePrimaryContextAndStreams(const HalideCudaRuntime &runtime, const Device &dev) {
  gCudaContext.store(dev.context);
  runtime.setAcquireContext(&blockcCudaAcquireContext);
  runtime.setReleaseContext(&blockcCudaReleaseContext);
  runtime.setGetStream(&blockcCudaGetStream);
  if (runtime.reuseDeviceAllocations)
    runtime.reuseDeviceAllocations(nullptr, true);
}

StreamScope::StreamScope(CUstream stream) : previous_(tCudaStream) { tCudaStream = stream; }

StreamScope::~StreamScope() { tCudaStream = previous_; }

} // namespace cuda
} // namespace rt
} // namespace blockc
