//===- CApi.cpp - the C API of blockc/runtime.h ---------------------------===//
//
// Argument checks, the thread's last error, and RtError turned into a status; the work is
// done in Load.cpp, Bind.cpp and Run.cpp. See docs/module-format.md.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/ModuleFormat/Error.h"

#include <cstring>
#include <new>
#include <string>

using namespace blockc::rt;

namespace {

thread_local std::string tLastError;

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

/// *count = n, for the blockc_module_num_* functions.
blockc_status countOf(const blockc_module *module, const char *function, size_t n,
                      int32_t *count) {
  if (!module)
    return nullModule(function);
  if (!count) {
    tLastError = std::string(function) + ": count is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  tLastError.clear();
  *count = static_cast<int32_t>(n);
  return BLOCKC_OK;
}

/// A profiled run's kernel_seconds must hold one entry per run kernel.
void checkKernelSeconds(const blockc_module &module, const char *function,
                        const double *kernelSeconds, int32_t count) {
  const size_t kernels = module.manifest.run.size();
  if (!kernelSeconds || count < 0 || static_cast<size_t>(count) != kernels)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         std::string(function) + ": kernel_seconds must hold one entry per run kernel (" +
             std::to_string(kernels) + "), got " +
             (kernelSeconds ? "count " + std::to_string(count) : std::string("null")));
}

/// One input and one output, both [B, N, C]: blockc_module_info describes their shapes.
bool isBlockModule(const Manifest &m) {
  return m.inputs.size() == 1 && m.outputs.size() == 1 && m.inputs[0].shape.size() == 3 &&
         m.outputs[0].shape.size() == 3 && !m.maxTokens;
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

blockc_status blockc_module_bind_tensors(blockc_module *module, const blockc_named_tensor *tensors,
                                         size_t num_tensors, void (*release)(void *),
                                         void *release_context) {
  if (!module) {
    if (release)
      release(release_context);
    return nullModule("blockc_module_bind_tensors");
  }
  return guarded(BLOCKC_ERROR_WEIGHTS, [&] {
    bindCallerTensors(*module, tensors, num_tensors, release, release_context);
  });
}

blockc_status blockc_module_run(blockc_module *module, const float *input, int64_t batch,
                                float *output) {
  if (!module)
    return nullModule("blockc_module_run");
  return guarded(BLOCKC_ERROR_KERNEL, [&] {
    runModule(*module, checkSingleTensors(*module, "run", input, batch, output, kDLCPU));
  });
}

blockc_status blockc_module_run_named(blockc_module *module, const blockc_named_tensor *inputs,
                                      size_t num_inputs, const blockc_named_tensor *outputs,
                                      size_t num_outputs) {
  if (!module)
    return nullModule("blockc_module_run_named");
  return guarded(BLOCKC_ERROR_KERNEL, [&] {
    runModule(*module,
              checkNamedTensors(*module, "run_named", inputs, num_inputs, outputs, num_outputs));
  });
}

blockc_status blockc_module_run_device(blockc_module *module, const void *device_input,
                                       int64_t batch, void *device_output) {
  if (!module)
    return nullModule("blockc_module_run_device");
  return guarded(BLOCKC_ERROR_KERNEL, [&] {
    if (!module->cuda)
      fail(BLOCKC_ERROR_INCOMPATIBLE,
           module->path + ": run_device: this is a CPU module (target '" +
               module->manifest.target + "'); use blockc_module_run with host memory");
    runModule(*module, checkSingleTensors(*module, "run_device", device_input, batch,
                                          device_output, kDLCUDA));
  });
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
    // Halide's pool keeps the threads it started: a new count takes effect on a new pool.
    if (module->shutdownThreadPool) {
      module->shutdownThreadPool();
      module->setNumThreads(threads);
    }
    if (previous)
      *previous = old;
  });
}

