//===- Module.cpp - loading, binding and running compiled modules ---------===//
//
// Implements the C API of blockc/runtime.h. See docs/module-format.md.
//
//===----------------------------------------------------------------------===//

#include "blockc/runtime.h"

#include "CpuFeatures.h"
#include "Cuda.h"
#include "Error.h"
#include "Manifest.h"
#include "Safetensors.h"
#include "ViewBuffer.h"

#include <HalideRuntime.h>
#include <HalideRuntimeCuda.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits>
#include <link.h>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace blockc::rt;

namespace {

using ArgvFunction = int (*)(void **);
using SetErrorHandlerFunction = halide_error_handler_t (*)(halide_error_handler_t);
using SetNumThreadsFunction = int (*)(int);
using DeviceInterfaceFunction = const halide_device_interface_t *(*)();
using DeviceMallocFunction = int (*)(void *, halide_buffer_t *, const halide_device_interface_t *);
using DeviceFreeFunction = int (*)(void *, halide_buffer_t *);
using DeviceReleaseFunction = void (*)(void *, const halide_device_interface_t *);
using ReuseDeviceAllocationsFunction = int (*)(void *, bool);
using SetCudaAcquireContextFunction =
    halide_cuda_acquire_context_t (*)(halide_cuda_acquire_context_t);
using SetCudaReleaseContextFunction =
    halide_cuda_release_context_t (*)(halide_cuda_release_context_t);
using SetCudaGetStreamFunction = halide_cuda_get_stream_t (*)(halide_cuda_get_stream_t);

constexpr size_t kAlignment = 64;          // bytes, for arena slots and constants
constexpr size_t kAlignFloats = kAlignment / sizeof(float);
constexpr size_t kDeviceAlignFloats = 256 / sizeof(float); // GPU buffers: 256-byte aligned

thread_local std::string tLastError;

//===----------------------------------------------------------------------===//
// Halide error capture
//===----------------------------------------------------------------------===//

/// Set while this thread is inside a kernel call: Halide errors raised on this
/// thread are appended here.
thread_local std::string *tKernelMessages = nullptr;

/// Errors raised on Halide's worker threads (inside parallel loops) cannot be
/// matched to a call; the most recent one is kept here and used by a failing
/// kernel call that captured nothing on its own thread.
std::mutex gWorkerErrorMutex;
std::string gWorkerError;
uint64_t gWorkerErrorCount = 0;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

extern "C" void blockcRuntimeHalideErrorHandler(void * /*user_context*/, const char *message) {
  std::string text = trimmed(message ? message : "(null message)");
  if (tKernelMessages) {
    if (!tKernelMessages->empty())
      *tKernelMessages += "; ";
    *tKernelMessages += text;
    return;
  }
  std::lock_guard<std::mutex> lock(gWorkerErrorMutex);
  gWorkerError = std::move(text);
  ++gWorkerErrorCount;
}

//===----------------------------------------------------------------------===//
// CUDA modules: the hooks installed in each module's Halide CUDA runtime
//===----------------------------------------------------------------------===//

/// The device's primary context (cuda::device()), for every CUDA module of the process:
/// Halide's default would create a context of its own, whose memory the caller's
/// (PyTorch's, the CUDA runtime API's) primary context cannot use.
std::atomic<void *> gCudaContext{nullptr};

/// The stream of the run in progress on this thread (its arena's); null outside runs
/// (the legacy default stream).
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

/// Sets this thread's stream for Halide's CUDA runtime for the scope.
struct StreamScope {
  void *previous;
  explicit StreamScope(void *stream) : previous(tCudaStream) { tCudaStream = stream; }
  ~StreamScope() { tCudaStream = previous; }
};

/// Live CUDA modules per dlopen handle (two modules loaded from one file share one handle
/// and so one Halide runtime): the last one to go releases that runtime's device state.
std::mutex gCudaHandleMutex;
std::map<void *, int> gCudaHandleUsers;

//===----------------------------------------------------------------------===//
// Aligned float storage
//===----------------------------------------------------------------------===//

struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float, FreeDeleter>;

AlignedFloats allocateFloats(size_t count) {
  size_t bytes = std::max<size_t>(count, 1) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void *p = std::aligned_alloc(kAlignment, bytes);
  if (!p)
    throw std::bad_alloc();
  return AlignedFloats(static_cast<float *>(p));
}

size_t roundUpFloats(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

size_t roundUpDeviceFloats(size_t n) {
  return (n + kDeviceAlignFloats - 1) / kDeviceAlignFloats * kDeviceAlignFloats;
}

/// Per-call scratch memory: host memory for a CPU module; for a CUDA module, device memory
/// (the slots, then for blockc_module_run the input and output) and the run's stream.
struct Arena {
  AlignedFloats data;
  cuda::DeviceMemory device;
  cuda::Stream stream;
  size_t capacity = 0; // floats
};

/// Weights and constants of one successful bind: read-only once built. Addresses are host
/// pointers for a CPU module, device pointers (CUdeviceptr) for a CUDA module.
struct Binding {
  std::unique_ptr<SafetensorsFile> file;
  std::vector<uintptr_t> weights;     // by manifest weight index; 0 if unused
  std::vector<uintptr_t> constants;   // by manifest constant index
  std::vector<AlignedFloats> copies;  // CPU: misaligned weights, copied
  std::vector<AlignedFloats> constantData; // CPU
  cuda::DeviceMemory deviceData;           // CUDA: every used weight and every constant
};

/// Where each argument source's element 0 is, for one kernel sequence.
struct Storage {
  /// Null: host pointers. Else the module's CUDA interface, and addresses are device
  /// pointers: each view is a halide_buffer_t with only `device` set, as
  /// halide_device_crop makes for CUDA.
  const halide_device_interface_t *device = nullptr;
  uintptr_t input = 0, output = 0;
  const std::vector<uintptr_t> *weights = nullptr, *constants = nullptr;
  std::vector<uintptr_t> slots;
  /// A CUDA module's run stream: a profiled run waits for it after each kernel.
  cuda::CUstream stream = nullptr;
};

std::string joinNames(const std::vector<std::string> &names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i ? ", " : "") + names[i];
  return s;
}

std::string quoted(const std::string &s) { return "'" + s + "'"; }

/// The architecture, in hostArch()'s spelling, of a little-endian ELF header's class and
/// machine; null for others.
const char *elfArch(const unsigned char *header) {
  const bool is64 = header[EI_CLASS] == ELFCLASS64;
  if (header[EI_DATA] != ELFDATA2LSB || (!is64 && header[EI_CLASS] != ELFCLASS32))
    return nullptr;
  switch (header[18] | header[19] << 8) { // e_machine, in both classes
  case EM_X86_64: return is64 ? "x86-64" : nullptr;
  case EM_386: return is64 ? nullptr : "x86-32";
  case EM_AARCH64: return is64 ? "arm-64" : nullptr;
  case EM_ARM: return is64 ? nullptr : "arm-32";
  case EM_RISCV: return is64 ? "riscv-64" : nullptr;
  default: return nullptr;
  }
}

} // namespace

