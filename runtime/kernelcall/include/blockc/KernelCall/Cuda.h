//===- Cuda.h - the CUDA driver, loaded at run time -------------*- C++ -*-===//
//
// What the runtime needs of the CUDA driver API to run a CUDA module (manifest "device":
// "cuda"): the device and its primary context, device memory, copies and streams. The
// driver (libcuda.so.1) is opened with dlopen the first time a CUDA module is loaded, so
// the runtime neither links against CUDA nor needs it for CPU modules. The module's own
// Halide runtime launches the kernels; the runtime makes it use the same primary context
// (halide_set_cuda_acquire_context) and its per-run streams (halide_set_cuda_get_stream).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_CUDA_H
#define BLOCKC_RUNTIME_CUDA_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace blockc {
namespace rt {
namespace cuda {

using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUstream = void *;
using CUdeviceptr = unsigned long long;

/// Driver entry points (names as exported by libcuda.so.1, _v2 where there is one).
struct Api {
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDriverGetVersion)(int *) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuCtxPushCurrent)(CUcontext) = nullptr;
  CUresult (*cuCtxPopCurrent)(CUcontext *) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream) = nullptr;
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream) = nullptr;
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t) = nullptr;
  CUresult (*cuStreamCreate)(CUstream *, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr) = nullptr;
};

/// The process's CUDA device: the driver loaded and initialized, the device's primary
/// context retained (the context the CUDA runtime API and PyTorch use, so device pointers
/// pass between them and blockc). The device is BLOCKC_CUDA_DEVICE (an ordinal), else 0.
struct Device {
  Api api;
  int ordinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
  int driverVersion = 0; // 12040 = 12.4
};

/// The device, initialized on first use. Throws RtError(BLOCKC_ERROR_INCOMPATIBLE) saying
/// why there is no usable device (no driver library, cuInit failed, no GPU...); a failure
/// is retried on the next call.
const Device &device();

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string describe(CUresult result);

/// Throws RtError (BLOCKC_ERROR_OUT_OF_MEMORY for CUDA_ERROR_OUT_OF_MEMORY, else `status`)
/// with "<what>: CUDA error <describe(result)>" unless result is CUDA_SUCCESS (0).
void check(CUresult result, const std::string &what, int status);

/// Makes the device's primary context current on this thread for the scope.
class ScopedContext {
public:
  ScopedContext();
  ~ScopedContext();
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;

private:
  bool pushed_ = false;
};

/// One device allocation (cuMemAlloc), freed on destruction.
class DeviceMemory {
public:
  DeviceMemory() = default;
  /// Allocates `bytes` (at least 1); throws RtError on failure.
  explicit DeviceMemory(size_t bytes);
  ~DeviceMemory() { reset(); }
  DeviceMemory(DeviceMemory &&other) noexcept;
  DeviceMemory &operator=(DeviceMemory &&other) noexcept;
  DeviceMemory(const DeviceMemory &) = delete;
  DeviceMemory &operator=(const DeviceMemory &) = delete;

  CUdeviceptr get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  void reset();

private:
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
};

/// A stream (cuStreamCreate with CU_STREAM_DEFAULT: it also orders itself with the legacy
/// default stream, as PyTorch's default stream is), destroyed on destruction.
class Stream {
public:
  Stream() = default;
  /// Creates the stream; throws RtError on failure.
  static Stream create();
  ~Stream() { reset(); }
  Stream(Stream &&other) noexcept;
  Stream &operator=(Stream &&other) noexcept;
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;

  CUstream get() const { return stream_; }
  void reset();

private:
  CUstream stream_ = nullptr;
};

/// Throws RtError(BLOCKC_ERROR_INVALID_ARGUMENT) naming `what` if `pointer` is not device
/// memory the CUDA driver knows (host memory, pageable or page-locked), or belongs to
/// another context.
void checkDevicePointer(const void *pointer, const std::string &what);

} // namespace cuda
} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_CUDA_H
