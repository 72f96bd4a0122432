//===- Module.h - a loaded module, its weights and its arenas ---*- C++ -*-===//
//
// The state behind the C API's blockc_module (blockc/runtime.h) and the functions the C
// API calls: loading (Load.cpp, CudaModule.cpp), binding weights (Bind.cpp), the caller's
// tensors of a run (RunTensors.cpp) and runs (Run.cpp). See docs/module-format.md.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_MODULE_H
#define BLOCKC_RUNTIME_MODULE_H

#include "blockc/runtime.h"

#include "blockc/KernelCall/Cuda.h"
#include "blockc/KernelCall/HalideCuda.h"
#include "blockc/KernelCall/KernelLibrary.h"
#include "blockc/ModuleFormat/Manifest.h"
#include "blockc/ModuleFormat/Safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace blockc {
namespace rt {

constexpr size_t kAlignment = 64;          // bytes, for arena slots and constants
constexpr size_t kAlignFloats = kAlignment / sizeof(float);
constexpr size_t kDeviceAlignFloats = 256 / sizeof(float); // GPU buffers: 256-byte aligned

struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float, FreeDeleter>;

/// `count` floats (at least one), 64-byte aligned; throws std::bad_alloc.
AlignedFloats allocateFloats(size_t count);
/// The floats that hold a constant's elements (two bf16 elements per float).
inline size_t constantFloats(const ConstantSpec &c) {
  return (static_cast<size_t>(c.elements) * elementBytes(c.dtype) + sizeof(float) - 1) /
         sizeof(float);
}

inline size_t roundUpFloats(size_t n) {
  return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}

inline size_t roundUpDeviceFloats(size_t n) {
  return (n + kDeviceAlignFloats - 1) / kDeviceAlignFloats * kDeviceAlignFloats;
}

/// Per-call scratch memory: host memory for a CPU module; for a CUDA module, device memory
/// (the slots, then a copy of each host input and output) and the run's stream.
struct Arena {
  AlignedFloats data;
  cuda::DeviceMemory device;
  cuda::Stream stream;
  size_t capacity = 0; // floats
};

/// Weights and constants of one successful bind: read-only once built. Addresses are host
/// pointers for a CPU module, device pointers (CUdeviceptr) for a CUDA module.
struct Binding {
  /// What the weights point into: the weight file read into memory, or the caller's tensors
  /// (blockc_module_bind_tensors: their release is called when this goes).
  std::shared_ptr<const void> source;
  std::vector<uintptr_t> weights;     // by manifest weight index; 0 if unused
  std::vector<bool> present;          // by manifest weight index: in the file (an unused
                                      // one, BatchNorm's num_batches_tracked, may be absent)
  std::vector<int32_t> ignoredPresent; // by manifest ignored prefix: the file's tensors under it
  std::vector<uintptr_t> constants;   // by manifest constant index
  std::vector<AlignedFloats> copies;  // CPU: misaligned weights, copied
  std::vector<AlignedFloats> constantData; // CPU
  cuda::DeviceMemory deviceData;           // CUDA: every used weight and every constant
};

} // namespace rt
} // namespace blockc

struct blockc_module {
  std::string path;         // as given (DIR/module.so for a directory)
  std::string manifestJson; // as embedded
  blockc::rt::Manifest manifest;
  void *handle = nullptr;
  std::vector<blockc::rt::ArgvFunction> prepareFunctions, runFunctions;
  std::vector<std::string> runKernelOps; // each run kernel's ops joined, for get_kernel_info
  int (*setNumThreads)(int) = nullptr;
  void (*shutdownThreadPool)() = nullptr; // a pool's threads, once started, outlive a new count

  // CUDA modules (manifest "device": "cuda").
  bool cuda = false;
  const halide_device_interface_t *cudaInterface = nullptr;
  void (*deviceRelease)(void *, const halide_device_interface_t *) = nullptr;
  bool countedCudaHandle = false; // in the CUDA handle users (CudaModule.cpp)

  // A run takes the current binding and keeps it alive until it returns; a bind builds a
  // new one beside it and then publishes it, so a bind never waits for runs nor runs for a
  // bind (except the instant of the swap), and no stream of runs can starve a bind.
  std::mutex bindMutex; // one bind at a time
  std::shared_ptr<const blockc::rt::Binding> currentBinding() const {
    std::lock_guard<std::mutex> lock(bindingMutex);
    return binding;
  }
  void publishBinding(std::shared_ptr<const blockc::rt::Binding> b) {
    {
      std::lock_guard<std::mutex> lock(bindingMutex);
      binding.swap(b);
    }
    // `b` now holds the old binding: freed here, outside the lock, unless a run still holds
    // it, so runs taking the new one never wait for the old one's memory to be released.
  }

  std::mutex poolMutex;
  std::vector<blockc::rt::Arena> pool;