struct blockc_module {
  std::string path;         // as given (DIR/module.so for a directory)
  std::string manifestJson; // as embedded
  Manifest manifest;
  void *handle = nullptr;
  std::vector<ArgvFunction> prepareFunctions, runFunctions;
  std::vector<std::string> runKernelOps; // each run kernel's ops joined, for get_kernel_info
  SetNumThreadsFunction setNumThreads = nullptr;

  // CUDA modules (manifest "device": "cuda").
  bool cuda = false;
  const halide_device_interface_t *cudaInterface = nullptr;
  DeviceReleaseFunction deviceRelease = nullptr;
  bool countedCudaHandle = false; // in gCudaHandleUsers

  mutable std::shared_mutex bindMutex; // runs: shared; bind: exclusive
  std::unique_ptr<Binding> binding;
  std::atomic<bool> bound{false};

  std::mutex poolMutex;
  std::vector<Arena> pool;

  ~blockc_module() {
    binding.reset();
    pool.clear();
    if (countedCudaHandle) {
      bool last;
      {
        std::lock_guard<std::mutex> lock(gCudaHandleMutex);
        last = --gCudaHandleUsers[handle] == 0;
        if (last)
          gCudaHandleUsers.erase(handle);
      }
      // Frees the module runtime's cached device allocations and unloads its kernels
      // from the context, before the code goes away with dlclose.
      if (last && deviceRelease && cudaInterface) {
        try {
          cuda::ScopedContext scope;
          deviceRelease(nullptr, cudaInterface);
        } catch (...) {
        }
      }
    }
    if (handle)
      dlclose(handle);
  }

  /// An arena of at least `floats` floats: the smallest pooled one that is big enough,
  /// else the largest pooled one (its stream kept) or a new one, (re)allocated.
  Arena acquireArena(size_t floats) {
    Arena a;
    {
      std::lock_guard<std::mutex> lock(poolMutex);
      auto best = pool.end();
      for (auto it = pool.begin(); it != pool.end(); ++it)
        if (it->capacity >= floats && (best == pool.end() || it->capacity < best->capacity))
          best = it;
      if (best != pool.end()) {
        a = std::move(*best);
        pool.erase(best);
        return a;
      }
      if (!pool.empty()) { // too small: grow the largest
        auto largest = std::max_element(pool.begin(), pool.end(), [](const Arena &x, const Arena &y) {
          return x.capacity < y.capacity;
        });
        a = std::move(*largest);
        pool.erase(largest);
      }
    }
    a.capacity = 0;
    if (cuda) {
      a.device.reset(); // idle: its stream finished when it went back to the pool
      a.device = cuda::DeviceMemory(floats * sizeof(float));
      if (!a.stream.get())
        a.stream = cuda::Stream::create();
    } else {
      a.data.reset();
      a.data = allocateFloats(floats);
    }
    a.capacity = floats;
    return a;
  }

  void releaseArena(Arena a) {
    std::lock_guard<std::mutex> lock(poolMutex);
    pool.push_back(std::move(a));
  }
};

