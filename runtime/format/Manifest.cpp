//===- Manifest.cpp - parse and validate the module manifest --------------===//

#include "blockc/ModuleFormat/Manifest.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Safetensors.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace json = boost::json;

namespace blockc {
namespace rt {
namespace {

/// Values above this are rejected, so sums and products of a few stay in int64.
constexpr int64_t kMaxValue = int64_t(1) << 40;
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr size_t kMaxRank = 16;
/// The caller's tensors: the batch and 1 to 4 more dimensions.
constexpr size_t kMinIORank = 2, kMaxIORank = 5;

[[noreturn]] void bad(const std::string &where, const std::string &what) {
  fail(BLOCKC_ERROR_LOAD, "manifest: " + where + (where.empty() ? "" : ": ") + what);
}

std::string field(const std::string &where, const char *name) {
  return where.empty() ? std::string("'") + name + "'" : where + "." + name;
}

const json::value &need(const json::object &o, const std::string &where, const char *name) {
  const json::value *v = o.if_contains(name);
  if (!v)
    bad(where, std::string("field '") + name + "' is missing");
  return *v;
}

const json::array &needArray(const json::object &o, const std::string &where, const char *name) {
  const json::value &v = need(o, where, name);
  if (!v.is_array())
    bad(field(where, name), "must be an array");
  return v.as_array();
}

std::string needString(const json::object &o, const std::string &where, const char *name) {
  const json::value &v = need(o, where, name);
  if (!v.is_string())
    bad(field(where, name), "must be a string");
  return std::string(v.as_string());
}

double needCount(const json::object &o, const std::string &where, const char *name) {
  const json::value &v = need(o, where, name);
  if (!v.is_number())
    bad(field(where, name), "must be a number");
  const double x = v.to_number<double>();
  if (!std::isfinite(x) || x < 0)
    bad(field(where, name), "must be a non-negative finite number");
  return x;
}

bool toInt(const json::value &v, int64_t &out) {
  if (v.is_int64()) {
    out = v.get_int64();
    return true;
  }
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(kMaxValue)) {
    out = static_cast<int64_t>(v.get_uint64());
    return true;
  }
  return false;
}

int64_t needInt(const json::object &o, const std::string &where, const char *name, int64_t lo,
                int64_t hi = kMaxValue) {
  const json::value &v = need(o, where, name);
  int64_t n;
  if (!toInt(v, n))
    bad(field(where, name), "must be an integer");
  if (n < lo || n > hi)
    bad(field(where, name), "value " + std::to_string(n) + " is out of range [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return n;
}

std::vector<int64_t> intArray(const json::value &v, const std::string &where, int64_t lo,
                              bool allowNegative) {
  if (!v.is_array())
    bad(where, "must be an array of integers");
  if (v.as_array().size() > kMaxRank)
    bad(where, "has more than " + std::to_string(kMaxRank) + " entries");
  std::vector<int64_t> out;
  for (const json::value &e : v.as_array()) {
    int64_t n;
    if (!toInt(e, n))
      bad(where, "must be an array of integers");
    if (allowNegative && n < 0) {
      if (n < -kMaxValue)
        bad(where, "entry " + std::to_string(n) + " is out of range");
    } else if (n < lo || n > kMaxValue) {
      bad(where, "entry " + std::to_string(n) + " is out of range (at least " +
                     std::to_string(lo) + ")");
    }
    out.push_back(n);
  }
  return out;
}

int64_t product(const std::vector<int64_t> &shape, const std::string &where) {
  int64_t p = 1;
  for (int64_t d : shape) {
    if (d != 0 && p > kMaxValue / d)
      bad(where, "shape " + shapeToString(shape) + " is too large");
    p *= d;
  }
  return p;
}

/// Letters, digits and '_', not starting with a digit: a C identifier.
bool isIdentifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

/// "inputs" or "outputs": at least one {"name", "shape": [-1, d1, ...], "dtype": "F32"}; an
/// input may be "I64" or "I32" [-1, N] with a "bound" on its values.
/// `names` collects the names of both lists, which must be unique.
std::vector<TensorSpec> parseTensors(const json::object &root, const char *listName,
                                     std::set<std::string> &names) {
  const json::array &list = needArray(root, "", listName);
  if (list.empty())
    bad(std::string("'") + listName + "'", "must list at least one tensor");
  std::vector<TensorSpec> tensors;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = std::string(listName) + "[" + std::to_string(i) + "]";
    if (!list[i].is_object())
      bad(where, "must be an object");
    const json::object &o = list[i].as_object();
    TensorSpec t;
    t.name = needString(o, where, "name");
    if (!isIdentifier(t.name))
      bad(field(where, "name"), "'" + t.name + "' is not an identifier (letters, digits and "
                                               "'_', not starting with a digit)");
    where += " ('" + t.name + "')";
    if (!names.insert(t.name).second)
      bad(where, "the name is already used by another input or output");
    const std::string dtype = needString(o, where, "dtype");
    const bool isInput = std::string(listName) == "inputs";
    if (dtype == "I64" || dtype == "I32")
      t.dtype = dtype == "I64" ? ElementType::I64 : ElementType::I32;
    else if (dtype != "F32")
      bad(field(where, "dtype"), isInput ? "must be \"F32\", \"I64\" or \"I32\"" : "must be \"F32\"");
    if (!isInput && t.dtype != ElementType::F32)
      bad(field(where, "dtype"), "must be \"F32\"");
    t.shape = intArray(need(o, where, "shape"), field(where, "shape"), 1, true);
    if (t.dtype != ElementType::F32 && t.shape.size() != 2)
      bad(field(where, "shape"), "of an integer input must be [-1, N], not " + shapeToString(t.shape));
    if (o.contains("bound")) {
      if (t.dtype == ElementType::F32)
        bad(field(where, "bound"), "is given only for an integer input");
      const json::value &bound = o.at("bound");
      if (!bound.is_int64() || bound.as_int64() < 1)
        bad(field(where, "bound"), "must be a positive integer");
      t.bound = bound.as_int64();
    }
    const std::vector<int64_t> sample(t.shape.begin() + (t.shape.empty() ? 0 : 1), t.shape.end());
    if (t.shape.size() < kMinIORank || t.shape.size() > kMaxIORank || t.shape[0] != -1 ||
        std::any_of(sample.begin(), sample.end(), [](int64_t d) { return d < 1 || d > kInt32Max; }))
      bad(field(where, "shape"), "must be [-1, d1, ...] (the batch, then 1 to " +
                                     std::to_string(kMaxIORank - 1) +
                                     " dimensions, each in [1, 2^31)), not " +
                                     shapeToString(t.shape));
    t.elementsPerSample = product(sample, field(where, "shape"));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

/// An argument's offset, shape (a negative entry -k, meaning k * B, only where `batched`)
/// and strides, each within Halide's int32. Returns the view's largest element index as
/// a + b * B.
std::pair<int64_t, int64_t> parseViewLayout(const json::object &o, const std::string &where,
                                            bool batched, ArgView &arg) {
  arg.offset = o.contains("offset") ? needInt(o, where, "offset", 0) : 0;
  arg.shape = intArray(need(o, where, "shape"), field(where, "shape"), 1, batched);
  arg.strides = intArray(need(o, where, "strides"), field(where, "strides"), 1, false);
  if (arg.strides.size() != arg.shape.size())
    bad(where, "shape " + shapeToString(arg.shape) + " and strides " +
                   shapeToString(arg.strides) + " differ in rank");

  int64_t a = arg.offset, b = 0;
  for (size_t i = 0; i < arg.shape.size(); ++i) {
    const int64_t stride = arg.strides[i];
    if (stride > kInt32Max)
      bad(field(where, "strides"), "entry " + std::to_string(stride) + " exceeds Halide's int32");
    if (arg.shape[i] < 0) {
      const int64_t k = -arg.shape[i];
      if (k > kInt32Max)
        bad(field(where, "shape"), "entry " + std::to_string(arg.shape[i]) + " is too large");
      b += k * stride; // < 2^31 * 2^31
      a -= stride;
    } else {
      if (arg.shape[i] > kInt32Max)
        bad(field(where, "shape"), "entry " + std::to_string(arg.shape[i]) +
                                       " exceeds Halide's int32");
      a += (arg.shape[i] - 1) * stride;
    }
    if (a > kMaxValue * 4 || b > kMaxValue * 4)
      bad(where, "view is too large");
  }
  return {a, b};
}

ArgView parseArg(const json::value &v, const std::string &where, const Manifest &m,
                 const std::map<std::string, size_t> &weightIndex,
                 const std::map<int64_t, size_t> &constantIndex,
                 const std::map<int64_t, size_t> &slotIndex, bool prepare) {
  if (!v.is_object())
    bad(where, "must be an object");
  const json::object &o = v.as_object();
  ArgView arg;
  const std::string source = needString(o, where, "source");
  if (source == "input" || source == "output") {
    if (prepare)
      bad(where, "a prepare kernel cannot use the " + source);
    const bool isInput = source == "input";
    arg.source = isInput ? ArgSource::Input : ArgSource::Output;
    const std::vector<TensorSpec> &tensors = isInput ? m.inputs : m.outputs;
    const int64_t index = needInt(o, where, "index", 0);
    if (static_cast<size_t>(index) >= tensors.size())
      bad(field(where, "index"), source + " " + std::to_string(index) + " is not in '" +
                                     source + "s' (" + std::to_string(tensors.size()) +
                                     (tensors.size() == 1 ? " entry)" : " entries)"));
    arg.index = static_cast<size_t>(index);
  } else if (source == "weight") {
    arg.source = ArgSource::Weight;
    const std::string name = needString(o, where, "name");
    auto it = weightIndex.find(name);
    if (it == weightIndex.end())
      bad(where, "weight '" + name + "' is not in 'weights'");
    const WeightSpec &w = m.weights[it->second];
    if (w.dtype != "F32")
      bad(where, "weight '" + name + "' has dtype " + w.dtype + "; kernels take F32 only");
    if (!w.used)
      bad(where, "weight '" + name + "' is marked \"used\": false");
    arg.index = it->second;
  } else if (source == "constant" || source == "slot") {
    const bool isConstant = source == "constant";
    arg.source = isConstant ? ArgSource::Constant : ArgSource::Slot;
    const int64_t id = needInt(o, where, "id", 0);
    const auto &index = isConstant ? constantIndex : slotIndex;
    auto it = index.find(id);
    if (it == index.end())
      bad(where, source + " " + std::to_string(id) + " is not in '" +
                     (isConstant ? "constants" : "slots") + "'");
    arg.index = it->second;
  } else {
    bad(field(where, "source"), "unknown source '" + source +
                                    "' (expected input, output, weight, constant or slot)");
  }

  const bool batched = arg.source == ArgSource::Input || arg.source == ArgSource::Output ||
                       arg.source == ArgSource::Slot;
  const auto [a, b] = parseViewLayout(o, where, batched && !prepare, arg);
  // The view's largest element index is a + b*B; the storage holds c + d*B
  // elements. Both are linear in B, so checking B = 1 and the slopes covers every B.
  const int64_t c1 = storageElements(m, arg, 1);
  const int64_t c2 = storageElements(m, arg, 2);
  const int64_t d = c2 - c1;
  if (a + b >= c1 || b > d)
    bad(where, "view (offset " + std::to_string(arg.offset) + ", shape " +
                   shapeToString(arg.shape) + ", strides " + shapeToString(arg.strides) +
                   ") goes past the end of its storage (" + std::to_string(c1) +
                   " elements" + (d ? " per sample" : "") + ")");
  return arg;
}

/// A kernel's "function": a C identifier, the prefix of its <function>_argv entry point.
std::string needFunction(const json::object &o, const std::string &where) {
  std::string function = needString(o, where, "function");
  if (!isIdentifier(function))
    bad(field(where, "function"), "'" + function + "' is not a C identifier");
  return function;
}

std::vector<KernelSpec> parseKernels(const json::object &root, const char *listName, Manifest &m,
                                     const std::map<std::string, size_t> &weightIndex,
                                     const std::map<int64_t, size_t> &constantIndex,
                                     const std::map<int64_t, size_t> &slotIndex) {
  const bool prepare = std::string(listName) == "prepare";
  std::vector<KernelSpec> kernels;
  const json::array &list = needArray(root, "", listName);
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = std::string(listName) + "[" + std::to_string(i) + "]";
    if (!list[i].is_object())
      bad(where, "must be an object");
    const json::object &o = list[i].as_object();
    KernelSpec k;
    k.name = needString(o, where, "name");
    where += " ('" + k.name + "')";
    k.function = needFunction(o, where);
    if (o.contains("kind"))
      k.kind = needString(o, where, "kind");
    if (o.contains("ops"))
      for (const json::value &op : needArray(o, where, "ops")) {
        if (!op.is_string())
          bad(field(where, "ops"), "must be an array of strings");
        k.ops.emplace_back(op.as_string());
      }
    if (o.contains("flops_per_sample"))
      k.flopsPerSample = needCount(o, where, "flops_per_sample");
    const json::array &args = needArray(o, where, "args");
    if (args.empty())
      bad(field(where, "args"), "is empty");
    for (size_t j = 0; j < args.size(); ++j) {
      ArgView arg = parseArg(args[j], where + ".args[" + std::to_string(j) + "]", m, weightIndex,
                             constantIndex, slotIndex, prepare);
      for (int64_t s : arg.shape)
        if (s < 0 && -s > m.maxBatchMultiple)
          m.maxBatchMultiple = -s;
      k.args.push_back(std::move(arg));
    }
    kernels.push_back(std::move(k));
  }
  return kernels;
}

json::value parseDocument(const std::string &text) {
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec)
    fail(BLOCKC_ERROR_LOAD, "manifest is not valid JSON: " + ec.message());
  if (!doc.is_object())
    bad("", "the document is not a JSON object");
  return doc;
}

} // namespace

int64_t storageElements(const Manifest &m, const ArgView &arg, int64_t batch) {
  switch (arg.source) {
  case ArgSource::Input:
    return m.inputs[arg.index].elementsPerSample * batch;
  case ArgSource::Output:
    return m.outputs[arg.index].elementsPerSample * batch;
  case ArgSource::Weight:
    return m.weights[arg.index].elements;
  case ArgSource::Constant:
    return m.constants[arg.index].elements;
  case ArgSource::Slot:
    return m.slots[arg.index].elementsPerSample * batch;
  }
  return 0;
}

Manifest parseManifest(const std::string &text) {
  const json::value doc = parseDocument(text);
  const json::object &root = doc.as_object();

  Manifest m;
  m.abiVersion = needInt(root, "", "abi_version", std::numeric_limits<int32_t>::min(),
                         std::numeric_limits<int32_t>::max());
  if (m.abiVersion != BLOCKC_RUNTIME_ABI_VERSION)
    bad("'abi_version'", "is " + std::to_string(m.abiVersion) + ", this runtime reads version " +
                             std::to_string(BLOCKC_RUNTIME_ABI_VERSION));
  m.block = needString(root, "", "block");
  if (root.contains("spec_hash"))
    m.specHash = needString(root, "", "spec_hash");
  m.target = needString(root, "", "target");
  m.arch = needString(root, "", "arch");
  if (root.contains("device")) {
    m.device = needString(root, "", "device");
    if (m.device != "cuda")
      bad("'device'", "unknown device '" + m.device + "' (expected \"cuda\", or no 'device' "
                      "for a CPU module)");
  }
  for (const json::value &f : needArray(root, "", "cpu_features")) {
    if (!f.is_string())
      bad("'cpu_features'", "must be an array of strings");
    m.cpuFeatures.emplace_back(f.as_string());
  }
  m.flopsPerSample = needCount(root, "", "flops_per_sample");
  std::set<std::string> ioNames;
  m.inputs = parseTensors(root, "inputs", ioNames);
  m.outputs = parseTensors(root, "outputs", ioNames);
  if (root.contains("tokens") || root.contains("dim")) {
    m.tokens = needInt(root, "", "tokens", 1, kInt32Max);
    m.dim = needInt(root, "", "dim", 1, kInt32Max);
    const std::vector<int64_t> blockInput{-1, m.tokens, m.dim};
    if (m.inputs.size() != 1 || m.outputs.size() != 1 || m.inputs[0].shape != blockInput ||
        m.outputs[0].shape.size() != 3)
      bad("'tokens', 'dim'", "are only for a block module, whose one input is [-1, tokens, "
                             "dim] = " + shapeToString(blockInput) +
                             " and one output [-1, T, D]");
  }
  std::map<std::string, size_t> weightIndex;
  const json::array &weights = needArray(root, "", "weights");
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::string where = "weights[" + std::to_string(i) + "]";
    if (!weights[i].is_object())
      bad(where, "must be an object");
    const json::object &o = weights[i].as_object();
    WeightSpec w;
    w.name = needString(o, where, "name");
    if (w.name.empty())
      bad(field(where, "name"), "is empty");
    w.shape = intArray(need(o, where, "shape"), where + ".shape", 0, false);
    w.dtype = needString(o, where, "dtype");
    if (dtypeSize(w.dtype) == 0)
      bad(field(where, "dtype"), "unknown dtype '" + w.dtype + "'");
    if (o.contains("used")) {
      const json::value &u = o.at("used");
      if (!u.is_bool())
        bad(field(where, "used"), "must be true or false");
      w.used = u.get_bool();
    }
    w.elements = product(w.shape, where);
    if (!weightIndex.emplace(w.name, m.weights.size()).second)
      bad(where, "weight '" + w.name + "' is listed twice");
    m.weights.push_back(std::move(w));
  }