  ~blockc_module();

private:
  mutable std::mutex bindingMutex;
  std::shared_ptr<const blockc::rt::Binding> binding;

public:

  /// An arena of at least `floats` floats: the smallest pooled one that is big enough,
  /// else the largest pooled one (its stream kept) or a new one, (re)allocated.
  blockc::rt::Arena acquireArena(size_t floats);
  void releaseArena(blockc::rt::Arena a);
};

namespace blockc {
namespace rt {

/// blockc_module_load: checks the file, its architecture, ABI version, manifest and target,
/// and resolves the kernels. Throws RtError.
std::unique_ptr<blockc_module> loadModule(const std::string &given);

/// The CUDA part of loading a module whose manifest says "device": "cuda" (CudaModule.cpp).
void setUpCuda(blockc_module &mod);

/// Releases a CUDA module's device state, if it is the last user of its library handle.
void tearDownCuda(blockc_module &mod);

/// blockc_module_bind_weights.
void bindWeights(blockc_module &mod, const std::string &weightsPath);

/// blockc_module_bind_tensors: calls release(releaseContext) once, when the tensors are no
/// longer used (at once if the bind fails).
void bindCallerTensors(blockc_module &mod, const blockc_named_tensor *tensors, size_t count,
                       void (*release)(void *), void *releaseContext);

/// Arena layout for a run of `run`'s sizes: each slot 64-byte aligned (256 on a GPU).
/// Returns the total in floats; `offsets` receives each slot's offset.
size_t slotOffsets(const Manifest &m, RunShape run, std::vector<size_t> &offsets,
                   bool device = false);

/// The caller's tensors of one run, checked against the manifest: where element 0 of each
/// input and output is, in manifest order.
struct RunTensors {
  RunShape shape; ///< B, and S (the tensors' sequence length) for a module with run-time tokens
  std::vector<uintptr_t> inputs, outputs;
  /// Per tensor: host memory, or (false) a CUDA module's device memory. A CUDA module copies
  /// host tensors through its arena.
  std::vector<bool> inputOnHost, outputOnHost;
  /// The zeros of optional inputs the caller omitted (`inputs` points into them).
  std::vector<std::vector<uint64_t>> zeros;
};

/// The strides of a compact row-major array of `shape`, in elements.
std::vector<int64_t> compactStrides(const std::vector<int64_t> &shape);

/// Whether `t` (shape and ndim valid) is laid out as a compact row-major array: strides
/// NULL or compactStrides, any stride for a dimension of extent 1.
bool hasCompactStrides(const DLTensor &t);

/// blockc_module_run_named: checks each named tensor against the module's inputs and
/// outputs (runtime.h lists what). `what` starts each message. Throws
/// RtError(BLOCKC_ERROR_INVALID_ARGUMENT) naming the tensor.
RunTensors checkNamedTensors(const blockc_module &mod, const char *what,
                             const blockc_named_tensor *inputs, size_t numInputs,
                             const blockc_named_tensor *outputs, size_t numOutputs);

/// blockc_module_run, _run_device and _run_profiled: C-contiguous `input` and `output` of
/// `device` memory as the module's one input and one output (an error naming its inputs
/// and outputs if it has more), checked as checkNamedTensors does.
RunTensors checkSingleTensors(const blockc_module &mod, const char *what, const void *input,
                              int64_t batch, const void *output, DLDeviceType device);

/// Where each argument source's element 0 is, for one kernel sequence.
struct Storage {
  /// Null: host pointers. Else the module's CUDA interface, and addresses are device
  /// pointers: each view is a halide_buffer_t with only `device` set, as
  /// halide_device_crop makes for CUDA.
  const halide_device_interface_t *device = nullptr;
  std::vector<uintptr_t> inputs, outputs;
  const std::vector<uintptr_t> *weights = nullptr, *constants = nullptr;
  std::vector<uintptr_t> slots;
  /// A CUDA module's run stream: a profiled run waits for it after each kernel.
  cuda::CUstream stream = nullptr;
};

/// Calls `kernels` in order on the views of `storage`; with `kernelSeconds`, writes each
/// kernel's wall time there (on a GPU, up to the end of its work on the stream).
void callKernels(const blockc_module &mod, const char *phase,
                 const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Storage &storage,
                 RunShape run, double *kernelSeconds = nullptr);

/// Runs `kernels` of a CUDA module on an arena's device memory and stream, with the
/// caller's `tensors` (host ones copied through the arena, device ones used in place) or
/// none (prepare, batch 1). Returns when the stream has finished.
void runOnDevice(blockc_module &mod, const char *phase, const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Binding &binding,
                 const RunTensors *tensors, double *kernelSeconds = nullptr);

/// Every run: the run kernels on checked `tensors`; with `kernelSeconds` (one entry per run
/// kernel), also times each kernel.
void runModule(blockc_module &mod, const RunTensors &tensors, double *kernelSeconds = nullptr);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_MODULE_H
