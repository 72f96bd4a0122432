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

  /// input: [batch, tokens, dim]; output: [batch, outputTokens, outputDim]. Thread-safe.
  void run(const float *input, int64_t batch, float *output) const {
    check(blockc_module_run(module_, input, batch, output));
  }

  /// CUDA modules: input and output are device pointers (see blockc_module_run_device).
  void runDevice(const void *deviceInput, int64_t batch, void *deviceOutput) const {
    check(blockc_module_run_device(module_, deviceInput, batch, deviceOutput));
  }

  /// Convenience: runs on a whole [batch, tokens, dim] vector and returns the output.
  std::vector<float> run(const std::vector<float> &input) const {
    blockc_module_info i = info();
    const size_t perSample = static_cast<size_t>(i.tokens * i.dim);
    if (perSample == 0 || input.empty() || input.size() % perSample != 0)
      throw Error("input holds " + std::to_string(input.size()) +
                  " floats, not a whole number of [" + std::to_string(i.tokens) + ", " +
                  std::to_string(i.dim) + "] samples");
    const int64_t batch = static_cast<int64_t>(input.size() / perSample);
    std::vector<float> output(static_cast<size_t>(batch * i.output_tokens * i.output_dim));
    run(input.data(), batch, output.data());
    return output;
  }

  /// Runs like run() and returns each run kernel's wall time in seconds, in run order
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
  blockc_module *module_ = nullptr;
};

} // namespace blockc

#endif // BLOCKC_RUNTIME_HPP
