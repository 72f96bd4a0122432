//===- ModuleCommand.h - what `blockc run` and `bench` share ------*- C++ -*-===//
//
// The commands that load a module and bind its weights (run: Run.cpp, bench: Bench.cpp):
// their shared options, the host tensors of a run, and the shapes and names they print.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TOOLS_MODULECOMMAND_H
#define BLOCKC_TOOLS_MODULECOMMAND_H

#include "blockc/runtime.hpp"

#include "Cli.h"

#include <boost/program_options.hpp>

#include <functional>
#include <string>
#include <vector>

namespace blockc::cli {

namespace po = boost::program_options;

/// A command's --help text, before its options.
std::string commandUsage(const std::string &command);

int cmdRun(const std::vector<std::string> &args);
int cmdBench(const std::vector<std::string> &args);

/// Halide's default thread count, for reporting: HL_NUM_THREADS or the core count.
int effectiveThreads(int requested);
/// Where a module's kernels run, for reporting: "GPU (cuda)" or "N threads".
std::string executorString(const blockc_module_info &info, int requestedThreads);
std::string shapeString(const std::vector<int64_t> &shape);
/// A module input's or output's shape at batch B (and S tokens, for run-time tokens).
std::vector<int64_t> atBatch(const blockc_tensor_info &t, int64_t batch, int64_t tokens = 1);
/// "[B, 3, 224, 224]", "[B, S, 384]".
std::string withBatch(const blockc_tensor_info &t);
std::string namesOf(const std::vector<blockc_tensor_info> &tensors);

/// Host memory for every input or output of a run, and the named DLTensors over it: float32
/// tensors in `data`, integer inputs (token ids, masks) in `ints` (int64) or `ints32`.
struct HostTensors {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DLDataType> dtypes;
  std::vector<std::vector<float>> data;
  std::vector<std::vector<int64_t>> ints;
  std::vector<std::vector<int32_t>> ints32;

  void add(const std::string &name, std::vector<int64_t> shape, std::vector<float> values) {
    push(name, std::move(shape), DLDataType{kDLFloat, 32, 1});
    data.back() = std::move(values);
  }

  /// An integer tensor of `dtype` (int64 or int32; int32 values are narrowed, which the
  /// caller has checked).
  void addInts(const std::string &name, std::vector<int64_t> shape, DLDataType dtype,
               const std::vector<int64_t> &values) {
    push(name, std::move(shape), dtype);
    if (dtype.bits == 64)
      ints.back() = values;
    else
      ints32.back().assign(values.begin(), values.end());
  }

  /// Valid while this object is not changed.
  std::vector<blockc_named_tensor> named() {
    std::vector<blockc_named_tensor> out;
    for (size_t i = 0; i < names.size(); ++i) {
      DLTensor t = blockc::hostTensor(data[i].data(), shapes[i]);
      t.dtype = dtypes[i];
      if (dtypes[i].code == kDLInt)
        t.data = dtypes[i].bits == 64 ? static_cast<void *>(ints[i].data()) : ints32[i].data();
      out.push_back({names[i].c_str(), t});
    }
    return out;
  }

  /// `tensors` at batch B (and S tokens), float32 ones filled by `fill`, integer ones by
  /// `fillInts` (given the tensor, for its bound).
  static HostTensors of(const std::vector<blockc_tensor_info> &tensors, int64_t batch,
                        int64_t tokens, const std::function<float()> &fill,
                        const std::function<int64_t(const blockc_tensor_info &)> &fillInts = {}) {
    HostTensors h;
    for (const blockc_tensor_info &t : tensors) {
      std::vector<int64_t> shape = atBatch(t, batch, tokens);
      const size_t count = static_cast<size_t>(batch) * blockc::Module::sampleFloats(t, tokens);
      if (t.dtype.code == kDLInt) {
        std::vector<int64_t> values(count);
        std::generate(values.begin(), values.end(), [&] { return fillInts(t); });
        h.addInts(t.name, std::move(shape), t.dtype, values);
      } else {
        std::vector<float> values(count);
        std::generate(values.begin(), values.end(), fill);
        h.add(t.name, std::move(shape), std::move(values));
      }
    }
    return h;
  }

private:
  void push(const std::string &name, std::vector<int64_t> shape, DLDataType dtype) {
    names.push_back(name);
    shapes.push_back(std::move(shape));
    dtypes.push_back(dtype);
    data.emplace_back();
    ints.emplace_back();
    ints32.emplace_back();
  }
};

//===----------------------------------------------------------------------===//
// run and bench: a module with its weights
//===----------------------------------------------------------------------===//

/// The positional argument of `run` and `bench`.
inline const Positional kModule{"module", "MODULE"};

/// The options `run` and `bench` share: the module, its weights and the thread count.
struct ModuleOptions {
  std::string modulePath, weightsPath;
  int threads = 0;
  bool verbose = false;

  void add(po::options_description &desc) {
    desc.add_options()
        ("module", po::value<std::string>(&modulePath), "module directory or .so (positional)")
        ("weights,w", po::value<std::string>(&weightsPath)->value_name("W.safetensors"),
         "weights")
        ("threads,t", po::value<int>(&threads)->value_name("T"),
         "Halide threads (default: HL_NUM_THREADS or the number of cores)")
        ("verbose,v", po::bool_switch(&verbose),
         "also note the weight file's tensors that inference never reads");
  }

  /// Checks the thread count and that the module and weight files exist.
  void check(const po::variables_map &vm) const {
    if (vm.count("threads") && threads < 1)
      throw UsageError{"--threads must be >= 1"};
    requireFile("module", modulePath, true);
    requireFile("weights", weightsPath);
  }

  /// Loads the module, sets its threads (if given) and binds its weights.
  blockc::Module open() const {
    blockc::Module module(modulePath);
    if (threads > 0)
      module.setNumThreads(threads);
    module.bindWeights(weightsPath);
    if (verbose) {
      for (const blockc_weight_info &w : module.weights())
        if (!w.used)
          std::printf("note: %s: tensor '%s' is not read by inference: %s\n",
                      weightsPath.c_str(), w.name,
                      w.present ? "present, checked and ignored" : "absent, not needed");
      for (const blockc_ignored_info &i : module.ignored())
        if (i.present > 0)
          std::printf("note: %s: %d tensor%s under '%s' not read by inference (the spec ignores "
                      "it): present, ignored\n",
                      weightsPath.c_str(), i.present, i.present == 1 ? "" : "s", i.name);
        else
          std::printf("note: %s: no tensor under '%s' (the spec ignores it): absent, not "
                      "needed\n",
                      weightsPath.c_str(), i.name);
    }
    return module;
  }
};


} // namespace blockc::cli

#endif // BLOCKC_TOOLS_MODULECOMMAND_H