  if (root.contains("ignored")) {
    const json::array &ignored = needArray(root, "", "ignored");
    for (size_t i = 0; i < ignored.size(); ++i) {
      const std::string where = "ignored[" + std::to_string(i) + "]";
      if (!ignored[i].is_string() || ignored[i].as_string().empty())
        bad(where, "must be a non-empty string (a state-dict name or prefix)");
      m.ignoredPrefixes.emplace_back(ignored[i].as_string());
    }
  }

  std::map<int64_t, size_t> constantIndex;
  const json::array &constants = needArray(root, "", "constants");
  for (size_t i = 0; i < constants.size(); ++i) {
    const std::string where = "constants[" + std::to_string(i) + "]";
    if (!constants[i].is_object())
      bad(where, "must be an object");
    const json::object &o = constants[i].as_object();
    ConstantSpec c;
    c.id = needInt(o, where, "id", 0);
    c.shape = intArray(need(o, where, "shape"), where + ".shape", 1, false);
    c.elements = product(c.shape, where);
    if (!constantIndex.emplace(c.id, m.constants.size()).second)
      bad(where, "constant id " + std::to_string(c.id) + " is listed twice");
    m.constants.push_back(std::move(c));
  }

  std::map<int64_t, size_t> slotIndex;
  const json::array &slots = needArray(root, "", "slots");
  for (size_t i = 0; i < slots.size(); ++i) {
    const std::string where = "slots[" + std::to_string(i) + "]";
    if (!slots[i].is_object())
      bad(where, "must be an object");
    const json::object &o = slots[i].as_object();
    SlotSpec s;
    s.id = needInt(o, where, "id", 0);
    s.elementsPerSample = needInt(o, where, "elements_per_sample", 1);
    if (!slotIndex.emplace(s.id, m.slots.size()).second)
      bad(where, "slot id " + std::to_string(s.id) + " is listed twice");
    m.slots.push_back(s);
  }