blockc_status blockc_module_run_profiled(blockc_module *module, const float *input, int64_t batch,
                                         float *output, double *kernel_seconds, int32_t count) {
  if (!module)
    return nullModule("blockc_module_run_profiled");
  return guarded(BLOCKC_ERROR_KERNEL, [&] {
    checkKernelSeconds(*module, "blockc_module_run_profiled", kernel_seconds, count);
    runModule(*module, checkSingleTensors(*module, "run", input, batch, output, kDLCPU),
              kernel_seconds);
  });
}

blockc_status blockc_module_run_named_profiled(blockc_module *module,
                                               const blockc_named_tensor *inputs,
                                               size_t num_inputs,
                                               const blockc_named_tensor *outputs,
                                               size_t num_outputs, double *kernel_seconds,
                                               int32_t count) {
  if (!module)
    return nullModule("blockc_module_run_named_profiled");
  return guarded(BLOCKC_ERROR_KERNEL, [&] {
    checkKernelSeconds(*module, "blockc_module_run_named_profiled", kernel_seconds, count);
    runModule(*module,
              checkNamedTensors(*module, "run_named", inputs, num_inputs, outputs, num_outputs),
              kernel_seconds);
  });
}

blockc_status blockc_module_num_kernels(const blockc_module *module, int32_t *count) {
  return countOf(module, "blockc_module_num_kernels", module ? module->manifest.run.size() : 0,
                 count);
}

blockc_status blockc_module_num_inputs(const blockc_module *module, int32_t *count) {
  return countOf(module, "blockc_module_num_inputs",
                 module ? module->manifest.inputs.size() : 0, count);
}

blockc_status blockc_module_num_outputs(const blockc_module *module, int32_t *count) {
  return countOf(module, "blockc_module_num_outputs",
                 module ? module->manifest.outputs.size() : 0, count);
}

/// Whether `info` is non-null and `index` names one of `size` entries; if not, says so as
/// `function`'s error. Clears the error when it is.
static bool validIndex(const char *function, const void *info, int32_t index, size_t size,
                       const std::string &what = "") {
  if (info && index >= 0 && static_cast<size_t>(index) < size) {
    tLastError.clear();
    return true;
  }
  tLastError = std::string(function) + ": " +
               (info ? what + "index " + std::to_string(index) + " is not in [0, " +
                           std::to_string(size) + ")"
                     : std::string("info is null"));
  return false;
}

