//===- RunTensors.cpp - the caller's tensors of a run ---------------------===//
//
// Matches the DLTensors of blockc_module_run_named (and the pointers of blockc_module_run,
// _run_device and _run_profiled) to the module's inputs and outputs by name, and checks
// each against the manifest before any kernel sees it: a mistake is an error naming the
// tensor, never a kernel reading or writing outside the caller's memory.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/ModuleFormat/Error.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace blockc {
namespace rt {

std::vector<int64_t> compactStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t next = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = next;
    next *= shape[d];
  }
  return strides;
}

bool hasCompactStrides(const DLTensor &t) {
  if (!t.strides)
    return true;
  const std::vector<int64_t> compact = compactStrides(std::vector<int64_t>(t.shape, t.shape + t.ndim));
  // A dimension of extent 1 is never stepped over: frameworks give it any stride.
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] != 1 && t.strides[d] != compact[static_cast<size_t>(d)])
      return false;
  return true;
}
namespace {

std::string namesOf(const std::vector<TensorSpec> &tensors) {
  std::vector<std::string> names;
  for (const TensorSpec &t : tensors)
    names.push_back(t.name);
  return joinNames(names);
}

/// The manifest's shape with B for the batch and S for run-time tokens: "[B, 3, 224, 224]",
/// "[B, S, 384]".
std::string withBatch(const TensorSpec &t) {
  std::string s = "[B";
  for (size_t i = 1; i < t.shape.size(); ++i)
    s += ", " + (t.shape[i] == -2 ? std::string("S") : std::to_string(t.shape[i]));
  return s + "]";
}

/// Where one checked tensor's bytes are.
struct Extent {
  uintptr_t begin = 0, end = 0;
  bool onHost = true;
  std::string who; // "input 'x'"
};

class TensorChecker {
public:
  TensorChecker(const blockc_module &mod, const char *what) : mod(mod), what(what) {}

  [[noreturn]] void error(const std::string &message) const {
    fail(BLOCKC_ERROR_INVALID_ARGUMENT, what + ": " + message);
  }

  /// The given tensor of each manifest input (or output), matched by name.
  std::vector<const DLTensor *> match(const blockc_named_tensor *given, size_t count,
                                      bool isInput) const {
    const Manifest &m = mod.manifest;
    const std::vector<TensorSpec> &specs = isInput ? m.inputs : m.outputs;
    const std::string kind = isInput ? "input" : "output";
    if (count && !given)
      error(kind + "s is null, with num_" + kind + "s " + std::to_string(count));
    std::vector<const DLTensor *> found(specs.size(), nullptr);
    for (size_t i = 0; i < count; ++i) {
      if (!given[i].name)
        error(kind + "s[" + std::to_string(i) + "]: the name is null");
      const std::string name = given[i].name;
      auto named = [&](const TensorSpec &t) { return t.name == name; };
      auto it = std::find_if(specs.begin(), specs.end(), named);
      if (it == specs.end()) {
        const std::vector<TensorSpec> &others = isInput ? m.outputs : m.inputs;
        const bool other = std::any_of(others.begin(), others.end(), named);
        error(kind + " '" + name + "' is not an " + kind + " of the module" +
              (other ? std::string(" (it is one of its ") + (isInput ? "outputs" : "inputs") + ")"
                     : std::string()) +
              "; its inputs: " + namesOf(m.inputs) + "; its outputs: " + namesOf(m.outputs));
      }
      const size_t k = static_cast<size_t>(it - specs.begin());
      if (found[k])
        error(kind + " '" + name + "' is given twice");
      found[k] = &given[i].tensor;
    }
    for (size_t k = 0; k < specs.size(); ++k)
      if (!found[k] && !specs[k].optional)
        error(kind + " '" + specs[k].name + "' is missing (the module's " + kind +
              "s: " + namesOf(specs) + ")");
    return found;
  }

  /// The batch (and sequence length) of the tensors checked so far.
  RunShape runShape() const {
    if (mod.manifest.maxTokens && tokensFrom.empty())
      error("no tensor given has the sequence length S (shape[1]); give one of the inputs "
            "that have it");
    return {batch, tokens};
  }