namespace {

/// An arena taken from the module's pool for one run, given back when the run ends.
struct ArenaLease {
  ArenaLease(blockc_module &mod, size_t floats) : mod(mod), arena(mod.acquireArena(floats)) {}
  ~ArenaLease() { mod.releaseArena(std::move(arena)); }
  blockc_module &mod;
  Arena arena;
};

/// Arena layout for batch B: each slot 64-byte aligned (256 on a GPU).
size_t slotOffsets(const Manifest &m, int64_t batch, std::vector<size_t> &offsets,
                   bool device = false) {
  // Slot sizes come from the manifest and the batch from the caller: a total beyond what
  // memory could hold is an error, never a product that wraps to a small arena.
  constexpr size_t kMaxFloats = std::numeric_limits<size_t>::max() / sizeof(float) / 2;
  offsets.clear();
  size_t total = 0;
  for (const SlotSpec &s : m.slots) {
    offsets.push_back(total);
    size_t n;
    if (__builtin_mul_overflow(static_cast<size_t>(s.elementsPerSample),
                               static_cast<size_t>(batch), &n) ||
        n > kMaxFloats - total)
      fail(BLOCKC_ERROR_OUT_OF_MEMORY, "the activations of batch " + std::to_string(batch) +
                                           " do not fit in memory (slot " +
                                           std::to_string(s.id) + ": " +
                                           std::to_string(s.elementsPerSample) +
                                           " floats per sample)");
    total += device ? roundUpDeviceFloats(n) : roundUpFloats(n);
  }
  return total;
}

/// Calls `f` (a kernel or a Halide runtime function returning a Halide error code) with
/// the Halide errors it raises collected in `messages`: those of this thread, else (on a
/// failure) the latest one raised on a Halide worker thread meanwhile.
template <class F> int callHalide(F &&f, std::string &messages) {
  uint64_t workerErrorsBefore;
  {
    std::lock_guard<std::mutex> lock(gWorkerErrorMutex);
    workerErrorsBefore = gWorkerErrorCount;
  }
  std::string *outer = tKernelMessages;
  tKernelMessages = &messages;
  const int rc = f();
  tKernelMessages = outer;
  if (rc != 0 && messages.empty()) {
    std::lock_guard<std::mutex> lock(gWorkerErrorMutex);
    if (gWorkerErrorCount != workerErrorsBefore)
      messages = gWorkerError;
  }
  return rc;
}

/// Calls `kernels` in order on the views of `storage`; with `kernelSeconds`, writes each
/// kernel's wall time there (on a GPU, up to the end of its work on the stream).
void callKernels(const blockc_module &mod, const char *phase,
                 const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Storage &storage,
                 int64_t batch, double *kernelSeconds = nullptr) {
  std::vector<halide_buffer_t> buffers;
  std::vector<halide_dimension_t> dims;
  std::vector<void *> argv;
  for (size_t k = 0; k < kernels.size(); ++k) {
    const KernelSpec &kernel = kernels[k];
    size_t totalRank = 0;
    for (const ArgView &a : kernel.args)
      totalRank += a.shape.size();
    buffers.assign(kernel.args.size(), halide_buffer_t());
    dims.assign(totalRank, halide_dimension_t());
    argv.assign(kernel.args.size(), nullptr);
    size_t dimAt = 0;
    for (size_t i = 0; i < kernel.args.size(); ++i) {
      const ArgView &a = kernel.args[i];
      uintptr_t base = 0;
      switch (a.source) {
      case ArgSource::Input:
        base = storage.input;
        break;
      case ArgSource::Output:
        base = storage.output;
        break;
      case ArgSource::Weight:
        base = (*storage.weights)[a.index];
        break;
      case ArgSource::Constant:
        base = (*storage.constants)[a.index];
        break;
      case ArgSource::Slot:
        base = storage.slots[a.index];
        break;
      }
      const uintptr_t address = base + static_cast<uintptr_t>(a.offset) * sizeof(float);
      halide_buffer_t &b = buffers[i];
      b = viewBuffer(a.shape, a.strides, batch, dims.data() + dimAt);
      if (storage.device) { // a crop of device memory: no host side, not dirty
        b.device = address;
        b.device_interface = storage.device;
      } else {
        b.host = reinterpret_cast<uint8_t *>(address);
      }
      dimAt += a.shape.size();
      argv[i] = &b;
    }

    std::string messages;
    const auto start = std::chrono::steady_clock::now();
    const int rc = callHalide([&] { return functions[k](argv.data()); }, messages);
    if (rc == 0 && kernelSeconds) {
      if (storage.stream)
        cuda::check(cuda::device().api.cuStreamSynchronize(storage.stream),
                    mod.path + ": " + phase + " kernel '" + kernel.name + "' on the GPU failed",
                    BLOCKC_ERROR_KERNEL);
      kernelSeconds[k] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (rc != 0) {
      if (messages.empty())
        messages = "(the kernel reported no message)";
      fail(BLOCKC_ERROR_KERNEL, mod.path + ": " + phase + " kernel '" + kernel.name + "' (" +
                                    kernel.function + "_argv) failed with code " +
                                    std::to_string(rc) + ": " + messages);
    }
  }
}

void *lookup(void *handle, const std::string &name) {
  dlerror();
  return dlsym(handle, name.c_str());
}

/// Size in bytes of the ELF symbol at addr, or 0 if unknown.
size_t symbolSize(const void *addr) {
  Dl_info info;
  void *entry = nullptr;
  if (dladdr1(addr, &info, &entry, RTLD_DL_SYMENT) && entry)
    return static_cast<size_t>(static_cast<const ElfW(Sym) *>(entry)->st_size);
  return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BLOCKC_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define BLOCKC_UNDER_SANITIZER 1
#endif
#endif

/// RTLD_DEEPBIND, unless sanitizers (which refuse it) are in use or the
/// BLOCKC_RUNTIME_NO_DEEPBIND environment variable is set to a non-empty value
/// other than "0".
int dlopenFlags() {
  int flags = RTLD_NOW | RTLD_LOCAL;
#if !defined(BLOCKC_UNDER_SANITIZER)
  const char *off = std::getenv("BLOCKC_RUNTIME_NO_DEEPBIND");
  if (!off || !*off || std::strcmp(off, "0") == 0)
    flags |= RTLD_DEEPBIND;
#endif
  return flags;
}

/// The highest compute capability named in a Halide target ("cuda_capability_86" -> 86);
/// 0 if none.
int requiredComputeCapability(const std::string &target) {
  int best = 0;
  const std::string key = "cuda_capability_";
  for (size_t at = target.find(key); at != std::string::npos; at = target.find(key, at + 1)) {
    size_t end = at + key.size();
    int value = 0;
    while (end < target.size() && std::isdigit(static_cast<unsigned char>(target[end])))
      value = value * 10 + (target[end++] - '0');
    best = std::max(best, value);
  }
  return best;
}

/// A CUDA module: the device (driver, primary context), its compute capability, the
/// module's Halide CUDA runtime entry points and hooks, and a probe allocation through that
/// runtime, so that a machine that cannot run the module says so at load.
void setUpCuda(blockc_module &mod) {
  const Manifest &m = mod.manifest;
  const std::string &path = mod.path;
  mod.cuda = true;
  const cuda::Device *dev;
  try {
    dev = &cuda::device();
  } catch (const RtError &e) {
    fail(e.status(), quoted(path) + " is a CUDA module (target '" + m.target + "'), but " +
                         "there is " + e.what());
  }
  const int need = requiredComputeCapability(m.target);
  const int have = dev->computeMajor * 10 + dev->computeMinor;
  if (need > have)
    fail(BLOCKC_ERROR_INCOMPATIBLE,
         quoted(path) + " (target '" + m.target + "') needs a GPU of compute capability " +
             std::to_string(need / 10) + "." + std::to_string(need % 10) + " or newer; device " +
             std::to_string(dev->ordinal) + " (" + dev->name + ") has " +
             std::to_string(dev->computeMajor) + "." + std::to_string(dev->computeMinor));

  std::vector<std::string> missing;
  auto need_symbol = [&](const char *name) {
    void *f = lookup(mod.handle, name);
    if (!f)
      missing.push_back(name);
    return f;
  };
  auto interfaceOf =
      reinterpret_cast<DeviceInterfaceFunction>(need_symbol("halide_cuda_device_interface"));
  auto setAcquire = reinterpret_cast<SetCudaAcquireContextFunction>(
      need_symbol("halide_set_cuda_acquire_context"));
  auto setRelease = reinterpret_cast<SetCudaReleaseContextFunction>(
      need_symbol("halide_set_cuda_release_context"));
  auto setStream =
      reinterpret_cast<SetCudaGetStreamFunction>(need_symbol("halide_set_cuda_get_stream"));
  auto deviceMalloc = reinterpret_cast<DeviceMallocFunction>(need_symbol("halide_device_malloc"));
  auto deviceFree = reinterpret_cast<DeviceFreeFunction>(need_symbol("halide_device_free"));
  if (!missing.empty())
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": a CUDA module must export its Halide CUDA "
                                           "runtime; symbol(s) not found: " +
                                joinNames(missing));
  mod.deviceRelease =
      reinterpret_cast<DeviceReleaseFunction>(lookup(mod.handle, "halide_device_release"));
  mod.cudaInterface = interfaceOf();
  if (!mod.cudaInterface)
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": halide_cuda_device_interface() returned null");

  // Every CUDA module of the process uses the device's primary context, and each run its
  // own stream (tCudaStream).
  gCudaContext.store(dev->context);
  setAcquire(&blockcCudaAcquireContext);
  setRelease(&blockcCudaReleaseContext);
  setStream(&blockcCudaGetStream);
  // Device allocations made inside kernels (intermediates on the GPU) are cached per
  // stream by the module's runtime instead of cuMemAlloc/cuMemFree on every call.
  if (auto reuse = reinterpret_cast<ReuseDeviceAllocationsFunction>(
          lookup(mod.handle, "halide_reuse_device_allocations")))
    reuse(nullptr, true);
  {
    std::lock_guard<std::mutex> lock(gCudaHandleMutex);
    ++gCudaHandleUsers[mod.handle];
    mod.countedCudaHandle = true;
  }

  // The probe: 64 floats through the module's own runtime (its libcuda, our context).
  halide_dimension_t dim(0, 64, 1, 0);
  halide_buffer_t probe = halide_buffer_t();
  probe.type = halide_type_t(halide_type_float, 32, 1);
  probe.dimensions = 1;
  probe.dim = &dim;
  std::string messages;
  const int rc = callHalide(
      [&] { return deviceMalloc(nullptr, &probe, mod.cudaInterface); }, messages);
  if (rc != 0)
    fail(BLOCKC_ERROR_INCOMPATIBLE,
         quoted(path) + ": the module's Halide CUDA runtime cannot allocate GPU memory on "
                        "device " + std::to_string(dev->ordinal) + " (" + dev->name +
             "): code " + std::to_string(rc) + ": " +
             (messages.empty() ? "(no message)" : messages));
  callHalide([&] { return deviceFree(nullptr, &probe); }, messages);
}

std::unique_ptr<blockc_module> loadModule(const std::string &given) {
  if (given.empty())
    fail(BLOCKC_ERROR_INVALID_ARGUMENT, "module path is empty");
  std::string path = given;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    path = (path.back() == '/' ? path : path + "/") + "module.so";
    if (::stat(path.c_str(), &st) != 0)
      fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    fail(BLOCKC_ERROR_LOAD, quoted(path) + " is not a regular file");

  {
    unsigned char header[20] = {0};
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
    ssize_t n = ::read(fd, header, sizeof header);
    ::close(fd);
    if (n < 4 || std::memcmp(header, "\x7f" "ELF", 4) != 0)
      fail(BLOCKC_ERROR_LOAD, quoted(path) + " is not a shared library (no ELF header)");
    // A module of another architecture (an arm-64 module here, or the reverse): say so
    // before dlopen, whose message for this is obscure. Little-endian ELF: e_machine at 18.
    const char *arch = n == sizeof header ? elfArch(header) : nullptr;
    if (arch && std::strcmp(arch, hostArch()) != 0)
      fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " was compiled for " + arch +
                                          " (its ELF machine), but this machine is " + hostArch());
  }

