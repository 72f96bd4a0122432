//===- Manifest.cpp - parse and validate the module manifest --------------===//

#include "blockc/ModuleFormat/Manifest.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Safetensors.h"
#include "ManifestFields.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace json = boost::json;

namespace blockc {
namespace rt {
namespace {

using namespace fields;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
/// The largest 'max_tokens': a sequence far beyond any model's position table.
constexpr int64_t kMaxTokens = int64_t(1) << 20;
/// The caller's tensors: the batch and 1 to 4 more dimensions.
constexpr size_t kMinIORank = 2, kMaxIORank = 5;

/// The element type a manifest's "dtype" names, if any.
std::optional<ElementType> elementTypeNamed(const std::string &name) {
  static const std::map<std::string, ElementType> kTypes = {
      {"F32", ElementType::F32}, {"I64", ElementType::I64}, {"I32", ElementType::I32},
      {"BF16", ElementType::BF16}, {"I8", ElementType::I8},   {"I16", ElementType::I16}};
  auto known = kTypes.find(name);
  return known == kTypes.end() ? std::nullopt : std::optional<ElementType>(known->second);
}

/// A caller's tensor's "shape": integers, and "S" (returned as -2) as the second entry of a
/// module with run-time tokens.
std::vector<int64_t> ioShape(const json::value &v, const std::string &where, int64_t maxTokens,
                             bool &perToken) {
  if (!v.is_array())
    bad(where, "must be an array of integers");
  json::array numbers = v.as_array();
  perToken = numbers.size() > 1 && numbers[1].is_string() && numbers[1].as_string() == "S";
  if (perToken) {
    if (!maxTokens)
      bad(where, "\"S\" (the run's sequence length) needs the module's 'max_tokens'");
    numbers[1] = 1;
  }
  std::vector<int64_t> shape = intArray(numbers, where, 1, true);
  if (perToken)
    shape[1] = -2;
  return shape;
}

/// "inputs" or "outputs": at least one {"name", "shape": [-1, d1, ...], "dtype": "F32"}; an
/// input may be "I64" or "I32" [-1, N] with a "bound" on its values.
/// `names` collects the names of both lists, which must be unique.
std::vector<TensorSpec> parseTensors(const json::object &root, const char *listName,
                                     std::set<std::string> &names, int64_t maxTokens) {
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
    t.shape = ioShape(need(o, where, "shape"), field(where, "shape"), maxTokens, t.perToken);
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
    if (o.contains("optional")) {
      const json::value &optional = o.at("optional");
      if (!optional.is_bool())
        bad(field(where, "optional"), "must be true or false");
      if (optional.get_bool() && (!isInput || t.dtype == ElementType::F32))
        bad(field(where, "optional"), "is only for an integer input (omitted: zeros)");
      t.optional = optional.get_bool();
    }
    std::vector<int64_t> sample(t.shape.begin() + (t.shape.empty() ? 0 : 1), t.shape.end());
    if (t.perToken)
      sample.erase(sample.begin());
    if (t.shape.size() < kMinIORank || t.shape.size() > kMaxIORank || t.shape[0] != -1 ||
        std::any_of(sample.begin(), sample.end(), [](int64_t d) { return d < 1 || d > kInt32Max; }))
      bad(field(where, "shape"), "must be [-1, d1, ...] (the batch, then 1 to " +
                                     std::to_string(kMaxIORank - 1) +
                                     " dimensions, each in [1, 2^31), the first of which may be "
                                     "\"S\" in a module with 'max_tokens'), not " +
                                     shapeToString(t.shape));
    t.elementsPerSample = product(sample, field(where, "shape"));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

/// A view's "shape" or "strides": integers (a negative shape entry -k, meaning k * B, only
/// where `batched`), and with run-time tokens (`tokens`) strings of factors joined by '*':
/// at most one positive integer, 'S', and in a batched shape 'B' ("B*S", "64*S"). Entries
/// with S set their bit in `tokensBits`.
std::vector<int64_t> viewEntries(const json::value &v, const std::string &where, bool isShape,
                                 bool batched, bool tokens, uint32_t &tokensBits) {
  if (!v.is_array())
    bad(where, "must be an array of integers");
  json::array numbers = v.as_array();
  if (numbers.size() > kMaxRank)
    bad(where, "has more than " + std::to_string(kMaxRank) + " entries");
  for (size_t d = 0; d < numbers.size(); ++d) {
    if (!numbers[d].is_string())
      continue;
    const std::string text(numbers[d].as_string());
    if (!tokens)
      bad(where, "entry \"" + text + "\" is not an integer (an entry with S needs the "
                 "module's 'max_tokens')");
    int64_t k = 0;
    bool hasB = false, hasS = false;
    size_t at = 0;
    while (at <= text.size()) {
      const size_t next = std::min(text.find('*', at), text.size());
      const std::string factor = text.substr(at, next - at);
      if (factor == "B" && !hasB && isShape && batched)
        hasB = true;
      else if (factor == "S" && !hasS)
        hasS = true;
      else if (!k && !factor.empty() && factor.size() <= 12 &&
               std::all_of(factor.begin(), factor.end(),
                           [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        k = std::stoll(factor);
      else
        bad(where, "entry \"" + text + "\" is not a product of a positive integer, S" +
                       (isShape && batched ? " and B" : "") + " (\"B*S\", \"64*S\")");
      at = next + 1;
    }
    if (!hasS)
      bad(where, "entry \"" + text + "\" has no S: write an integer");
    if (k == 0 && text.find_first_of("0123456789") != std::string::npos)
      bad(where, "entry \"" + text + "\" has a factor below 1");
    numbers[d] = hasB ? -std::max<int64_t>(k, 1) : std::max<int64_t>(k, 1);
    tokensBits |= uint32_t(1) << d;
  }
  return intArray(numbers, where, 1, isShape && batched);
}

/// An argument's offset, shape and strides (viewEntries), each within Halide's int32.
/// Returns the view's largest element index as a + b * B + c * B * S + d * S.
std::array<int64_t, 4> parseViewLayout(const json::object &o, const std::string &where,
                                       bool batched, bool tokens, ArgView &arg) {
  arg.offset = o.contains("offset") ? needInt(o, where, "offset", 0) : 0;
  arg.shape = viewEntries(need(o, where, "shape"), field(where, "shape"), true, batched, tokens,
                          arg.tokensShape);
  arg.strides = viewEntries(need(o, where, "strides"), field(where, "strides"), false, batched,
                            tokens, arg.tokensStrides);
  if (arg.strides.size() != arg.shape.size())
    bad(where, "shape " + shapeToString(arg.shape) + " and strides " +
                   shapeToString(arg.strides) + " differ in rank");
  if (arg.tokensShape & arg.tokensStrides)
    bad(where, "a dimension has both its extent and its stride times S");

  int64_t a = arg.offset, b = 0, c = 0, d = 0;
  for (size_t i = 0; i < arg.shape.size(); ++i) {
    const int64_t stride = arg.strides[i];
    const bool extentS = arg.tokensShape >> i & 1, strideS = arg.tokensStrides >> i & 1;
    if (stride > kInt32Max)
      bad(field(where, "strides"), "entry " + std::to_string(stride) + " exceeds Halide's int32");
    const int64_t k = arg.shape[i] < 0 ? -arg.shape[i] : arg.shape[i];
    if (k > kInt32Max)
      bad(field(where, "shape"), "entry " + std::to_string(arg.shape[i]) +
                                     " exceeds Halide's int32");
    // (extent - 1) * stride, with extent k, k*B, k*S or k*B*S and stride m or m*S.
    const int64_t km = k * stride; // < 2^31 * 2^31
    const bool hasB = arg.shape[i] < 0;
    (hasB ? (extentS || strideS ? c : b) : (extentS || strideS ? d : a)) += km;
    (strideS ? d : a) -= stride;
    if (a > kMaxValue * 4 || b > kMaxValue * 4 || c > kMaxValue * 4 || d > kMaxValue * 4)
      bad(where, "view is too large");
  }
  return {a, b, c, d};
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
  } else if (source == "tokens") {
    if (prepare || !m.maxTokens)
      bad(where, prepare ? "a prepare kernel has no run-time tokens"
                         : "the source 'tokens' needs the module's 'max_tokens'");
    arg.source = ArgSource::Tokens;
    return arg; // a scalar: no view
  } else {
    bad(field(where, "source"), "unknown source '" + source +
                                    "' (expected input, output, weight, constant, slot or "
                                    "tokens)");
  }

  const bool batched = arg.source == ArgSource::Input || arg.source == ArgSource::Output ||
                       arg.source == ArgSource::Slot;
  const auto [a, b, c, d] =
      parseViewLayout(o, where, batched && !prepare, m.maxTokens > 0 && !prepare, arg);
  // The view's largest element index is a + b*B + c*B*S + d*S; the storage holds
  // B * (e + f*S) elements (or a fixed count). For each S both are linear in B, and the
  // slopes and the values at B = 1 are linear in S: checking S = 1 and S = max covers all.
  for (const int64_t tokens : {int64_t(1), std::max<int64_t>(m.maxTokens, 1)}) {
    const int64_t c1 = storageElements(m, arg, {1, tokens});
    const int64_t slope = storageElements(m, arg, {2, tokens}) - c1;
    if (a + b + (c + d) * tokens >= c1 || b + c * tokens > slope)
      bad(where, "view (offset " + std::to_string(arg.offset) + ", shape " +
                     shapeToString(arg.shape) + ", strides " + shapeToString(arg.strides) +
                     ") goes past the end of its storage (" + std::to_string(c1) +
                     " elements" + (slope ? " per sample" : "") +
                     (m.maxTokens ? " at S = " + std::to_string(tokens) : "") + ")");
  }
  return arg;
}

/// "flops_per_sample" and, in a module with run-time tokens, "flops_per_token" and
/// "flops_per_token_pair" (each optional, default 0).
FlopCount parseFlops(const json::object &o, const std::string &where) {
  FlopCount flops;
  if (o.contains("flops_per_sample"))
    flops.perSample = needCount(o, where, "flops_per_sample");
  if (o.contains("flops_per_token"))
    flops.perToken = needCount(o, where, "flops_per_token");
  if (o.contains("flops_per_token_pair"))
    flops.perTokenPair = needCount(o, where, "flops_per_token_pair");
  return flops;
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
    k.flops = parseFlops(o, where);
    const json::array &args = needArray(o, where, "args");
    if (args.empty())
      bad(field(where, "args"), "is empty");
    for (size_t j = 0; j < args.size(); ++j) {
      ArgView arg = parseArg(args[j], where + ".args[" + std::to_string(j) + "]", m, weightIndex,
                             constantIndex, slotIndex, prepare);
      for (size_t d = 0; d < arg.shape.size(); ++d) {
        // Extents k * B; those with S, and strides with S, are checked per run.
        if (!(arg.tokensShape >> d & 1))
          m.maxBatchMultiple = std::max(m.maxBatchMultiple, -arg.shape[d]);
      }
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

int64_t storageElements(const Manifest &m, const ArgView &arg, RunShape run) {
  switch (arg.source) {
  case ArgSource::Input:
    return m.inputs[arg.index].elements(run);
  case ArgSource::Output:
    return m.outputs[arg.index].elements(run);
  case ArgSource::Weight:
    return m.weights[arg.index].elements;
  case ArgSource::Constant:
    return m.constants[arg.index].elements;
  case ArgSource::Slot:
    return m.slots[arg.index].elements(run);
  case ArgSource::Tokens:
    return 0;
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
  if (root.contains("precision")) {
    m.precision = needString(root, "", "precision");
    if (m.precision != "fp32" && m.precision != "bf16" && m.precision != "int8" &&
        m.precision != "mixed")
      bad("'precision'", "is '" + m.precision +
                             "' (expected \"fp32\", \"bf16\", \"int8\" or \"mixed\")");
  }
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
  if (!root.contains("flops_per_sample"))
    bad("", "field 'flops_per_sample' is missing");
  m.flops = parseFlops(root, "");
  if (root.contains("max_tokens"))
    m.maxTokens = needInt(root, "", "max_tokens", 1, kMaxTokens);
  std::set<std::string> ioNames;
  m.inputs = parseTensors(root, "inputs", ioNames, m.maxTokens);
  m.outputs = parseTensors(root, "outputs", ioNames, m.maxTokens);
  if (m.maxTokens && std::none_of(m.inputs.begin(), m.inputs.end(),
                                  [](const TensorSpec &t) { return t.perToken; }))
    bad("'max_tokens'", "is given, but no input has the run's sequence length S");
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
    if (o.contains("dtype")) {
      const std::string dtype = needString(o, where, "dtype");
      std::optional<ElementType> type = elementTypeNamed(dtype);
      if (!type || *type == ElementType::I64)
        bad(where + ".dtype",
            "is '" + dtype + "' (expected \"F32\", \"BF16\", \"I8\", \"I16\" or \"I32\")");
      c.dtype = *type;
    }
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
    s.elementsPerSample = needInt(o, where, "elements_per_sample", 0);
    if (o.contains("elements_per_token")) {
      if (!m.maxTokens)
        bad(field(where, "elements_per_token"), "needs the module's 'max_tokens'");
      s.elementsPerToken = needInt(o, where, "elements_per_token", 0);
    }
    if (s.elementsPerSample + s.elementsPerToken == 0)
      bad(where, "holds no elements ('elements_per_sample' and 'elements_per_token' are 0)");
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
  const bool runTimeTokens = root.contains("tokens");
  if (runTimeTokens)
    k.tokens = needInt(root, "", "tokens", 1, kMaxTokens);
  const json::array &args = needArray(root, "", "args");
  if (args.empty())
    bad("'args'", "is empty");
  for (size_t j = 0; j < args.size(); ++j) {
    const std::string where = "args[" + std::to_string(j) + "]";
    if (!args[j].is_object())
      bad(where, "must be an object");
    const json::object &o = args[j].as_object();
    ArgView arg;
    if (o.contains("source")) {
      if (needString(o, where, "source") != "tokens" || !runTimeTokens)
        bad(field(where, "source"), "only \"tokens\" (with the kernel's \"tokens\") is a source "
                                    "of a standalone kernel's argument");
      arg.source = ArgSource::Tokens;
      k.args.push_back(std::move(arg));
      continue;
    }
    const json::value *output = o.if_contains("output");
    if (output && !output->is_bool())
      bad(field(where, "output"), "must be true or false");
    arg.source = output && output->get_bool() ? ArgSource::Output : ArgSource::Input;
    parseViewLayout(o, where, /*batched=*/true, runTimeTokens, arg);
    if (o.contains("dtype")) {
      // Ids and masks (I64, I32), a narrower weight (BF16, I8, I16) and its group sums (I32).
      std::optional<ElementType> type = elementTypeNamed(needString(o, where, "dtype"));
      if (!type)
        bad(field(where, "dtype"),
            "must be \"F32\", \"I64\", \"I32\", \"BF16\", \"I8\" or \"I16\"");
      arg.elementType = *type;
    }
    if (o.contains("panels")) {
      // [out / P, in, P], or [out / P, in / G, P, G] for a weight in groups of G inputs.
      arg.panelWidth = needInt(o, where, "panels", 1);
      const size_t rank = arg.shape.size();
      if ((rank != 3 && rank != 4) || arg.shape[2] != arg.panelWidth || arg.shape[0] < 1)
        bad(field(where, "panels"),
            "is for a view [out / P, in, P] or [out / P, in / G, P, G] of width P");
    }
    k.args.push_back(std::move(arg));
  }
  return k;
}

} // namespace rt
} // namespace blockc

