//===- Run.cpp - running a module's kernels -------------------------------===//
//
// Every run (on tensors checked by RunTensors.cpp) and the prepare kernels of a bind: each
// kernel called on views (ViewBuffer.h) of the inputs, the outputs, the weights, the
// constants and an arena's slots, with its Halide errors captured (HalideErrors.h); a CUDA
// module's kernels on an arena's device memory and stream.
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

/// The bytes of a caller's tensor in a run of `run`'s sizes.
size_t bytesOf(const TensorSpec &t, RunShape run) {
  return static_cast<size_t>(t.elements(run)) * t.elementBytes();
}

} // namespace

size_t slotOffsets(const Manifest &m, RunShape run, std::vector<size_t> &offsets, bool device) {
  // Slot sizes come from the manifest and B and S from the caller: a total beyond what
  // memory could hold is an error, never a product that wraps to a small arena.
  constexpr size_t kMaxFloats = std::numeric_limits<size_t>::max() / sizeof(float) / 2;
  offsets.clear();
  size_t total = 0;
  for (const SlotSpec &s : m.slots) {
    offsets.push_back(total);
    size_t perToken, perSample, n;
    if (__builtin_mul_overflow(static_cast<size_t>(s.elementsPerToken),
                               static_cast<size_t>(run.tokens), &perToken) ||
        __builtin_add_overflow(perToken, static_cast<size_t>(s.elementsPerSample), &perSample) ||
        __builtin_mul_overflow(perSample, static_cast<size_t>(run.batch), &n) ||
        n > kMaxFloats - total)
      fail(BLOCKC_ERROR_OUT_OF_MEMORY,
           "the activations of batch " + std::to_string(run.batch) +
               (m.maxTokens ? " at " + std::to_string(run.tokens) + " tokens" : "") +
               " do not fit in memory (slot " + std::to_string(s.id) + ": " +
               std::to_string(s.elementsPerSample) + " floats per sample" +
               (s.elementsPerToken ? " and " + std::to_string(s.elementsPerToken) + " per token"
                                   : "") +
               ")");
    total += device ? roundUpDeviceFloats(n) : roundUpFloats(n);
  }
  return total;
}

void callKernels(const blockc_module &mod, const char *phase,
                 const std::vector<KernelSpec> &kernels,
                 const std::vector<ArgvFunction> &functions, const Storage &storage,
                 RunShape run, double *kernelSeconds) {
  // A kernel's `tokens` argument points at S as int32 (Halide's scalar Param<int>).
  int32_t tokens = static_cast<int32_t>(run.tokens);
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
      if (a.source == ArgSource::Tokens) {
        argv[i] = &tokens;
        continue;
      }
      uintptr_t base = 0;
      switch (a.source) {
      case ArgSource::Tokens:
        break;
      case ArgSource::Input:
        base = storage.inputs[a.index];
        break;
      case ArgSource::Output:
        base = storage.outputs[a.index];
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
      // Integer inputs (token ids, masks) are seen as their own type, bf16 constants as
      // bfloat16, all else as float32.
      ElementType type = ElementType::F32;
      if (a.source == ArgSource::Input)
        type = mod.manifest.inputs[a.index].dtype;
      else if (a.source == ArgSource::Constant)
        type = mod.manifest.constants[a.index].dtype;
      const size_t bytes = elementBytes(type);
      const uintptr_t address = base + static_cast<uintptr_t>(a.offset) * bytes;
      halide_buffer_t &b = buffers[i];
      b = viewBuffer(a, run, dims.data() + dimAt, type);
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
                 const RunTensors *tensors, double *kernelSeconds) {
  const Manifest &m = mod.manifest;
  const RunShape run = tensors ? tensors->shape : RunShape();
  std::vector<size_t> offsets;
  size_t arenaFloats = slotOffsets(m, run, offsets, /*device=*/true);
  // Each host tensor gets arena space after the slots (an offset in floats; SIZE_MAX for a
  // device tensor, used in place).
  auto place = [&](const std::vector<TensorSpec> &specs, const std::vector<bool> &onHost) {
    std::vector<size_t> at;
    for (size_t k = 0; k < specs.size(); ++k) {
      at.push_back(onHost[k] ? arenaFloats : SIZE_MAX);
      if (onHost[k])
        arenaFloats += roundUpDeviceFloats((bytesOf(specs[k], run) + sizeof(float) - 1) / sizeof(float));
    }
    return at;
  };
  const std::vector<size_t> inputAt = tensors ? place(m.inputs, tensors->inputOnHost)
                                              : std::vector<size_t>();
  const std::vector<size_t> outputAt = tensors ? place(m.outputs, tensors->outputOnHost)
                                               : std::vector<size_t>();
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
  if (tensors) {
    storage.inputs = tensors->inputs;
    storage.outputs = tensors->outputs;
  }
  for (size_t k = 0; k < inputAt.size(); ++k) {
    if (inputAt[k] == SIZE_MAX)
      continue;
    storage.inputs[k] = base + inputAt[k] * sizeof(float);
    cuda::check(api.cuMemcpyHtoDAsync(storage.inputs[k],
                                      reinterpret_cast<const void *>(tensors->inputs[k]),
                                      bytesOf(m.inputs[k], run), stream),
                mod.path + ": copying input '" + m.inputs[k].name + "' to the GPU",
                BLOCKC_ERROR_KERNEL);
  }
  for (size_t k = 0; k < outputAt.size(); ++k)
    if (outputAt[k] != SIZE_MAX)
      storage.outputs[k] = base + outputAt[k] * sizeof(float);
  callKernels(mod, phase, kernels, functions, storage, run, kernelSeconds);
  for (size_t k = 0; k < outputAt.size(); ++k)
    if (outputAt[k] != SIZE_MAX)
      cuda::check(api.cuMemcpyDtoHAsync(reinterpret_cast<void *>(tensors->outputs[k]),
                                        storage.outputs[k],
                                        bytesOf(m.outputs[k], run), stream),
                  mod.path + ": copying output '" + m.outputs[k].name + "' from the GPU",
                  BLOCKC_ERROR_KERNEL);
  // Kernels run asynchronously: their own failures (an illegal address...) surface here.
  cuda::check(api.cuStreamSynchronize(stream),
              mod.path + ": " + phase + " kernels on the GPU failed", BLOCKC_ERROR_KERNEL);
}

void runModule(blockc_module &mod, const RunTensors &tensors, double *kernelSeconds) {
  const Manifest &m = mod.manifest;
  const std::shared_ptr<const Binding> binding = mod.currentBinding();
  if (!binding)
    fail(BLOCKC_ERROR_NOT_BOUND,
         mod.path + ": run called before weights were bound (blockc_module_bind_weights)");
  if (mod.cuda) {
    runOnDevice(mod, "run", m.run, mod.runFunctions, *binding, &tensors, kernelSeconds);
    return;
  }
  std::vector<size_t> offsets;
  const size_t arenaFloats = slotOffsets(m, tensors.shape, offsets);
  ArenaLease lease(mod, arenaFloats);
  Arena &arena = lease.arena;
  Storage storage;
  storage.inputs = tensors.inputs;
  storage.outputs = tensors.outputs;
  storage.weights = &binding->weights;
  storage.constants = &binding->constants;
  for (size_t o : offsets)
    storage.slots.push_back(reinterpret_cast<uintptr_t>(arena.data.get() + o));
  callKernels(mod, "run", m.run, mod.runFunctions, storage, tensors.shape, kernelSeconds);
}

} // namespace rt
} // namespace blockc