  // dlopen searches the library path for names without '/': give it a real path.
  char *resolved = ::realpath(path.c_str(), nullptr);
  std::string absolute = resolved ? resolved : path;
  std::free(resolved);

  auto mod = std::make_unique<blockc_module>();
  mod->path = path;
  dlerror();
  // RTLD_DEEPBIND: the module's calls go to its own Halide runtime even if the
  // process has another one (each module carries the runtime of its target).
  mod->handle = dlopen(absolute.c_str(), dlopenFlags());
  if (!mod->handle) {
    const char *e = dlerror();
    fail(BLOCKC_ERROR_LOAD, "cannot load " + quoted(path) + ": " + (e ? e : "dlopen failed"));
  }

  const void *abiSymbol = lookup(mod->handle, "blockc_abi_version");
  if (!abiSymbol)
    fail(BLOCKC_ERROR_LOAD, quoted(path) +
                                " is not a blockc module: symbol blockc_abi_version not found");
  const size_t abiSize = symbolSize(abiSymbol);
  if (abiSize != 0 && abiSize < sizeof(int))
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": symbol blockc_abi_version is not an int");
  int abi;
  std::memcpy(&abi, abiSymbol, sizeof(int));
  if (abi != BLOCKC_RUNTIME_ABI_VERSION)
    fail(BLOCKC_ERROR_INCOMPATIBLE,
         quoted(path) + " has module ABI version " + std::to_string(abi) +
             ", this runtime loads version " + std::to_string(BLOCKC_RUNTIME_ABI_VERSION) +
             " (recompile the module with a matching blockc)");

  const char *manifestSymbol = static_cast<const char *>(lookup(mod->handle, "blockc_manifest"));
  if (!manifestSymbol)
    fail(BLOCKC_ERROR_LOAD,
         quoted(path) + " is not a blockc module: symbol blockc_manifest not found");
  const size_t manifestSize = symbolSize(manifestSymbol);
  if (manifestSize != 0) {
    size_t length = strnlen(manifestSymbol, manifestSize);
    const bool pointerSized = manifestSize == sizeof(void *) && manifestSymbol[0] != '{';
    if (length == manifestSize || pointerSized)
      fail(BLOCKC_ERROR_LOAD, quoted(path) + ": blockc_manifest is not a NUL-terminated char "
                                             "array (declared as a pointer? the format needs "
                                             "'const char blockc_manifest[]')");
    mod->manifestJson.assign(manifestSymbol, length);
  } else {
    mod->manifestJson = manifestSymbol;
  }

  try {
    mod->manifest = parseManifest(mod->manifestJson);
  } catch (const RtError &e) {
    fail(e.status(), path + ": " + e.what());
  }
  const Manifest &m = mod->manifest;

  // Architecture: GPU targets other than CUDA with its "device" field, and other CPUs, are
  // refused before anything runs.
  static const char *const kGpuFeatures[] = {"cuda",   "opencl", "metal",        "vulkan",
                                             "webgpu", "d3d12compute", "hexagon_dma"};
  for (const char *gpu : kGpuFeatures) {
    std::string t = "-" + m.target + "-";
    const bool targets = m.arch == gpu ||
                         t.find(std::string("-") + gpu + "-") != std::string::npos ||
                         t.find(std::string("-") + gpu + "_") != std::string::npos;
    if (!targets || (m.device == "cuda" && std::strcmp(gpu, "cuda") == 0))
      continue;
    if (std::strcmp(gpu, "cuda") == 0)
      fail(BLOCKC_ERROR_INCOMPATIBLE,
           quoted(path) + " targets cuda (target '" + m.target +
               "') but its manifest has no \"device\": \"cuda\" (compiled by an older blockc? "
               "recompile it with --target cuda)");
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " targets " + gpu + " (target '" + m.target +
                                        "'); this runtime runs CPU and CUDA modules only");
  }
  if (m.device == "cuda" && ("-" + m.target + "-").find("-cuda-") == std::string::npos)
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + ": the manifest says \"device\": \"cuda\" "
                                                   "but target '" + m.target +
                                        "' has no cuda feature");
  if (m.arch != hostArch())
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " was compiled for " + m.arch + " (target '" +
                                        m.target + "'), but this machine is " + hostArch());
  std::vector<std::string> unknown, missing;
  for (const std::string &f : m.cpuFeatures) {
    bool known;
    if (!hostHasCpuFeature(f, known))
      (known ? missing : unknown).push_back(f);
  }
  if (!unknown.empty())
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + ": unknown CPU feature(s) in the manifest: " +
                                        joinNames(unknown) +
                                        " (this runtime knows: " + joinNames(knownCpuFeatures()) +
                                        ")");
  if (!missing.empty())
    fail(BLOCKC_ERROR_INCOMPATIBLE, quoted(path) + " (target '" + m.target +
                                        "') needs CPU features this machine lacks: " +
                                        joinNames(missing));

  std::vector<std::string> missingKernels;
  auto resolve = [&](const std::vector<KernelSpec> &kernels, std::vector<ArgvFunction> &out) {
    for (const KernelSpec &k : kernels) {
      void *f = lookup(mod->handle, k.function + "_argv");
      if (!f)
        missingKernels.push_back(k.function + "_argv (kernel '" + k.name + "')");
      out.push_back(reinterpret_cast<ArgvFunction>(f));
    }
  };
  resolve(m.prepare, mod->prepareFunctions);
  resolve(m.run, mod->runFunctions);
  for (const KernelSpec &k : m.run) {
    std::string ops;
    for (const std::string &op : k.ops)
      ops += (ops.empty() ? "" : " + ") + op;
    mod->runKernelOps.push_back(std::move(ops));
  }
  if (!missingKernels.empty())
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": kernel function(s) not found: " +
                                joinNames(missingKernels));

  auto setErrorHandler =
      reinterpret_cast<SetErrorHandlerFunction>(lookup(mod->handle, "halide_set_error_handler"));
  if (!setErrorHandler)
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": symbol halide_set_error_handler not found (a "
                                           "module must carry its Halide runtime)");
  setErrorHandler(&blockcRuntimeHalideErrorHandler);
  mod->setNumThreads =
      reinterpret_cast<SetNumThreadsFunction>(lookup(mod->handle, "halide_set_num_threads"));
  if (m.device == "cuda")
    setUpCuda(*mod);
  return mod;
}