  m.prepare = parseKernels(root, "prepare", m, weightIndex, constantIndex, slotIndex);
  m.run = parseKernels(root, "run", m, weightIndex, constantIndex, slotIndex);
  if (m.run.empty())
    bad("'run'", "has no kernels");
  return m;
}

KernelSpec parseStandaloneKernel(const std::string &text) {
  const json::value doc = parseDocument(text);
  const json::object &root = doc.as_object();
  KernelSpec k;
  k.name = needString(root, "", "kernel");
  k.function = needFunction(root, "");
  const json::array &args = needArray(root, "", "args");
  if (args.empty())
    bad("'args'", "is empty");
  for (size_t j = 0; j < args.size(); ++j) {
    const std::string where = "args[" + std::to_string(j) + "]";
    if (!args[j].is_object())
      bad(where, "must be an object");
    const json::object &o = args[j].as_object();
    ArgView arg;
    const json::value *output = o.if_contains("output");
    if (output && !output->is_bool())
      bad(field(where, "output"), "must be true or false");
    arg.source = output && output->get_bool() ? ArgSource::Output : ArgSource::Input;
    parseViewLayout(o, where, /*batched=*/true, arg);
    k.args.push_back(std::move(arg));
  }
  return k;
}

} // namespace rt
} // namespace blockc

