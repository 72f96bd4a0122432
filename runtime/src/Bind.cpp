//===- Bind.cpp - binding a module's weights ------------------------------===//
//
// blockc_module_bind_weights: the safetensors file checked against the manifest's weights,
// the constants allocated (zeroed) and the prepare kernels run once, into a new binding
// that replaces the module's when it is whole (runs in flight keep the one they took). The
// file is read into memory the binding owns, so runs never depend on the file; a CPU module
// uses the weights in place there (misaligned ones copied); a CUDA module's weights and
// constants go to one device allocation.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/ModuleFormat/Error.h"

#include <algorithm>
#include <cstring>

namespace blockc {
namespace rt {

void bindWeights(blockc_module &mod, const std::string &weightsPath) {
  std::lock_guard<std::mutex> lock(mod.bindMutex);
  const Manifest &m = mod.manifest;
  auto binding = std::make_unique<Binding>();
  binding->file = SafetensorsFile::open(weightsPath);
  const auto &tensors = binding->file->tensors();

  std::vector<std::string> problems;
  binding->weights.assign(m.weights.size(), 0);
  binding->present.assign(m.weights.size(), false);
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const WeightSpec &w = m.weights[i];
    auto it = tensors.find(w.name);
    binding->present[i] = it != tensors.end();
    // A checkpoint saved without the counters inference never reads still loads.
    if (it == tensors.end() && !w.used)
      continue;
    if (it == tensors.end()) {
      problems.push_back("missing tensor '" + w.name + "' (" + w.dtype + " " +
                         shapeToString(w.shape) + ")");
      continue;
    }
    const TensorEntry &t = it->second;
    bool ok = true;
    if (t.dtype != w.dtype) {
      problems.push_back("tensor '" + w.name + "' has dtype " + t.dtype + ", expected " + w.dtype);
      ok = false;
    }
    if (t.shape != w.shape) {
      problems.push_back("tensor '" + w.name + "' has shape " + shapeToString(t.shape) +
                         ", expected " + shapeToString(w.shape));
      ok = false;
    }
    if (!ok || !w.used || w.dtype != "F32")
      continue;
    if (mod.cuda) { // uploaded below, once the file has been checked
      binding->weights[i] = reinterpret_cast<uintptr_t>(t.data);
      continue;
    }
    const float *data = reinterpret_cast<const float *>(t.data);
    if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0) {
      AlignedFloats copy = allocateFloats(static_cast<size_t>(w.elements));
      std::memcpy(copy.get(), t.data, t.byteSize());
      data = copy.get();
      binding->copies.push_back(std::move(copy));
    }
    binding->weights[i] = reinterpret_cast<uintptr_t>(data);
  }
  for (const auto &kv : tensors) {
    bool listed = std::any_of(m.weights.begin(), m.weights.end(),
                              [&](const WeightSpec &w) { return w.name == kv.first; });
    if (!listed && !m.ignores(kv.first))
      problems.push_back("unexpected tensor '" + kv.first + "' (not a weight of block '" +
                         m.block + "')");
  }
  if (!problems.empty()) {
    std::string msg = weightsPath + ": does not match module " + quoted(mod.path) + " (" +
                      std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem): " : " problems): ");
    for (size_t i = 0; i < problems.size(); ++i)
      msg += (i ? "; " : "") + problems[i];
    fail(BLOCKC_ERROR_WEIGHTS, msg);
  }

  if (!mod.cuda) {
    for (const ConstantSpec &c : m.constants) {
      binding->constantData.push_back(allocateFloats(static_cast<size_t>(c.elements)));
      std::memset(binding->constantData.back().get(), 0,
                  static_cast<size_t>(c.elements) * sizeof(float));
      binding->constants.push_back(reinterpret_cast<uintptr_t>(binding->constantData.back().get()));
    }
    if (!m.prepare.empty()) {
      Storage storage;
      storage.weights = &binding->weights;
      storage.constants = &binding->constants;
      std::vector<size_t> offsets;
      size_t arenaFloats = slotOffsets(m, RunShape(), offsets);
      AlignedFloats arena = allocateFloats(arenaFloats);
      for (size_t o : offsets)
        storage.slots.push_back(reinterpret_cast<uintptr_t>(arena.get() + o));
      callKernels(mod, "prepare", m.prepare, mod.prepareFunctions, storage, RunShape());
    }
  } else {
    // One device allocation holds every used weight (copied from the file's bytes) and every
    // constant (zeroed, then written by the prepare kernels on the GPU), each 256-byte aligned.
    std::vector<size_t> weightAt(m.weights.size(), 0), constantAt(m.constants.size(), 0);
    size_t floats = 0;
    for (size_t i = 0; i < m.weights.size(); ++i)
      if (binding->weights[i]) {
        weightAt[i] = floats;
        floats += roundUpDeviceFloats(static_cast<size_t>(m.weights[i].elements));
      }
    for (size_t i = 0; i < m.constants.size(); ++i) {
      constantAt[i] = floats;
      floats += roundUpDeviceFloats(static_cast<size_t>(m.constants[i].elements));
    }
    binding->deviceData = cuda::DeviceMemory(floats * sizeof(float));
    const cuda::Api &api = cuda::device().api;
    const uintptr_t base = static_cast<uintptr_t>(binding->deviceData.get());
    {
      cuda::ScopedContext scope;
      for (size_t i = 0; i < m.weights.size(); ++i) {
        if (!binding->weights[i])
          continue;
        const uintptr_t at = base + weightAt[i] * sizeof(float);
        cuda::check(api.cuMemcpyHtoD(at, reinterpret_cast<const void *>(binding->weights[i]),
                                     static_cast<size_t>(m.weights[i].elements) * sizeof(float)),
                    mod.path + ": uploading weight '" + m.weights[i].name + "' to the GPU",
                    BLOCKC_ERROR_WEIGHTS);
        binding->weights[i] = at;
      }
      if (!m.constants.empty())
        cuda::check(api.cuMemsetD8(base + constantAt[0] * sizeof(float), 0,
                                   (floats - constantAt[0]) * sizeof(float)),
                    mod.path + ": zeroing the constants on the GPU", BLOCKC_ERROR_WEIGHTS);
    }
    for (size_t i = 0; i < m.constants.size(); ++i)
      binding->constants.push_back(base + constantAt[i] * sizeof(float));
    if (!m.prepare.empty())
      runOnDevice(mod, "prepare", m.prepare, mod.prepareFunctions, *binding, nullptr);
    binding->file.reset(); // everything the kernels read is on the GPU now
  }
  mod.publishBinding(std::move(binding));
}

} // namespace rt
} // namespace blockc