void runOnDevice(blockc_module &mod, const char *phase, const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Binding &binding,
                 int64_t batch, const float *hostInput, float *hostOutput, uintptr_t deviceInput,
                 uintptr_t deviceOutput, double *kernelSeconds = nullptr);

void bindWeights(blockc_module &mod, const std::string &weightsPath) {
  std::unique_lock<std::shared_mutex> lock(mod.bindMutex);
  const Manifest &m = mod.manifest;
  auto binding = std::make_unique<Binding>();
  binding->file = SafetensorsFile::open(weightsPath);
  const auto &tensors = binding->file->tensors();

  std::vector<std::string> problems;
  binding->weights.assign(m.weights.size(), 0);
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const WeightSpec &w = m.weights[i];
    auto it = tensors.find(w.name);
    if (it == tensors.end()) {
      problems.push_back("missing tensor '" + w.name + "' (" + w.dtype + " " +
                         shapeToString(w.shape) + ")");
      continue;
    }
    const TensorEntry &t = it->second;
    bool ok = true;
    if (t.dtype != w.dtype) {
      problems.push_back("tensor '" + w.name + "' has dtype " + t.dtype + ", expected " + w.dtype);
      ok = false;
    }
    if (t.shape != w.shape) {
      problems.push_back("tensor '" + w.name + "' has shape " + shapeToString(t.shape) +
                         ", expected " + shapeToString(w.shape));
      ok = false;
    }
    if (!ok || !w.used || w.dtype != "F32")
      continue;
    if (mod.cuda) { // uploaded below, once the file has been checked
      binding->weights[i] = reinterpret_cast<uintptr_t>(t.data);
      continue;
    }
    const float *data = reinterpret_cast<const float *>(t.data);
    if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0) {
      AlignedFloats copy = allocateFloats(static_cast<size_t>(w.elements));
      std::memcpy(copy.get(), t.data, t.byteSize());
      data = copy.get();
      binding->copies.push_back(std::move(copy));
    }
    binding->weights[i] = reinterpret_cast<uintptr_t>(data);
  }
  for (const auto &kv : tensors) {
    bool listed = std::any_of(m.weights.begin(), m.weights.end(),
                              [&](const WeightSpec &w) { return w.name == kv.first; });
    if (!listed)
      problems.push_back("unexpected tensor '" + kv.first + "' (not a weight of block '" +
                         m.block + "')");
  }
  if (!problems.empty()) {
    std::string msg = weightsPath + ": does not match module " + quoted(mod.path) + " (" +
                      std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem): " : " problems): ");
    for (size_t i = 0; i < problems.size(); ++i)
      msg += (i ? "; " : "") + problems[i];
    fail(BLOCKC_ERROR_WEIGHTS, msg);
  }

  if (!mod.cuda) {
    for (const ConstantSpec &c : m.constants) {
      binding->constantData.push_back(allocateFloats(static_cast<size_t>(c.elements)));
      std::memset(binding->constantData.back().get(), 0,
                  static_cast<size_t>(c.elements) * sizeof(float));
      binding->constants.push_back(reinterpret_cast<uintptr_t>(binding->constantData.back().get()));
    }
    if (!m.prepare.empty()) {
      Storage storage;
      storage.weights = &binding->weights;
      storage.constants = &binding->constants;
      std::vector<size_t> offsets;
      size_t arenaFloats = slotOffsets(m, 1, offsets);
      AlignedFloats arena = allocateFloats(arenaFloats);
      for (size_t o : offsets)
        storage.slots.push_back(reinterpret_cast<uintptr_t>(arena.get() + o));
      callKernels(mod, "prepare", m.prepare, mod.prepareFunctions, storage, 1);
    }
  } else {
    // One device allocation holds every used weight (copied from the mapped file) and every
    // constant (zeroed, then written by the prepare kernels on the GPU), each 256-byte aligned.
    std::vector<size_t> weightAt(m.weights.size(), 0), constantAt(m.constants.size(), 0);
    size_t floats = 0;
    for (size_t i = 0; i < m.weights.size(); ++i)
      if (binding->weights[i]) {
        weightAt[i] = floats;
        floats += roundUpDeviceFloats(static_cast<size_t>(m.weights[i].elements));
      }
    for (size_t i = 0; i < m.constants.size(); ++i) {
      constantAt[i] = floats;
      floats += roundUpDeviceFloats(static_cast<size_t>(m.constants[i].elements));
    }
    binding->deviceData = cuda::DeviceMemory(floats * sizeof(float));
    const cuda::Api &api = cuda::device().api;
    const uintptr_t base = static_cast<uintptr_t>(binding->deviceData.get());
    {
      cuda::ScopedContext scope;
      for (size_t i = 0; i < m.weights.size(); ++i) {
        if (!binding->weights[i])
          continue;
        const uintptr_t at = base + weightAt[i] * sizeof(float);
        cuda::check(api.cuMemcpyHtoD(at, reinterpret_cast<const void *>(binding->weights[i]),
                                     static_cast<size_t>(m.weights[i].elements) * sizeof(float)),
                    mod.path + ": uploading weight '" + m.weights[i].name + "' to the GPU",
                    BLOCKC_ERROR_WEIGHTS);
        binding->weights[i] = at;
      }
      if (!m.constants.empty())
        cuda::check(api.cuMemsetD8(base + constantAt[0] * sizeof(float), 0,
                                   (floats - constantAt[0]) * sizeof(float)),
                    mod.path + ": zeroing the constants on the GPU", BLOCKC_ERROR_WEIGHTS);
    }
    for (size_t i = 0; i < m.constants.size(); ++i)
      binding->constants.push_back(base + constantAt[i] * sizeof(float));
    if (!m.prepare.empty())
      runOnDevice(mod, "prepare", m.prepare, mod.prepareFunctions, *binding, 1, nullptr, nullptr,
                  0, 0);
    binding->file.reset(); // everything the kernels read is on the GPU now
  }
  mod.binding = std::move(binding);
  mod.bound = true;
}

