//===- Run.cpp - running a module's kernels -------------------------------===//
//
// blockc_module_run (host memory), blockc_module_run_device (CUDA device memory) and the
// prepare kernels of a bind: each kernel called on views (ViewBuffer.h) of the input, the
// output, the weights, the constants and an arena's slots, with its Halide errors captured
// (HalideErrors.h); a CUDA module's kernels on an arena's device memory and stream.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/KernelCall/HalideErrors.h"
#include "blockc/KernelCall/ViewBuffer.h"
#include "blockc/ModuleFormat/Error.h"

#include <chrono>
#include <limits>

namespace blockc {
namespace rt {
namespace {

/// An arena taken from the module's pool for one run, given back when the run ends.
struct ArenaLease {
  ArenaLease(blockc_module &mod, size_t floats) : mod(mod), arena(mod.acquireArena(floats)) {}
  ~ArenaLease() { mod.releaseArena(std::move(arena)); }
  blockc_module &mod;
  Arena arena;
};

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

} // namespace

size_t slotOffsets(const Manifest &m, int64_t batch, std::vector<size_t> &offsets,
                   bool device) {
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

void callKernels(const blockc_module &mod, const char *phase,
                 const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Storage &storage,
                 int64_t batch, double *kernelSeconds) {
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
  cuda::StreamScope streamScope(stream);
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

void runModule(blockc_module &mod, const float *input, int64_t batch, float *output,
               double *kernelSeconds) {
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

} // namespace rt
} // namespace blockc
