//===- Bind.cpp - binding a module's weights ------------------------------===//
//
// blockc_module_bind_weights and _bind_tensors: the tensors (of a safetensors file, or the
// caller's) checked against the manifest's weights, the constants allocated (zeroed) and the
// prepare kernels run once, into a new binding that replaces the module's when it is whole
// (runs in flight keep the one they took). A file is read into memory the binding owns, so
// runs never depend on the file; the caller's tensors are held until their release. A CPU
// module uses the weights in place (misaligned ones copied); a CUDA module's weights and
// constants go to one device allocation.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/ModuleFormat/Error.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace blockc {
namespace rt {

namespace {

/// Checks `tensors` (named `weightsPath` in messages) against the manifest's weights, then
/// builds and publishes the binding; `source` keeps the tensors' bytes alive.
void bindTensors(blockc_module &mod, const std::map<std::string, TensorEntry> &tensors,
                 const std::string &weightsPath, std::shared_ptr<const void> source) {
  const Manifest &m = mod.manifest;
  auto binding = std::make_unique<Binding>();
  binding->source = std::move(source);

  std::vector<std::string> problems;
  binding->weights.assign(m.weights.size(), 0);
  binding->present.assign(m.weights.size(), false);
  binding->ignoredPresent.assign(m.ignoredPrefixes.size(), 0);
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
    if (listed)
      continue;
    if (int prefix = m.ignoredPrefixOf(kv.first); prefix >= 0)
      ++binding->ignoredPresent[static_cast<size_t>(prefix)];
    else
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
      const size_t floats = constantFloats(c);
      binding->constantData.push_back(allocateFloats(floats));
      std::memset(binding->constantData.back().get(), 0, floats * sizeof(float));
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
      floats += roundUpDeviceFloats(constantFloats(m.constants[i]));
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
    binding->source.reset(); // everything the kernels read is on the GPU now
  }
  mod.publishBinding(std::move(binding));
}

/// The safetensors dtype name of a DLPack dtype ("F32"), or a description of one that has
/// none.
std::string safetensorsDtype(DLDataType t) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && (t.bits == 16 || t.bits == 32 || t.bits == 64))
      return "F" + std::to_string(t.bits);
    if (t.code == kDLBfloat && t.bits == 16)
      return "BF16";
    if (t.code == kDLInt && (t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64))
      return "I" + std::to_string(t.bits);
    if (t.code == kDLUInt && (t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64))
      return "U" + std::to_string(t.bits);
  }
  return "(DLPack code " + std::to_string(t.code) + ", " + std::to_string(t.bits) + " bits, " +
         std::to_string(t.lanes) + " lanes)";
}

/// The caller's tensors as the entries a weight file would have: host memory, C-contiguous,
/// names unique. Throws RtError(BLOCKC_ERROR_INVALID_ARGUMENT) naming the tensor.
std::map<std::string, TensorEntry> callerTensors(const blockc_named_tensor *tensors,
                                                 size_t count) {
  std::map<std::string, TensorEntry> entries;
  for (size_t i = 0; i < count; ++i) {
    const blockc_named_tensor &nt = tensors[i];
    const std::string where = "bind_tensors: tensor " + std::to_string(i);
    auto fault = [&](const std::string &what) {
      throw RtError(BLOCKC_ERROR_INVALID_ARGUMENT, where + ": " + what);
    };
    if (!nt.name || !*nt.name)
      fault("has no name");
    const std::string name = nt.name;
    const DLTensor &t = nt.tensor;
    auto named = [&](const std::string &what) { fault("'" + name + "' " + what); };
    if (entries.count(name))
      named("is given twice");
    if (t.device.device_type != kDLCPU)
      named("is not in host memory (kDLCPU)");
    if (t.ndim < 0 || t.ndim > 8 || (t.ndim > 0 && !t.shape))
      named("has an invalid ndim or no shape");
    TensorEntry e;
    e.name = name;
    e.dtype = safetensorsDtype(t.dtype);
    uint64_t elements = 1;
    for (int d = 0; d < t.ndim; ++d) {
      if (t.shape[d] < 0)
        named("has a negative extent");
      e.shape.push_back(t.shape[d]);
      if (t.shape[d] != 0 && elements > (uint64_t(1) << 48) / uint64_t(t.shape[d]))
        named("is too large");
      elements *= uint64_t(t.shape[d]);
    }
    if (!hasCompactStrides(t))
      named("is not C-contiguous (strides other than a compact row-major array's)");
    if (elements > 0 && !t.data)
      named("has no data");
    e.data = static_cast<const unsigned char *>(t.data) + t.byte_offset;
    e.end = elements * ((uint64_t(t.dtype.bits) * t.dtype.lanes + 7) / 8);
    entries.emplace(name, std::move(e));
  }
  return entries;
}

/// Calls the caller's release once, when the last binding or bind that holds it lets go.
struct CallerRelease {
  CallerRelease(void (*release)(void *), void *context) : release(release), context(context) {}
  CallerRelease(const CallerRelease &) = delete;
  CallerRelease &operator=(const CallerRelease &) = delete;
  void (*release)(void *);
  void *context;
  ~CallerRelease() {
    if (release)
      release(context);
  }
};

} // namespace

void bindWeights(blockc_module &mod, const std::string &weightsPath) {
  std::lock_guard<std::mutex> lock(mod.bindMutex);
  std::shared_ptr<SafetensorsFile> file = SafetensorsFile::open(weightsPath);
  const auto &tensors = file->tensors();
  bindTensors(mod, tensors, weightsPath, std::move(file));
}

void bindCallerTensors(blockc_module &mod, const blockc_named_tensor *tensors, size_t count,
                       void (*release)(void *), void *releaseContext) {
  // Held from the start, so that every way out (a bad tensor included) releases once.
  auto holder = std::make_shared<CallerRelease>(release, releaseContext);
  if (!tensors && count > 0)
    throw RtError(BLOCKC_ERROR_INVALID_ARGUMENT, "bind_tensors: tensors is null");
  const std::map<std::string, TensorEntry> entries = callerTensors(tensors, count);
  std::lock_guard<std::mutex> lock(mod.bindMutex);
  bindTensors(mod, entries, "the caller's tensors", std::move(holder));
}

} // namespace rt
} // namespace blockc