/// Checks run arguments common to blockc_module_run and blockc_module_run_device.
void checkRunArguments(const blockc_module &mod, const char *what, const void *input,
                       int64_t batch, const void *output) {
  const Manifest &m = mod.manifest;
  if (!input || !output)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT, std::string(what) + ": input and output must not be null");
  if (batch < 1)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         std::string(what) + ": batch must be >= 1, got " + std::to_string(batch));
  if (batch > std::numeric_limits<int32_t>::max() / m.maxBatchMultiple)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         std::string(what) + ": batch " + std::to_string(batch) +
             " is too large (a kernel extent of " + std::to_string(m.maxBatchMultiple) +
             " * B must fit in int32)");
  const uint64_t inBytes = static_cast<uint64_t>(m.tokens * m.dim) * batch * sizeof(float);
  const uint64_t outBytes = static_cast<uint64_t>(m.outputTokens * m.outputDim) * batch * sizeof(float);
  const uintptr_t in = reinterpret_cast<uintptr_t>(input), out = reinterpret_cast<uintptr_t>(output);
  if (in < out + outBytes && out < in + inBytes)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT, std::string(what) + ": input and output buffers overlap");
}

/// Runs `kernels` of a CUDA module on an arena's device memory and stream: with host
/// input/output (copied through the arena), or device input/output (used in place), or
/// neither (prepare). Returns when the stream has finished.
void runOnDevice(blockc_module &mod, const char *phase, const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Binding &binding,
                 int64_t batch, const float *hostInput, float *hostOutput, uintptr_t deviceInput,
                 uintptr_t deviceOutput, double *kernelSeconds) {
  const Manifest &m = mod.manifest;
  const bool hostIO = hostInput != nullptr;
  const size_t inFloats = static_cast<size_t>(m.tokens * m.dim) * static_cast<size_t>(batch);
  const size_t outFloats =
      static_cast<size_t>(m.outputTokens * m.outputDim) * static_cast<size_t>(batch);
  std::vector<size_t> offsets;
  const size_t slotFloats = slotOffsets(m, batch, offsets, /*device=*/true);
  const size_t arenaFloats =
      slotFloats + (hostIO ? roundUpDeviceFloats(inFloats) + roundUpDeviceFloats(outFloats) : 0);
  ArenaLease lease(mod, arenaFloats);
  Arena &arena = lease.arena;

  const cuda::Api &api = cuda::device().api;
  cuda::ScopedContext scope;
  cuda::CUstream stream = arena.stream.get();
  StreamScope streamScope(stream);
  const uintptr_t base = static_cast<uintptr_t>(arena.device.get());
  Storage storage;
  storage.device = mod.cudaInterface;
  storage.stream = stream;
  storage.weights = &binding.weights;
  storage.constants = &binding.constants;
  for (size_t o : offsets)
    storage.slots.push_back(base + o * sizeof(float));
  if (hostIO) {
    storage.input = base + slotFloats * sizeof(float);
    storage.output = storage.input + roundUpDeviceFloats(inFloats) * sizeof(float);
    cuda::check(api.cuMemcpyHtoDAsync(storage.input, hostInput, inFloats * sizeof(float), stream),
                mod.path + ": copying the input to the GPU", BLOCKC_ERROR_KERNEL);
  } else {
    storage.input = deviceInput;
    storage.output = deviceOutput;
  }
  callKernels(mod, phase, kernels, functions, storage, batch, kernelSeconds);
  if (hostIO && hostOutput)
    cuda::check(
        api.cuMemcpyDtoHAsync(hostOutput, storage.output, outFloats * sizeof(float), stream),
        mod.path + ": copying the output from the GPU", BLOCKC_ERROR_KERNEL);
  // Kernels run asynchronously: their own failures (an illegal address...) surface here.
  cuda::check(api.cuStreamSynchronize(stream),
              mod.path + ": " + phase + " kernels on the GPU failed", BLOCKC_ERROR_KERNEL);
}