blockc_status blockc_module_get_tensor_info(const blockc_module *module, blockc_io_kind kindEnum,
                                            int32_t index, blockc_tensor_info *info) {
  if (!module)
    return nullModule("blockc_module_get_tensor_info");
  // A C caller may pass any int; in C++ an enum object holding one outside the enumerators'
  // range must not be read as the enum.
  int kind;
  static_assert(sizeof kind == sizeof kindEnum, "blockc_io_kind is an int");
  std::memcpy(&kind, &kindEnum, sizeof kind);
  const bool input = kind == BLOCKC_INPUT;
  if (!input && kind != BLOCKC_OUTPUT) {
    tLastError = "blockc_module_get_tensor_info: kind " + std::to_string(kind) +
                 " is neither BLOCKC_INPUT nor BLOCKC_OUTPUT";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  const std::vector<TensorSpec> &tensors =
      input ? module->manifest.inputs : module->manifest.outputs;
  if (!validIndex("blockc_module_get_tensor_info", info, index, tensors.size(),
                  input ? "input " : "output "))
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  const TensorSpec &t = tensors[static_cast<size_t>(index)];
  info->name = t.name.c_str();
  info->rank = static_cast<int32_t>(t.shape.size());
  info->shape = t.shape.data();
  info->dtype.code = t.dtype == ElementType::F32 ? kDLFloat : kDLInt;
  info->dtype.bits = static_cast<uint8_t>(t.elementBytes() * 8);
  info->dtype.lanes = 1;
  info->bound = t.bound;
  info->optional = t.optional ? 1 : 0;
  return BLOCKC_OK;
}

blockc_status blockc_module_get_kernel_info(const blockc_module *module, int32_t index,
                                            blockc_kernel_info *info) {
  if (!module)
    return nullModule("blockc_module_get_kernel_info");
  const std::vector<KernelSpec> &run = module->manifest.run;
  if (!validIndex("blockc_module_get_kernel_info", info, index, run.size()))
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  const KernelSpec &k = run[static_cast<size_t>(index)];
  info->name = k.name.c_str();
  info->kind = k.kind.c_str();
  info->ops = module->runKernelOps[static_cast<size_t>(index)].c_str();
  info->flops_per_sample = k.flops.perSample;
  info->flops_per_token = k.flops.perToken;
  info->flops_per_token_pair = k.flops.perTokenPair;
  return BLOCKC_OK;
}

blockc_status blockc_module_num_weights(const blockc_module *module, int32_t *count) {
  if (!module)
    return nullModule("blockc_module_num_weights");
  if (!count) {
    tLastError = "blockc_module_num_weights: count is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  tLastError.clear();
  *count = static_cast<int32_t>(module->manifest.weights.size());
  return BLOCKC_OK;
}

blockc_status blockc_module_get_weight_info(const blockc_module *module, int32_t index,
                                            blockc_weight_info *info) {
  if (!module)
    return nullModule("blockc_module_get_weight_info");
  const std::vector<WeightSpec> &weights = module->manifest.weights;
  if (!validIndex("blockc_module_get_weight_info", info, index, weights.size()))
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  const WeightSpec &w = weights[static_cast<size_t>(index)];
  info->name = w.name.c_str();
  info->dtype = w.dtype.c_str();
  info->used = w.used ? 1 : 0;
  const auto binding = module->currentBinding();
  info->present = binding ? (binding->present[static_cast<size_t>(index)] ? 1 : 0) : -1;
  return BLOCKC_OK;
}

blockc_status blockc_module_num_ignored(const blockc_module *module, int32_t *count) {
  if (!module)
    return nullModule("blockc_module_num_ignored");
  if (!count) {
    tLastError = "blockc_module_num_ignored: count is null";
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  }
  tLastError.clear();
  *count = static_cast<int32_t>(module->manifest.ignoredPrefixes.size());
  return BLOCKC_OK;
}

blockc_status blockc_module_get_ignored_info(const blockc_module *module, int32_t index,
                                             blockc_ignored_info *info) {
  if (!module)
    return nullModule("blockc_module_get_ignored_info");
  const std::vector<std::string> &prefixes = module->manifest.ignoredPrefixes;
  if (!validIndex("blockc_module_get_ignored_info", info, index, prefixes.size()))
    return BLOCKC_ERROR_INVALID_ARGUMENT;
  info->name = prefixes[static_cast<size_t>(index)].c_str();
  const auto binding = module->currentBinding();
  info->present = binding ? binding->ignoredPresent[static_cast<size_t>(index)] : -1;
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
  const bool block = isBlockModule(m);
  info->tokens = block ? m.inputs[0].shape[1] : 0;
  info->dim = block ? m.inputs[0].shape[2] : 0;
  info->output_tokens = block ? m.outputs[0].shape[1] : 0;
  info->output_dim = block ? m.outputs[0].shape[2] : 0;
  info->num_inputs = static_cast<int32_t>(m.inputs.size());
  info->num_outputs = static_cast<int32_t>(m.outputs.size());
  info->flops_per_sample = m.flops.perSample;
  info->flops_per_token = m.flops.perToken;
  info->flops_per_token_pair = m.flops.perTokenPair;
  info->max_tokens = m.maxTokens;
  info->num_weights = static_cast<int32_t>(m.weights.size());
  info->weights_bound = module->currentBinding() ? 1 : 0;
  info->device = m.device.c_str();
  return BLOCKC_OK;
}

} // extern "C"
