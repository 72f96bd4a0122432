//===- CudaModule.cpp - loading and releasing a CUDA module ---------------===//
//
// A module whose manifest says "device": "cuda": the device (driver, primary context), its
// compute capability, the module's Halide CUDA runtime pointed at the primary context and
// the runs' streams (HalideCuda.h), and a probe allocation through that runtime, so that a
// machine that cannot run the module says so at load.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/KernelCall/HalideErrors.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/TargetChecks.h"

#include <map>
#include <mutex>

namespace blockc {
namespace rt {
namespace {

/// Live CUDA modules per dlopen handle (two modules loaded from one file share one handle
/// and so one Halide runtime): the last one to go releases that runtime's device state.
std::mutex gCudaHandleMutex;
std::map<void *, int> gCudaHandleUsers;

} // namespace

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
  const cuda::HalideCudaRuntime runtime = cuda::findHalideCudaRuntime(mod.handle, missing);
  if (!missing.empty())
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": a CUDA module must export its Halide CUDA "
                                           "runtime; symbol(s) not found: " +
                                joinNames(missing));
  mod.deviceRelease = runtime.deviceRelease;
  mod.cudaInterface = runtime.interfaceOf();
  if (!mod.cudaInterface)
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": halide_cuda_device_interface() returned null");

  // Every CUDA module of the process uses the device's primary context, and each run its
  // own stream (cuda::StreamScope).
  cuda::usePrimaryContextAndStreams(runtime, *dev);
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
      [&] { return runtime.deviceMalloc(nullptr, &probe, mod.cudaInterface); }, messages);
  if (rc != 0)
    fail(BLOCKC_ERROR_INCOMPATIBLE,
         quoted(path) + ": the module's Halide CUDA runtime cannot allocate GPU memory on "
                        "device " + std::to_string(dev->ordinal) + " (" + dev->name +
             "): code " + std::to_string(rc) + ": " +
             (messages.empty() ? "(no message)" : messages));
  callHalide([&] { return runtime.deviceFree(nullptr, &probe); }, messages);
}

void tearDownCuda(blockc_module &mod) {
  if (!mod.countedCudaHandle)
    return;
  bool last;
  {
    std::lock_guard<std::mutex> lock(gCudaHandleMutex);
    last = --gCudaHandleUsers[mod.handle] == 0;
    if (last)
      gCudaHandleUsers.erase(mod.handle);
  }
  // Frees the module runtime's cached device allocations and unloads its kernels
  // from the context, before the code goes away with dlclose.
  if (last && mod.deviceRelease && mod.cudaInterface) {
    try {
      cuda::ScopedContext scope;
      mod.deviceRelease(nullptr, mod.cudaInterface);
    } catch (...) {
    }
  }
}

} // namespace rt
} // namespace blockc
