//===- Schedule.cpp - knobs, kernel kinds and autoschedulers --------------===//
#include "Kernels.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <mutex>
#include <set>

using namespace blockc;
namespace json = llvm::json;

Knob blockc::makeKnob(std::string name, std::vector<int64_t> candidates, int64_t limit,
                      int64_t defaultValue) {
  llvm::erase_if(candidates, [&](int64_t v) { return v < 0 || v > limit; });
  candidates.push_back(defaultValue);
  llvm::sort(candidates);
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  return Knob{std::move(name), std::move(candidates), defaultValue};
}

json::Array blockc::toJsonArray(llvm::ArrayRef<int64_t> values) {
  json::Array array;
  for (int64_t v : values)
    array.push_back(v);
  return array;
}

LoweredKernel blockc::lowerKernel(KernelOp kernel, const TargetInfo &target) {
  llvm::StringRef kind = kernel.getKind();
  if (kind == "matmul")
    return lowerMatmul(kernel, target);
  if (kind == "attention")
    return lowerAttention(kernel, target);
  if (kind == "prepare")
    return lowerPrepare(kernel, target);
  return lowerRowwise(kernel, target);
}

namespace {
/// Loads the plugin of Halide's autoscheduler `name` once per process, from the directory of
/// the libHalide the compiler was built with.
llvm::Error loadAutoscheduler(const std::string &name) {
  static std::mutex mutex;
  static std::set<std::string> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded.count(name))
    return llvm::Error::success();
  llvm::SmallString<256> path(BLOCKC_HALIDE_PLUGIN_DIR);
  llvm::sys::path::append(path, "libautoschedule_" + llvm::StringRef(name).lower() + ".so");
  if (!llvm::sys::fs::exists(path))
    return llvm::createStringError("autoscheduler " + name + " is not available: " +
                                   std::string(path) + " does not exist");
  try {
    Halide::load_plugin(std::string(path));
  } catch (const Halide::Error &e) {
    return llvm::createStringError("cannot load autoscheduler " + name + ": " + e.what());
  }
  loaded.insert(name);
  return llvm::Error::success();
}

/// Estimates of every argument's and output's extents at `batch` samples, which the
/// autoschedulers need.
void setEstimates(LoweredKernel &kernel, int64_t batch) {
  for (auto *views : {&kernel.inputs, &kernel.outputs})
    for (ArgView &view : *views) {
      const int rank = int(view.shape.size());
      for (int d = 0; d < rank; ++d) {
        int64_t extent = view.shape[rank - 1 - d];
        view.buffer.dim(d).set_estimate(0, int(extent < 0 ? -extent * batch : extent));
      }
    }
}
} // namespace

llvm::Error blockc::applySchedule(LoweredKernel &kernel, const ScheduleChoice &choice,
                                  const TargetInfo &target, int64_t batch) {
  llvm::Expected<KnobValues> knobs = resolveKnobs(kernel.space, choice);
  if (!knobs)
    return knobs.takeError();
  if (choice.autoscheduler.empty()) {
    kernel.schedule(*knobs);
    return llvm::Error::success();
  }
  if (target.isGpu() != (choice.autoscheduler == "Anderson2021"))
    return llvm::createStringError("autoscheduler " + choice.autoscheduler + " is not for " +
                                   (target.isGpu() ? "GPU" : "CPU") + " targets");
  if (llvm::Error err = loadAutoscheduler(choice.autoscheduler))
    return err;
  setEstimates(kernel, batch);
  Halide::AutoschedulerParams params;
  params.name = choice.autoscheduler;
  for (const auto &[name, value] : *knobs)
    params.extra[name] = std::to_string(value);
  kernel.pipeline.apply_autoscheduler(target.halide, params);
  return llvm::Error::success();
}