  /// Checks `t` as the module's `spec`; the first tensor checked sets the batch.
  Extent check(const DLTensor &t, const TensorSpec &spec, const char *kind) {
    Extent e;
    e.who = std::string(kind) + " '" + spec.name + "'";
    auto fault = [&](const std::string &message) { error(e.who + ": " + message); };
    const uint8_t code = spec.dtype == ElementType::F32 ? kDLFloat : kDLInt;
    const size_t elementBytes = spec.elementBytes();
    if (t.dtype.code != code || t.dtype.bits != elementBytes * 8 || t.dtype.lanes != 1)
      fault(std::string("dtype must be ") + spec.dtypeName() + " (" +
            (code == kDLFloat ? "kDLFloat" : "kDLInt") + ", " + std::to_string(elementBytes * 8) +
            " bits, 1 lane), not code " + std::to_string(t.dtype.code) + ", " +
            std::to_string(t.dtype.bits) + " bits, " + std::to_string(t.dtype.lanes) + " lanes");
    checkDevice(t.device, e, fault);
    if (t.ndim < 0 || static_cast<size_t>(t.ndim) != spec.shape.size())
      fault("ndim is " + std::to_string(t.ndim) + "; the module's " + kind + " is " +
            withBatch(spec));
    if (!t.shape)
      fault("shape is null");
    const std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
    if (shape[0] < 1)
      fault("batch must be >= 1, got " + std::to_string(shape[0]) + " (its shape[0])");
    if (spec.perToken && (shape[1] < 1 || shape[1] > mod.manifest.maxTokens))
      fault("shape " + shapeToString(shape) + ": its sequence length " +
            std::to_string(shape[1]) + " (shape[1]) is outside [1, " +
            std::to_string(mod.manifest.maxTokens) + "], the lengths the module takes");
    if (!std::equal(shape.begin() + (spec.perToken ? 2 : 1), shape.end(),
                    spec.shape.begin() + (spec.perToken ? 2 : 1)))
      fault("shape " + shapeToString(shape) + " does not match the module's " + kind + " " +
            withBatch(spec));
    setBatch(shape[0], e.who);
    if (spec.perToken)
      setTokens(shape[1], e.who);
    if (!hasCompactStrides(t))
      fault("strides " + shapeToString(std::vector<int64_t>(t.strides, t.strides + t.ndim)) +
            " are not those of a compact row-major array (" +
            shapeToString(compactStrides(shape)) + ", or NULL)");
    if (!t.data)
      fault("data is null");
    uint64_t bytes;
    const int64_t samples = batch * (spec.perToken ? tokens : 1); // < 2^31 * 2^20
    if (__builtin_mul_overflow(static_cast<uint64_t>(spec.elementsPerSample),
                               static_cast<uint64_t>(samples) * elementBytes, &bytes) ||
        __builtin_add_overflow(reinterpret_cast<uintptr_t>(t.data), t.byte_offset, &e.begin) ||
        __builtin_add_overflow(e.begin, bytes, &e.end))
      fault("data + byte_offset + its " + std::to_string(spec.elementsPerSample) + " * " +
            std::to_string(samples) + " elements go past the end of the address space");
    if (e.begin % elementBytes)
      fault("data + byte_offset is not " + std::to_string(elementBytes) + "-byte aligned");
    if (!e.onHost)
      cuda::checkDevicePointer(reinterpret_cast<const void *>(e.begin), what + ": " + e.who);
    else if (spec.bound)
      checkValues(e, spec);
    return e;
  }

  /// An integer input on the host: every value in [0, bound), or an error naming the
  /// first that is not by its sample and position. (On the GPU the kernels clamp ids to
  /// the table instead.)
  void checkValues(const Extent &e, const TensorSpec &spec) const {
    const int64_t n = spec.perToken ? tokens : spec.shape[1], count = spec.elements(runShape());
    for (int64_t i = 0; i < count; ++i) {
      int64_t value;
      if (spec.dtype == ElementType::I64)
        std::memcpy(&value, reinterpret_cast<const void *>(e.begin + 8 * i), 8);
      else {
        int32_t v32;
        std::memcpy(&v32, reinterpret_cast<const void *>(e.begin + 4 * i), 4);
        value = v32;
      }
      if (value < 0 || value >= spec.bound)
        error(e.who + ": " + std::to_string(value) + " at sample " + std::to_string(i / n) +
              ", position " + std::to_string(i % n) + " is outside [0, " +
              std::to_string(spec.bound) + ")" +
              (spec.bound == 2 ? " (a mask is 1 for a token, 0 for padding)"
                               : " (the rows of the embedding table it indexes)"));
    }
  }

private:
  /// Host memory (kDLCPU) on any module; device memory of the module's GPU on a CUDA module.
  template <class Fault> void checkDevice(const DLDevice &device, Extent &e, Fault fault) const {
    const std::string given = "device type " + std::to_string(device.device_type) + ", id " +
                              std::to_string(device.device_id);
    if (device.device_type == kDLCPU) {
      if (device.device_id != 0)
        fault("a kDLCPU tensor has device id 0, not " + std::to_string(device.device_id));
      return;
    }
    if (!mod.cuda)
      fault("must be host memory (kDLCPU) for this CPU module, not " + given);
    const int ordinal = cuda::device().ordinal;
    if (device.device_type != kDLCUDA || device.device_id != ordinal)
      fault("must be on the module's GPU (kDLCUDA, id " + std::to_string(ordinal) +
            ": BLOCKC_CUDA_DEVICE) or host memory (kDLCPU), not " + given);
    e.onHost = false;
  }

  void setBatch(int64_t b, const std::string &who) {
    if (!batchFrom.empty()) {
      if (b != batch)
        error(who + ": batch " + std::to_string(b) + " differs from batch " +
              std::to_string(batch) + " of " + batchFrom);
      return;
    }
    const int64_t multiple = mod.manifest.maxBatchMultiple;
    if (b > std::numeric_limits<int32_t>::max() / multiple)
      error(who + ": batch " + std::to_string(b) + " is too large (a kernel extent of " +
            std::to_string(multiple) + " * B must fit in int32)");
    batch = b;
    batchFrom = who;
  }