/// blockc_module_run; with `kernelSeconds` (one entry per run kernel), also times each kernel.
void runModule(blockc_module &mod, const float *input, int64_t batch, float *output,
               double *kernelSeconds = nullptr) {
  const Manifest &m = mod.manifest;
  checkRunArguments(mod, "run", input, batch, output);
  std::shared_lock<std::shared_mutex> lock(mod.bindMutex);
  if (!mod.binding)
    fail(BLOCKC_ERROR_NOT_BOUND,
         mod.path + ": run called before weights were bound (blockc_module_bind_weights)");
  if (mod.cuda) {
    runOnDevice(mod, "run", m.run, mod.runFunctions, *mod.binding, batch, input, output, 0, 0,
                kernelSeconds);
    return;
  }
  std::vector<size_t> offsets;
  const size_t arenaFloats = slotOffsets(m, batch, offsets);
  ArenaLease lease(mod, arenaFloats);
  Arena &arena = lease.arena;
  Storage storage;
  storage.input = reinterpret_cast<uintptr_t>(input);
  storage.output = reinterpret_cast<uintptr_t>(output);
  storage.weights = &mod.binding->weights;
  storage.constants = &mod.binding->constants;
  for (size_t o : offsets)
    storage.slots.push_back(reinterpret_cast<uintptr_t>(arena.data.get() + o));
  callKernels(mod, "run", m.run, mod.runFunctions, storage, batch, kernelSeconds);
}

void runModuleOnDevice(blockc_module &mod, const void *input, int64_t batch, void *output) {
  const Manifest &m = mod.manifest;
  if (!mod.cuda)
    fail(BLOCKC_ERROR_INCOMPATIBLE,
         mod.path + ": run_device: this is a CPU module (target '" + m.target +
             "'); use blockc_module_run with host memory");
  checkRunArguments(mod, "run_device", input, batch, output);
  cuda::checkDevicePointer(input, "run_device: the input");
  cuda::checkDevicePointer(output, "run_device: the output");
  std::shared_lock<std::shared_mutex> lock(mod.bindMutex);
  if (!mod.binding)
    fail(BLOCKC_ERROR_NOT_BOUND,
         mod.path + ": run called before weights were bound (blockc_module_bind_weights)");
  runOnDevice(mod, "run", m.run, mod.runFunctions, *mod.binding, batch, nullptr, nullptr,
              reinterpret_cast<uintptr_t>(input), reinterpret_cast<uintptr_t>(output));
}

template <class F> blockc_status guarded(blockc_status fallback, F &&body) {
  tLastError.clear();
  try {
    body();
    return BLOCKC_OK;
  } catch (const RtError &e) {
    tLastError = e.what();
    return e.status();
  } catch (const std::bad_alloc &) {
    tLastError = "out of memory";
    return BLOCKC_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    tLastError = e.what();
    return fallback;
  } catch (...) {
    tLastError = "unknown error";
    return fallback;
  }
}

blockc_status nullModule(const char *function) {
  tLastError = std::string(function) + ": module is null";
  return BLOCKC_ERROR_INVALID_ARGUMENT;
}

} // namespace

