//===- runtime.hpp - blockc runtime, thin C++ API ---------------*- C++ -*-===//
//
// Header-only RAII wrapper over the C API in runtime.h. Every failure throws
// blockc::Error carrying the C API's status and message.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_HPP
#define BLOCKC_RUNTIME_HPP

#include "blockc/runtime.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace blockc {

/// A failed runtime call: what() is the message, status() the C status.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message, blockc_status status = BLOCKC_ERROR_INVALID_ARGUMENT)
      : std::runtime_error(message), status_(status) {}
  blockc_status status() const noexcept { return status_; }

private:
  blockc_status status_;
};

/// Throws blockc::Error with blockc_last_error() if `status` is not BLOCKC_OK.
inline void check(blockc_status status) {
  if (status != BLOCKC_OK) {
    const char *message = blockc_last_error();
    throw Error(message && *message ? message : blockc_status_name(status), status);
  }
}

/// A DLTensor over C-contiguous float32 host memory of `shape` (which must outlive it), for
/// Module::runNamed.
inline DLTensor hostTensor(const float *data, const std::vector<int64_t> &shape) {
  DLTensor t{};
  t.data = const_cast<float *>(data);
  t.device.device_type = kDLCPU;
  t.ndim = static_cast<int>(shape.size());
  t.dtype.code = kDLFloat;
  t.dtype.bits = 32;
  t.dtype.lanes = 1;
  t.shape = const_cast<int64_t *>(shape.data());
  return t;
}

/// A loaded module (owns the blockc_module).
class Module {
public:
  /// Loads a module directory (DIR/module.so) or a .so path.
  explicit Module(const std::string &path) { check(blockc_module_load(path.c_str(), &module_)); }
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;
  Module(Module &&other) noexcept : module_(std::exchange(other.module_, nullptr)) {}
  Module &operator=(Module &&other) noexcept {
    if (this != &other) {
      blockc_module_free(module_);
      module_ = std::exchange(other.module_, nullptr);
    }
    return *this;
  }
  ~Module() { blockc_module_free(module_); }

  /// Binds weights from a .safetensors file and runs the prepare kernels.
  void bindWeights(const std::string &safetensorsPath) {
    check(blockc_module_bind_weights(module_, safetensorsPath.c_str()));
  }

  /// The tensors of the weight file the module declares, in manifest order.
  std::vector<blockc_weight_info> weights() const {
    int32_t count = 0;
    check(blockc_module_num_weights(module_, &count));
    std::vector<blockc_weight_info> result(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i)
      check(blockc_module_get_weight_info(module_, i, &result[static_cast<size_t>(i)]));
    return result;
  }

  /// The names the module's spec ignores, with the bound weights' tensors under each.
  std::vector<blockc_ignored_info> ignored() const {
    int32_t count = 0;
    check(blockc_module_num_ignored(module_, &count));
    std::vector<blockc_ignored_info> result(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i)
      check(blockc_module_get_ignored_info(module_, i, &result[static_cast<size_t>(i)]));
    return result;
  }

  /// A module with one input and one output: input [batch, ...], output [batch, ...] (see
  /// inputs(), outputs()). Thread-safe.
  void run(const float *input, int64_t batch, float *output) const {
    check(blockc_module_run(module_, input, batch, output));
  }

  /// Runs on every input and output by name (see blockc_module_run_named). Thread-safe.
  void runNamed(const std::vector<blockc_named_tensor> &inputs,
                const std::vector<blockc_named_tensor> &outputs) const {
    check(blockc_module_run_named(module_, inputs.data(), inputs.size(), outputs.data(),
                                  outputs.size()));
  }

  /// Runs like runNamed() and returns each run kernel's wall time in seconds, in run order.
  std::vector<double> runNamedProfiled(const std::vector<blockc_named_tensor> &inputs,
                                       const std::vector<blockc_named_tensor> &outputs) const {
    std::vector<double> seconds(kernels().size());
    check(blockc_module_run_named_profiled(module_, inputs.data(), inputs.size(),
                                           outputs.data(), outputs.size(), seconds.data(),
                                           static_cast<int32_t>(seconds.size())));
    return seconds;
  }

