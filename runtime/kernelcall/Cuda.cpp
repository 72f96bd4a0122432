//===- Cuda.cpp - the CUDA driver, loaded at run time ---------------------===//

#include "blockc/KernelCall/Cuda.h"

#include "blockc/ModuleFormat/Error.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <mutex>
#include <utility>

namespace blockc {
namespace rt {
namespace cuda {
namespace {

constexpr CUresult kSuccess = 0;
constexpr CUresult kErrorOutOfMemory = 2;
constexpr int kAttrComputeMajor = 75; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrComputeMinor = 76;
constexpr int kPointerAttrContext = 1; // CU_POINTER_ATTRIBUTE_CONTEXT
constexpr int kPointerAttrMemoryType = 2;
constexpr unsigned kMemoryTypeHost = 1; // CU_MEMORYTYPE_HOST

std::mutex gDeviceMutex;
Device *gDevice = nullptr; // set once initialized; never freed (the process keeps it)

[[noreturn]] void unusable(const std::string &why) {
  fail(BLOCKC_ERROR_INCOMPATIBLE, "no usable CUDA device: " + why);
}

template <class F> void resolve(void *lib, F &f, const char *name, std::string &missing) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (!f)
    missing += (missing.empty() ? "" : ", ") + std::string(name);
}

std::unique_ptr<Device> initialize() {
  // The driver's library: libcuda.so.1 (the driver package's soname), not the toolkit's
  // libcudart. RTLD_GLOBAL: a module's Halide runtime looks the driver's functions up in
  // the process first (dlsym(RTLD_DEFAULT)) and only then opens "libcuda.so", the
  // development symlink, which machines with only the driver installed lack.
  dlerror();
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    const char *e = dlerror();
    unusable(std::string("cannot load the NVIDIA driver library libcuda.so.1 (") +
             (e ? e : "dlopen failed") + "); is the NVIDIA driver installed?");
  }
  auto d = std::make_unique<Device>();
  Api &a = d->api;
  std::string missing;
  resolve(lib, a.cuInit, "cuInit", missing);
  resolve(lib, a.cuDriverGetVersion, "cuDriverGetVersion", missing);
  resolve(lib, a.cuGetErrorName, "cuGetErrorName", missing);
  resolve(lib, a.cuGetErrorString, "cuGetErrorString", missing);
  resolve(lib, a.cuDeviceGetCount, "cuDeviceGetCount", missing);
  resolve(lib, a.cuDeviceGet, "cuDeviceGet", missing);
  resolve(lib, a.cuDeviceGetName, "cuDeviceGetName", missing);
  resolve(lib, a.cuDeviceGetAttribute, "cuDeviceGetAttribute", missing);
  resolve(lib, a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", missing);
  resolve(lib, a.cuCtxPushCurrent, "cuCtxPushCurrent_v2", missing);
  resolve(lib, a.cuCtxPopCurrent, "cuCtxPopCurrent_v2", missing);
  resolve(lib, a.cuMemAlloc, "cuMemAlloc_v2", missing);
  resolve(lib, a.cuMemFree, "cuMemFree_v2", missing);
  resolve(lib, a.cuMemcpyHtoD, "cuMemcpyHtoD_v2", missing);
  resolve(lib, a.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", missing);
  resolve(lib, a.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", missing);
  resolve(lib, a.cuMemsetD8, "cuMemsetD8_v2", missing);
  resolve(lib, a.cuStreamCreate, "cuStreamCreate", missing);
  resolve(lib, a.cuStreamDestroy, "cuStreamDestroy_v2", missing);
  resolve(lib, a.cuStreamSynchronize, "cuStreamSynchronize", missing);
  resolve(lib, a.cuPointerGetAttribute, "cuPointerGetAttribute", missing);
  if (!missing.empty()) {
    dlclose(lib);
    unusable("libcuda.so.1 lacks " + missing + " (driver too old?)");
  }
  auto why = [&](CUresult r) {
    const char *name = nullptr, *text = nullptr;
    a.cuGetErrorName(r, &name);
    a.cuGetErrorString(r, &text);
    return std::string(name ? name : "CUDA error " + std::to_string(r)) +
           (text ? std::string(" (") + text + ")" : "");
  };
  CUresult r = a.cuInit(0);
  if (r != kSuccess) {
    std::string reason = "cuInit failed: " + why(r);
    dlclose(lib);
    unusable(reason);
  }
  a.cuDriverGetVersion(&d->driverVersion);
  int count = 0;
  if ((r = a.cuDeviceGetCount(&count)) != kSuccess)
    unusable("cuDeviceGetCount failed: " + why(r));
  if (count < 1)
    unusable("the CUDA driver finds no GPU");
  if (const char *env = std::getenv("BLOCKC_CUDA_DEVICE"); env && *env) {
    char *end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (*end || n < 0 || n >= count)
      unusable("BLOCKC_CUDA_DEVICE='" + std::string(env) + "' is not a device ordinal (0.." +
               std::to_string(count - 1) + ")");
    d->ordinal = static_cast<int>(n);
  }
  if ((r = a.cuDeviceGet(&d->device, d->ordinal)) != kSuccess)
    unusable("cuDeviceGet(" + std::to_string(d->ordinal) + ") failed: " + why(r));
  char name[256] = {0};
  if (a.cuDeviceGetName(name, sizeof name - 1, d->device) == kSuccess)
    d->name = name;
  a.cuDeviceGetAttribute(&d->computeMajor, kAttrComputeMajor, d->device);
  a.cuDeviceGetAttribute(&d->computeMinor, kAttrComputeMinor, d->device);
  if ((r = a.cuDevicePrimaryCtxRetain(&d->context, d->device)) != kSuccess)
    unusable("cannot retain the primary context of device " + std::to_string(d->ordinal) +
             " (" + d->name + "): " + why(r));
  return d;
}

} // namespace

const Device &device() {
  std::lock_guard<std::mutex> lock(gDeviceMutex);
  if (!gDevice)
    gDevice = initialize().release();
  return *gDevice;
}

std::string describe(CUresult result) {
  const Api &a = device().api;
  const char *name = nullptr, *text = nullptr;
  a.cuGetErrorName(result, &name);
  a.cuGetErrorString(result, &text);
  return std::string(name ? name : "error " + std::to_string(result)) +
         (text ? std::string(" (") + text + ")" : "");
}

void check(CUresult result, const std::string &what, int status) {
  if (result == kSuccess)
    return;
  fail(result == kErrorOutOfMemory ? BLOCKC_ERROR_OUT_OF_MEMORY
                                   : static_cast<blockc_status>(status),
       what + ": CUDA error " + describe(result));
}

ScopedContext::ScopedContext() {
  const Device &d = device();
  check(d.api.cuCtxPushCurrent(d.context), "cuCtxPushCurrent", BLOCKC_ERROR_KERNEL);
  pushed_ = true;
}

ScopedContext::~ScopedContext() {
  if (pushed_) {
    CUcontext old;
    device().api.cuCtxPopCurrent(&old);
  }
}

DeviceMemory::DeviceMemory(size_t bytes) {
  ScopedContext scope;
  CUdeviceptr p = 0;
  const size_t n = bytes ? bytes : 1;
  check(device().api.cuMemAlloc(&p, n),
        "cannot allocate " + std::to_string(n) + " bytes of GPU memory", BLOCKC_ERROR_OUT_OF_MEMORY);
  ptr_ = p;
  bytes_ = n;
}

DeviceMemory::DeviceMemory(DeviceMemory &&other) noexcept
    : ptr_(std::exchange(other.ptr_, 0)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceMemory &DeviceMemory::operator=(DeviceMemory &&other) noexcept {
  if (this != &other) {
    reset();
    ptr_ = std::exchange(other.ptr_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceMemory::reset() {
  if (!ptr_)
    return;
  try {
    ScopedContext scope;
    device().api.cuMemFree(ptr_); // an error here cannot be reported (destructor)
  } catch (...) {
  }
  ptr_ = 0;
  bytes_ = 0;
}

Stream Stream::create() {
  ScopedContext scope;
  Stream s;
  check(device().api.cuStreamCreate(&s.stream_, 0 /* CU_STREAM_DEFAULT */), "cuStreamCreate",
        BLOCKC_ERROR_KERNEL);
  return s;
}

Stream::Stream(Stream &&other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}

Stream &Stream::operator=(Stream &&other) noexcept {
  if (this != &other) {
    reset();
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

void Stream::reset() {
  if (!stream_)
    return;
  try {
    ScopedContext scope;
    device().api.cuStreamSynchronize(stream_);
    device().api.cuStreamDestroy(stream_);
  } catch (...) {
  }
  stream_ = nullptr;
}

void checkDevicePointer(const void *pointer, const std::string &what) {
  const Device &d = device();
  const CUdeviceptr p = reinterpret_cast<uintptr_t>(pointer);
  unsigned memoryType = 0;
  CUresult r = d.api.cuPointerGetAttribute(&memoryType, kPointerAttrMemoryType, p);
  if (r != kSuccess)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         what + " is not CUDA device memory (" + describe(r) +
             "); pass host buffers to blockc_module_run instead");
  if (memoryType == kMemoryTypeHost)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         what + " is host memory (page-locked); pass device memory, or host buffers to "
                "blockc_module_run");
  CUcontext owner = nullptr;
  if (d.api.cuPointerGetAttribute(&owner, kPointerAttrContext, p) == kSuccess && owner &&
      owner != d.context)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         what + " belongs to another CUDA context than the primary context of device " +
             std::to_string(d.ordinal) +
             " that blockc uses (allocate it with the CUDA runtime API, cudaMalloc, or "
             "in the primary context)");
}

} // namespace cuda
} // namespace rt
} // namespace blockc