extern "C" {

const char *blockc_last_error(void) { return tLastError.c_str(); }

const char *blockc_status_name(blockc_status status) {
  switch (status) {
  case BLOCKC_OK:
    return "BLOCKC_OK";
  case BLOCKC_ERROR_INVALID_ARGUMENT:
    return "BLOCKC_ERROR_INVALID_ARGUMENT";
  case BLOCKC_ERROR_LOAD:
    return "BLOCKC_ERROR_LOAD";
  case BLOCKC_ERROR_INCOMPATIBLE:
    return "BLOCKC_ERROR_INCOMPATIBLE";
  case BLOCKC_ERROR_WEIGHTS:
    return "BLOCKC_ERROR_WEIGHTS";
  case BLOCKC_ERROR_NOT_BOUND:
    return "BLOCKC_ERROR_NOT_BOUND";
  case BLOCKC_ERROR_KERNEL:
    return "BLOCKC_ERROR_KERNEL";
  case BLOCKC_ERROR_OUT_OF_MEMORY:
    return "BLOCKC_ERROR_OUT_OF_MEMORY";
  }
  return "BLOCKC_ERROR_UNKNOWN";
}

blockc_status blockc_module_load(const char *path, blockc_module **out) {
  if (!out) {
    tLastError = "blockc_module_load: out is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  *out = nullptr;
  if (!path) {
    tLastError = "blockc_module_load: path is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  return guarded(BLOCKC_ERROR_LOAD, [&] { *out = loadModule(path).release(); });
}

void blockc_module_free(blockc_module *module) { delete module; }

blockc_status blockc_module_bind_weights(blockc_module *module, const char *safetensors_path) {
  if (!module)
    return nullModule("blockc_module_bind_weights");
  if (!safetensors_path) {
    tLastError = "blockc_module_bind_weights: path is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  return guarded(BLOCKC_ERROR_WEIGHTS, [&] { bindWeights(*module, safetensors_path); });
}

blockc_status blockc_module_run(blockc_module *module, const float *input, int64_t batch,
                                float *output) {
  if (!module)
    return nullModule("blockc_module_run");
  return guarded(BLOCKC_ERROR_KERNEL, [&] { runModule(*module, input, batch, output); });
}

blockc_status blockc_module_run_device(blockc_module *module, const void *device_input,
                                       int64_t batch, void *device_output) {
  if (!module)
    return nullModule("blockc_module_run_device");
  return guarded(BLOCKC_ERROR_KERNEL,
                 [&] { runModuleOnDevice(*module, device_input, batch, device_output); });
}

blockc_status blockc_module_set_num_threads(blockc_module *module, int threads, int *previous) {
  if (!module)
    return nullModule("blockc_module_set_num_threads");
  return guarded(BLOCKC_ERROR_INVALID_ARGUMENT, [&] {
    if (threads < 0)
      fail(BLOCKC_ERROR_INVALID_ARGUMENT,
           "blockc_module_set_num_threads: threads must be >= 0, got " + std::to_string(threads));
    if (!module->setNumThreads)
      fail(BLOCKC_ERROR_INCOMPATIBLE,
           module->path + ": symbol halide_set_num_threads not found in the module");
    int old = module->setNumThreads(threads);
    if (previous)
      *previous = old;
  });
}

blockc_status blockc_module_run_profiled(blockc_module *module, const float *input, int64_t batch,
                                         float *output, double *kernel_seconds, int32_t count) {
  if (!module)
    return nullModule("blockc_module_run_profiled");
  return guarded(BLOCKC_ERROR_KERNEL, [&] {
    const size_t kernels = module->manifest.run.size();
    if (!kernel_seconds || count < 0 || static_cast<size_t>(count) != kernels)
      fail(BLOCKC_ERROR_INVALID_ARGUMENT,
           "blockc_module_run_profiled: kernel_seconds must hold one entry per run kernel (" +
               std::to_string(kernels) + "), got " +
               (kernel_seconds ? "count " + std::to_string(count) : std::string("null")));
    runModule(*module, input, batch, output, kernel_seconds);
  });
}

blockc_status blockc_module_num_kernels(const blockc_module *module, int32_t *count) {
  if (!module)
    return nullModule("blockc_module_num_kernels");
  if (!count) {
    tLastError = "blockc_module_num_kernels: count is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  tLastError.clear();
  *count = static_cast<int32_t>(module->manifest.run.size());
  return BLOCKC_OK;
}

blockc_status blockc_module_get_kernel_info(const blockc_module *module, int32_t index,
                                            blockc_kernel_info *info) {
  if (!module)
    return nullModule("blockc_module_get_kernel_info");
  const std::vector<KernelSpec> &run = module->manifest.run;
  if (!info || index < 0 || static_cast<size_t>(index) >= run.size()) {
    tLastError = "blockc_module_get_kernel_info: " +
                 (info ? "index " + std::to_string(index) + " is not in [0, " +
                             std::to_string(run.size()) + ")"
                       : std::string("info is null"));
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  tLastError.clear();
  const KernelSpec &k = run[static_cast<size_t>(index)];
  info->name = k.name.c_str();
  info->kind = k.kind.c_str();
  info->ops = module->runKernelOps[static_cast<size_t>(index)].c_str();
  info->flops_per_sample = k.flopsPerSample;
  return BLOCKC_OK;
}

blockc_status blockc_module_get_info(const blockc_module *module, blockc_module_info *info) {
  if (!module)
    return nullModule("blockc_module_get_info");
  if (!info) {
    tLastError = "blockc_module_get_info: info is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  tLastError.clear();
  const Manifest &m = module->manifest;
  info->path = module->path.c_str();
  info->block = m.block.c_str();
  info->target = m.target.c_str();
  info->arch = m.arch.c_str();
  info->spec_hash = m.specHash.c_str();
  info->manifest_json = module->manifestJson.c_str();
  info->tokens = m.tokens;
  info->dim = m.dim;
  info->output_tokens = m.outputTokens;
  info->output_dim = m.outputDim;
  info->flops_per_sample = m.flopsPerSample;
  info->num_weights = static_cast<int32_t>(m.weights.size());
  info->weights_bound = module->bound.load() ? 1 : 0;
  info->device = m.device.c_str();
  return BLOCKC_OK;
}

} // extern "C"