  /// The module's inputs, in manifest order.
  std::vector<blockc_tensor_info> inputs() const { return tensors(BLOCKC_INPUT); }
  /// The module's outputs, in manifest order.
  std::vector<blockc_tensor_info> outputs() const { return tensors(BLOCKC_OUTPUT); }

  /// CUDA modules: input and output are device pointers (see blockc_module_run_device).
  void runDevice(const void *deviceInput, int64_t batch, void *deviceOutput) const {
    check(blockc_module_run_device(module_, deviceInput, batch, deviceOutput));
  }

  /// Convenience, for a module with one input and one output: runs on a whole number of
  /// input samples and returns the output.
  std::vector<float> run(const std::vector<float> &input) const {
    const std::vector<blockc_tensor_info> in = inputs(), out = outputs();
    if (in.size() != 1 || out.size() != 1)
      throw Error("run(std::vector<float>) takes a module with one input and one output");
    const size_t perSample = sampleFloats(in[0]);
    if (input.empty() || input.size() % perSample != 0)
      throw Error("input holds " + std::to_string(input.size()) +
                  " floats, not a whole number of samples of " + std::to_string(perSample));
    const int64_t batch = static_cast<int64_t>(input.size() / perSample);
    std::vector<float> output(static_cast<size_t>(batch) * sampleFloats(out[0]));
    run(input.data(), batch, output.data());
    return output;
  }

  /// The elements of one sample of an input or output: the product of shape[1..], with
  /// `tokens` for a run-time sequence length (-2).
  static size_t sampleFloats(const blockc_tensor_info &t, int64_t tokens = 1) {
    size_t n = 1;
    for (int32_t d = 1; d < t.rank; ++d)
      n *= static_cast<size_t>(t.shape[d] == -2 ? tokens : t.shape[d]);
    return n;
  }

  /// Runs like run(const float *...) and returns each run kernel's wall time in seconds, in run order
  /// (see blockc_module_run_profiled).
  std::vector<double> runProfiled(const float *input, int64_t batch, float *output) const {
    std::vector<double> seconds(kernels().size());
    check(blockc_module_run_profiled(module_, input, batch, output, seconds.data(),
                                     static_cast<int32_t>(seconds.size())));
    return seconds;
  }

  /// The kernels a run calls, in order.
  std::vector<blockc_kernel_info> kernels() const {
    int32_t count = 0;
    check(blockc_module_num_kernels(module_, &count));
    std::vector<blockc_kernel_info> out(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i)
      check(blockc_module_get_kernel_info(module_, i, &out[static_cast<size_t>(i)]));
    return out;
  }

  /// Sets the module's Halide thread count (0: default); returns the previous value.
  int setNumThreads(int threads) {
    int previous = 0;
    check(blockc_module_set_num_threads(module_, threads, &previous));
    return previous;
  }

  blockc_module_info info() const {
    blockc_module_info i{};
    check(blockc_module_get_info(module_, &i));
    return i;
  }
  int64_t tokens() const { return info().tokens; }
  int64_t dim() const { return info().dim; }
  int64_t outputTokens() const { return info().output_tokens; }
  int64_t outputDim() const { return info().output_dim; }
  double flopsPerSample() const { return info().flops_per_sample; }
  std::string block() const { return info().block; }
  std::string target() const { return info().target; }
  std::string manifestJson() const { return info().manifest_json; }
  /// "cuda" for a CUDA module, "" for a CPU module.
  std::string device() const { return info().device; }
  bool weightsBound() const { return info().weights_bound != 0; }

  blockc_module *get() const noexcept { return module_; }

private:
  std::vector<blockc_tensor_info> tensors(blockc_io_kind kind) const {
    int32_t count = 0;
    check(kind == BLOCKC_INPUT ? blockc_module_num_inputs(module_, &count)
                               : blockc_module_num_outputs(module_, &count));
    std::vector<blockc_tensor_info> out(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i)
      check(blockc_module_get_tensor_info(module_, kind, i, &out[static_cast<size_t>(i)]));
    return out;
  }

  blockc_module *module_ = nullptr;
};

} // namespace blockc

#endif // BLOCKC_RUNTIME_HPP