  /// The run's sequence length S, from the first tensor that has it (after its batch).
  void setTokens(int64_t s, const std::string &who) {
    if (!tokensFrom.empty()) {
      if (s != tokens)
        error(who + ": sequence length " + std::to_string(s) + " (shape[1]) differs from " +
              std::to_string(tokens) + " of " + tokensFrom);
      return;
    }
    // Every extent and stride with S must fit Halide's int32 (s <= 2^20, B < 2^31).
    for (const KernelSpec &k : mod.manifest.run)
      for (const ArgView &a : k.args)
        for (size_t d = 0; d < a.shape.size(); ++d)
          if (a.extent(d, {batch, s}) > std::numeric_limits<int32_t>::max() ||
              a.stride(d, {batch, s}) > std::numeric_limits<int32_t>::max())
            error(who + ": batch " + std::to_string(batch) + " of " + std::to_string(s) +
                  " tokens is too large (kernel '" + k.name + "' would index past int32)");
    tokens = s;
    tokensFrom = who;
  }

  const blockc_module &mod;
  const std::string what;
  int64_t batch = 0, tokens = 1;
  std::string batchFrom, tokensFrom; // who set them
};

DLTensor contiguous(const void *data, DLDeviceType device, std::vector<int64_t> &shape) {
  DLTensor t = DLTensor();
  t.data = const_cast<void *>(data);
  t.device.device_type = device;
  t.device.device_id = device == kDLCUDA ? cuda::device().ordinal : 0;
  t.ndim = static_cast<int>(shape.size());
  t.dtype.code = kDLFloat;
  t.dtype.bits = 32;
  t.dtype.lanes = 1;
  t.shape = shape.data();
  return t;
}

} // namespace

RunTensors checkNamedTensors(const blockc_module &mod, const char *what,
                             const blockc_named_tensor *inputs, size_t numInputs,
                             const blockc_named_tensor *outputs, size_t numOutputs) {
  const Manifest &m = mod.manifest;
  TensorChecker checker(mod, what);
  const std::vector<const DLTensor *> in = checker.match(inputs, numInputs, true);
  const std::vector<const DLTensor *> out = checker.match(outputs, numOutputs, false);
  RunTensors r;
  std::vector<Extent> extents;
  for (size_t k = 0; k < in.size(); ++k) {
    if (!in[k]) { // an optional input the caller omitted: zeros, below
      r.inputs.push_back(0);
      r.inputOnHost.push_back(true);
      continue;
    }
    extents.push_back(checker.check(*in[k], m.inputs[k], "input"));
    r.inputs.push_back(extents.back().begin);
    r.inputOnHost.push_back(extents.back().onHost);
  }
  for (size_t k = 0; k < out.size(); ++k) {
    const Extent e = checker.check(*out[k], m.outputs[k], "output");
    // Inputs may share memory (they are only read); an output overlaps nothing.
    for (const Extent &x : extents)
      if (x.onHost == e.onHost && e.begin < x.end && x.begin < e.end)
        checker.error(e.who + " overlaps " + x.who);
    extents.push_back(e);
    r.outputs.push_back(e.begin);
    r.outputOnHost.push_back(e.onHost);
  }
  r.shape = checker.runShape();
  for (size_t k = 0; k < in.size(); ++k)
    if (!in[k]) {
      const size_t bytes = static_cast<size_t>(m.inputs[k].elements(r.shape)) *
                           m.inputs[k].elementBytes();
      r.zeros.emplace_back((bytes + sizeof(uint64_t) - 1) / sizeof(uint64_t), 0);
      r.inputs[k] = reinterpret_cast<uintptr_t>(r.zeros.back().data());
    }
  return r;
}

RunTensors checkSingleTensors(const blockc_module &mod, const char *what, const void *input,
                              int64_t batch, const void *output, DLDeviceType device) {
  const Manifest &m = mod.manifest;
  if (m.inputs.size() != 1 || m.outputs.size() != 1)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         std::string(what) + ": the module has inputs " + namesOf(m.inputs) + " and outputs " +
             namesOf(m.outputs) + "; this call takes a module with one input and one output: "
             "use blockc_module_run_named");
  if (m.maxTokens)
    fail(BLOCKC_ERROR_INVALID_ARGUMENT,
         std::string(what) + ": the module's sequence length is chosen per run (up to " +
             std::to_string(m.maxTokens) + " tokens); this call has no way to say it: use "
             "blockc_module_run_named");
  std::vector<int64_t> inShape = m.inputs[0].shape, outShape = m.outputs[0].shape;
  inShape[0] = outShape[0] = batch;
  const blockc_named_tensor in{m.inputs[0].name.c_str(), contiguous(input, device, inShape)};
  const blockc_named_tensor out{m.outputs[0].name.c_str(), contiguous(output, device, outShape)};
  return checkNamedTensors(mod, what, &in, 1, &out, 1);
}

} // namespace rt
} // namespace blockc
