//===- CompileKernel.cpp - one kernel: lower, schedule, compile -----------===//
//
// The one way a kernel is compiled, in a module (EmitModule.cpp) or alone for the tuner
// (KernelTasks.cpp): its kind's algorithm, the schedule a ScheduleChoice names (knob
// values, or one of Halide's autoschedulers loaded as a plugin), then Halide's compiler,
// with Halide's errors returned as llvm::Error naming the kernel.
//
//===----------------------------------------------------------------------===//
#include "Attention.h"
#include "Matmul.h"
#include "Prepare.h"
#include "Rowwise.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>
#include <set>

using namespace blockc;

llvm::Expected<LoweredKernel> blockc::lowerKernel(KernelOp kernel, const TargetInfo &target) {
  try {
    switch (kernel.getKind()) {
    case KernelKind::Matmul:
      return lowerMatmul(kernel, target);
    case KernelKind::Attention:
      return lowerAttention(kernel, target);
    case KernelKind::Prepare:
      return lowerPrepare(kernel, target);
    case KernelKind::Norm:
    case KernelKind::Elementwise:
    case KernelKind::Tokens:
      return lowerRowwise(kernel, target);
    }
    llvm_unreachable("unknown kernel kind");
  } catch (const Halide::Error &e) {
    return llvm::createStringError("kernel " + kernel.getSymName().str() + ": Halide: " +
                                   e.what());
  }
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

/// Schedules `kernel` as `choice` says: its knob values (resolveKnobs), or the named
/// autoscheduler with estimates for `batch` samples. Errors name the bad knob.
llvm::Error applySchedule(LoweredKernel &kernel, const ScheduleChoice &choice,
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

/// Halide's compile-time messages. Errors throw (compileFunction catches them); the
/// warning that a pipeline "is guaranteed to fail an assertion at runtime" means a schedule
/// is wrong for these shapes, so it fails the compile instead of shipping a broken module.
/// That (b)float16 "is emulated" is no news: bf16 kernels round float32 to bf16 with integer
/// operations by design (once per weight and per row block; the products use the target's
/// bf16 dot product where it has one).
class HalideReporter : public Halide::CompileTimeErrorReporter {
public:
  void warning(const char *message) override {
    llvm::StringRef text(message);
    if (text.contains("guaranteed to fail"))
      doomed = message;
    else if (!text.contains("(b)float16 type operation is emulated"))
      llvm::errs() << "Halide warning: " << message;
  }
  [[noreturn]] void error(const char *message) override { throw Halide::CompileError(message); }
  /// Returns and clears the last "guaranteed to fail" warning.
  std::string takeDoomed() { return std::exchange(doomed, std::string()); }

private:
  std::string doomed;
};

HalideReporter &halideReporter() {
  static HalideReporter reporter;
  Halide::set_custom_compile_time_error_reporter(&reporter);
  return reporter;
}

/// Compiles a scheduled kernel into the files of `outputs` as the C function `function`
/// (without Halide's runtime). Halide's errors, and a schedule Halide finds "guaranteed to
/// fail" on these shapes, are returned.
llvm::Error compileFunction(LoweredKernel &kernel, const std::string &function,
                            const std::map<Halide::OutputFileType, std::string> &outputs,
                            const TargetInfo &target) {
  halideReporter();
  try {
    kernel.pipeline.compile_to(outputs, kernel.arguments, function,
                               target.halide.with_feature(Halide::Target::NoRuntime));
  } catch (const Halide::Error &e) {
    return llvm::createStringError("Halide: " + std::string(e.what()));
  }
  if (std::string doomed = halideReporter().takeDoomed(); !doomed.empty())
    return llvm::createStringError("the schedule cannot run on these shapes: " + doomed);
  return llvm::Error::success();
}
} // namespace

llvm::Expected<LoweredKernel> blockc::compileKernel(KernelOp kernel, const TargetInfo &target,
                                                    const KernelCompileOptions &options) {
  const std::string name = kernel.getSymName().str();
  llvm::Expected<LoweredKernel> lowered = lowerKernel(kernel, target);
  if (!lowered)
    return lowered.takeError();
  if (llvm::Error err = [&]() -> llvm::Error {
        try {
          return applySchedule(*lowered, options.schedule, target, options.batch);
        } catch (const Halide::Error &e) {
          return llvm::createStringError("Halide: " + std::string(e.what()));
        }
      }())
    return llvm::createStringError("kernel " + name + ": " +
                                   (options.tuned ? "tuned schedule " : "schedule ") +
                                   options.schedule.key() + ": " + llvm::toString(std::move(err)));
  if (llvm::Error err = compileFunction(*lowered, options.function, options.outputs, target))
    return llvm::createStringError("kernel " + name + ": " + llvm::toString(std::move(err)));
  return lowered;
}
