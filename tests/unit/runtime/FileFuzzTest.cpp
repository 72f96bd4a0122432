//===- FileFuzzTest.cpp - corrupt weight, .npy and manifest files ---------===//
//
// A valid .safetensors file, .npy file and manifest, cut at every offset and corrupted
// with fixed seeds: bytes flipped, the header length changed, JSON values replaced by
// huge, negative, overlapping, mistyped, non-UTF-8 or deeply nested ones. Each reader
// must either reject the file with its error type and a message, or accept it and then
// mean what the file says (views in bounds, tensors where their offsets point, results
// computed from the file's weights); never crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"
#include "TestUtil.h"

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Manifest.h"
#include "blockc/ModuleFormat/Safetensors.h"
#include "blockc/Npy.h"
#include "blockc/runtime.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

using namespace blockc_test;
using blockc::rt::RtError;
namespace fuzz = blockc::fuzz;
namespace json = boost::json;

namespace {

constexpr uint32_t kSeed = 20240613;
constexpr uint32_t kCases = 3000;
/// Failing cases reported per test before it stops, to keep the output readable.
constexpr int kMaxReported = 10;

const std::string kJsonAlphabet = "{}[]\",:-.0123456789eE \\";
const std::string kNpyAlphabet = "{}()'\",:<>|f4L0123456789 TrueFals";

/// Keys of the safetensors header and the manifest, to add where they do not belong.
const std::vector<std::string> kKeys = {
    "dtype", "shape", "data_offsets", "__metadata__", "name", "source", "id", "offset",
    "strides", "used", "device", "ops", "args", "tokens", "dim", "inputs", "outputs", "index",
    "weights", "slots", "run", "prepare", "scale", "bias", "counter", "elements_per_sample",
    "flops_per_sample"};

/// A value to put in place of `old`: a number out of range or at a limit, one of
/// another type, a string that is nearly right, not UTF-8 or huge, or `old` nested deeper
/// than the JSON parsers allow.
json::value strangeValue(fuzz::Random &random, const json::value &old) {
  static const std::vector<int64_t> ints = {
      0, -1, 1, 2, 3, 4, 7, 8, 9, 16, 32, 64, 65, INT32_MAX, int64_t(1) << 31,
      int64_t(1) << 40, (int64_t(1) << 40) + 1, int64_t(1) << 53, INT64_MAX, INT64_MIN};
  static const std::vector<double> doubles = {0.5, -0.0, 8.0, 1e308, -1.5};
  static const std::vector<std::string> strings = {
      "", "F32", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "f32", "F32 ", "F128", "input",
      "output", "weight", "slot", "constant", "scale", "bias", "nbt", "w", "x", "y", "cuda",
      "\xff\xfe",
      std::string("a\0b", 3), std::string(1 << 12, 'x')};
  switch (random.below(8)) {
  case 0:
    return random.pick(ints);
  case 1:
    return random.oneIn(2) ? UINT64_MAX : uint64_t(1) << 63;
  case 2:
    return random.pick(doubles);
  case 3:
    return json::string(random.pick(strings));
  case 4:
    return random.oneIn(3) ? json::value(nullptr) : json::value(random.oneIn(2));
  case 5:
    return random.oneIn(2) ? json::value(json::array()) : json::value(json::object());
  case 6: {
    json::value nested = old;
    for (size_t depth = 1 + random.below(40); depth; --depth)
      nested = json::array{nested};
    return nested;
  }
  default: // a near miss: one off, doubled or negated
    if (!old.is_int64())
      return random.pick(ints);
    const uint64_t n = static_cast<uint64_t>(old.get_int64()); // wraps, as JSON may
    const uint64_t near[] = {n - 1, n + 1, n * 2, 0 - n};
    return static_cast<int64_t>(near[random.below(4)]);
  }
}

void collectValues(json::value &value, std::vector<json::value *> &values) {
  values.push_back(&value);
  if (value.is_object())
    for (auto &entry : value.as_object())
      collectValues(entry.value(), values);
  else if (value.is_array())
    for (json::value &element : value.as_array())
      collectValues(element, values);
}

/// One random structural edit of `doc`: a value replaced, a key removed or added, an
/// array element removed, duplicated or added.
void mutateJson(fuzz::Random &random, json::value &doc) {
  std::vector<json::value *> values;
  collectValues(doc, values);
  json::value &value = *random.pick(values);
  if (value.is_object() && random.oneIn(2)) {
    json::object &object = value.as_object();
    if (!object.empty() && random.oneIn(2))
      object.erase(std::next(object.begin(), random.below(object.size())));
    else
      object[random.pick(kKeys)] = strangeValue(random, json::value());
  } else if (value.is_array() && random.oneIn(2)) {
    json::array &array = value.as_array();
    const size_t at = random.below(array.size() + 1);
    if (at < array.size() && random.oneIn(2)) {
      array.erase(array.begin() + at);
    } else if (at < array.size()) {
      json::value copy = array[at];
      array.push_back(std::move(copy));
    } else {
      array.push_back(strangeValue(random, json::value()));
    }
  } else {
    value = strangeValue(random, value);
  }
}

/// 1 to 4 random edits of JSON text: bytes, or a run of brackets deeper than any parser
/// should follow.
void mutateJsonText(fuzz::Random &random, std::string &text) {
  for (size_t edits = 1 + random.below(4); edits; --edits) {
    if (random.oneIn(10))
      text.insert(random.below(text.size() + 1), std::string(1 << 16, '['));
    else
      fuzz::mutateBytes(random, text, kJsonAlphabet);
  }
}

/// Integers wide enough for any product of a few int64 values (__int128, a GCC and Clang
/// extension), saturating at kHuge.
using Wide = __int128;
constexpr Wide kHuge = Wide(1) << 120;

Wide times(Wide a, Wide b) {
  Wide product;
  return __builtin_mul_overflow(a, b, &product) || product > kHuge ? kHuge : product;
}

Wide elementsOf(const std::vector<int64_t> &shape) {
  Wide n = 1;
  for (int64_t d : shape)
    n = times(n, d);
  return n;
}

/// One sample of an input or output: its shape without the leading -1 (the batch).
Wide sampleElements(const std::vector<int64_t> &shape) {
  return elementsOf(std::vector<int64_t>(shape.begin() + 1, shape.end()));
}

uint64_t readLe64(const std::string &bytes) {
  uint64_t n = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return n;
}

/// Runs `check` on kCases corruptions `corrupt(random)`, each from its own seed; reports
/// the seed and `describe(input)` of each failing case.
template <typename Corrupt, typename Check, typename Describe>
void fuzzCases(Corrupt corrupt, Check check, Describe describe) {
  int reported = 0;
  for (uint32_t i = 0; i < kCases && reported < kMaxReported; ++i) {
    const uint32_t seed = kSeed + i;
    fuzz::Random random(seed);
    const std::string input = corrupt(random);
    std::string problem;
    try {
      problem = check(input);
    } catch (const std::exception &e) {
      problem = std::string("threw an unexpected exception: ") + e.what();
    }
    if (!problem.empty()) {
      ADD_FAILURE() << problem << "\nfor the input of seed " << seed << ":\n" << describe(input);
      ++reported;
    }
  }
}

/// What is wrong with an error (empty if nothing): it must have the `expected` status
/// and a message starting with `prefix` that says more.
std::string errorProblem(const std::string &message, blockc_status status,
                         blockc_status expected, const std::string &prefix) {
  if (status != expected)
    return "status " + std::string(blockc_status_name(status)) + ", expected " +
           blockc_status_name(expected) + ": " + message;
  if (message.rfind(prefix, 0) != 0 || message.size() <= prefix.size())
    return "the message does not start with '" + prefix + "' and say why: " + message;
  return "";
}

/// The header text and the first data bytes of a .safetensors file, escaped.
std::string describeSafetensors(const std::string &bytes) {
  std::string text = bytes.substr(0, 8 + std::min<uint64_t>(readLe64(bytes), 4096) + 64);
  return "header length " + std::to_string(readLe64(bytes)) + ", " +
         std::to_string(bytes.size()) + " bytes: " + json::serialize(json::string(text));
}

std::string describeText(const std::string &text) {
  return json::serialize(json::string(text.substr(0, 1 << 14)));
}

//===----------------------------------------------------------------------===//
// .safetensors
//===----------------------------------------------------------------------===//

class SafetensorsFuzz : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    valid = safetensorsFile(fixtureWeights(), 0, "{\"format\": \"pt\"}");
  }

  /// A corruption of `valid`: its bytes, its header's JSON (text or values), or its
  /// header length.
  std::string corrupt(fuzz::Random &random) const {
    const uint64_t headerLength = readLe64(valid);
    std::string header = valid.substr(8, headerLength), data = valid.substr(8 + headerLength);
    switch (random.below(4)) {
    case 0: {
      std::string bytes = valid;
      for (size_t edits = 1 + random.below(4); edits; --edits)
        fuzz::mutateBytes(random, bytes, kJsonAlphabet);
      return bytes;
    }
    case 1: {
      json::value doc = json::parse(header);
      for (size_t edits = 1 + random.below(3); edits; --edits)
        mutateJson(random, doc);
      header = json::serialize(doc);
      break;
    }
    case 2:
      mutateJsonText(random, header);
      break;
    default: {
      const std::vector<uint64_t> lengths = {
          0, 1, headerLength - 1, headerLength + 1, valid.size() - 8, valid.size() - 7,
          uint64_t(1) << 32, uint64_t(1) << 63, UINT64_MAX};
      return le64(random.pick(lengths)) + header + data;
    }
    }
    if (random.oneIn(4))
      fuzz::mutateBytes(random, data, "");
    return le64(header.size()) + header + data;
  }

  /// What is wrong with how the reader and a module take `bytes` (empty if nothing).
  std::string check(const std::string &bytes) const {
    const std::string p = writeFile("fuzz.safetensors", bytes);
    std::string problem = checkOpen(p, bytes);
    return problem.empty() ? checkBind(p) : problem;
  }

  /// Opening must fail with a weights error naming the file, or give tensors that lie in
  /// the data section where their offsets say, sized by their shape and dtype, apart.
  std::string checkOpen(const std::string &p, const std::string &bytes) const {
    std::unique_ptr<blockc::rt::SafetensorsFile> file;
    try {
      file = blockc::rt::SafetensorsFile::open(p);
    } catch (const RtError &e) {
      return errorProblem(e.what(), e.status(), BLOCKC_ERROR_WEIGHTS, p + ": ");
    }
    const uint64_t dataStart = 8 + readLe64(bytes);
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto &[name, t] : file->tensors()) {
      const std::string where = "accepted tensor '" + name + "': ";
      const size_t elementSize = blockc::rt::dtypeSize(t.dtype);
      if (elementSize == 0)
        return where + "unknown dtype " + t.dtype;
      if (t.begin > t.end || times(elementsOf(t.shape), elementSize) != Wide(t.end - t.begin))
        return where + "its data_offsets do not hold its shape";
      if (dataStart + t.end > bytes.size())
        return where + "its data_offsets go past the end of the file";
      if (std::memcmp(t.data, bytes.data() + dataStart + t.begin, t.byteSize()) != 0)
        return where + "its data is not the file's bytes at its data_offsets";
      for (const auto &[begin, end] : ranges)
        if (t.begin < end && begin < t.end)
          return where + "it overlaps another tensor";
      if (t.begin < t.end)
        ranges.emplace_back(t.begin, t.end);
    }
    return "";
  }

  /// Binding to the fixture module must fail with a weights error, or compute with the
  /// file's scale and bias.
  std::string checkBind(const std::string &p) const {
    blockc::Module module(BLOCKC_FIXTURE_OK);
    try {
      module.bindWeights(p);
    } catch (const blockc::Error &e) {
      return errorProblem(e.what(), e.status(), BLOCKC_ERROR_WEIGHTS, p + ": ");
    }
    auto file = blockc::rt::SafetensorsFile::open(p);
    auto floats = [&](const char *name) {
      const auto &t = file->tensors().at(name);
      std::vector<float> values(t.byteSize() / sizeof(float));
      std::memcpy(values.data(), t.data, t.byteSize());
      return values;
    };
    const std::vector<float> x = iota(64, -3.0f);
    const std::vector<float> y = module.run(x);
    const std::vector<float> expected = fixtureExpected(x, floats("scale"), floats("bias"));
    for (size_t i = 0; i < y.size(); ++i)
      if (y[i] != expected[i] && !(std::isnan(y[i]) && std::isnan(expected[i])))
        return "bound, but output " + std::to_string(i) + " is " + std::to_string(y[i]) +
               ", not " + std::to_string(expected[i]);
    return "";
  }

  std::string valid;
};

TEST_F(SafetensorsFuzz, EveryPrefixAndHeaderLength) {
  ASSERT_EQ(check(valid), "");
  for (size_t size = 0; size < valid.size(); ++size) {
    const std::string p = writeFile("prefix.safetensors", valid.substr(0, size));
    EXPECT_THROW(blockc::rt::SafetensorsFile::open(p), RtError) << size << " bytes";
  }
  for (uint64_t length = 0; length < valid.size() + 8; ++length) {
    const std::string bytes = le64(length) + valid.substr(8);
    EXPECT_EQ(check(bytes), "") << describeSafetensors(bytes);
  }
}

TEST_F(SafetensorsFuzz, CorruptedFiles) {
  fuzzCases([&](fuzz::Random &random) { return corrupt(random); },
            [&](const std::string &bytes) { return check(bytes); }, describeSafetensors);
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

/// What is wrong with how parseF32 takes `bytes` (empty if nothing): it must fail with
/// an error naming the file, or give as many floats as the shape says, the file's last.
std::string checkNpy(const std::string &bytes) {
  blockc::npy::ArrayF32 array;
  try {
    array = blockc::npy::parseF32(bytes, "fuzz.npy");
  } catch (const blockc::Error &e) {
    return errorProblem(e.what(), e.status(), BLOCKC_ERROR_INVALID_ARGUMENT, "fuzz.npy: ");
  }
  if (elementsOf(array.shape) != Wide(array.data.size()))
    return "accepted shape " + blockc::rt::shapeToString(array.shape) + " with " +
           std::to_string(array.data.size()) + " floats";
  const size_t dataBytes = array.data.size() * sizeof(float);
  if (dataBytes > bytes.size() ||
      (dataBytes && std::memcmp(array.data.data(), bytes.data() + bytes.size() - dataBytes,
                                dataBytes) != 0))
    return "accepted, but the floats are not the file's last bytes";
  return "";
}

/// A corruption of `valid` (a .npy file): its bytes, its version or header length, or a
/// header put together from right and wrong parts.
std::string corruptNpy(fuzz::Random &random, const std::string &valid) {
  std::string bytes = valid;
  switch (random.below(4)) {
  case 0:
    for (size_t edits = 1 + random.below(4); edits; --edits)
      fuzz::mutateBytes(random, bytes, kNpyAlphabet);
    return bytes;
  case 1: // version and header length
    for (size_t at : {6, 7, 8, 9})
      if (random.oneIn(3))
        bytes[at] = static_cast<char>(random.oneIn(2) ? random.below(4) : random.below(256));
    return bytes;
  case 2: {
    static const std::vector<std::string> descrs = {
        "'<f4'", "\"<f4\"", "'<f8'", "'>f4'", "'|u1'", "''", "'<f4", "<f4", "'\xff'", "('<f4',)"};
    static const std::vector<std::string> orders = {"False", "True", "0", "'False'", "Fals", ""};
    static const std::vector<std::string> shapes = {
        "(2, 3)", "(6,)", "()", "(0,)", "(0, 99999999999999999999)", "(4611686018427387904, 4)",
        "(9223372036854775807,)", "(9223372036854775808,)", "(-1,)", "(2 3)", "(2,,3)",
        "((2,),)", "(2L, 3L)", "[2, 3]", std::string(1 << 12, '(')};
    std::vector<std::string> entries = {"'descr': " + random.pick(descrs),
                                        "'fortran_order': " + random.pick(orders),
                                        "'shape': " + random.pick(shapes)};
    if (random.oneIn(4))
      entries.erase(entries.begin() + random.below(entries.size()));
    if (random.oneIn(4))
      entries.push_back(random.pick(entries));
    std::swap(entries[random.below(entries.size())], entries[random.below(entries.size())]);
    std::string dict = "{";
    for (const std::string &entry : entries)
      dict += entry + ", ";
    dict += "}";
    const std::vector<size_t> floats = {0, 1, 2, 6, 7};
    return npyBytes(1 + random.below(3), random.oneIn(8), dict,
                    std::string(random.pick(floats) * sizeof(float) + random.oneIn(8), 'x'));
  }
  default: {
    const size_t headerLength = static_cast<unsigned char>(valid[8]) |
                                static_cast<unsigned char>(valid[9]) << 8;
    std::string dict = valid.substr(10, headerLength);
    for (size_t edits = 1 + random.below(3); edits; --edits)
      fuzz::mutateBytes(random, dict, kNpyAlphabet);
    return npyBytes(1, 0, dict, valid.substr(10 + headerLength));
  }
  }
}

TEST(NpyFuzz, EveryPrefix) {
  const std::vector<float> data = iota(6);
  const std::string valid = blockc::npy::serializeF32({2, 3}, data.data());
  ASSERT_EQ(checkNpy(valid), "");
  for (size_t size = 0; size < valid.size(); ++size)
    EXPECT_THROW(blockc::npy::parseF32(valid.substr(0, size), "fuzz.npy"), blockc::Error)
        << size << " bytes";
}

TEST(NpyFuzz, CorruptedFiles) {
  const std::vector<float> data = iota(6);
  const std::string valid = blockc::npy::serializeF32({2, 3}, data.data());
  fuzzCases([&](fuzz::Random &random) { return corruptNpy(random, valid); }, checkNpy,
            describeText);
}

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

/// What is wrong with a manifest parseManifest accepted (empty if nothing): every view
/// must reference an existing input, output, F32 weight, constant or slot and stay inside
/// its storage, for any batch size.
std::string manifestProblem(const blockc::rt::Manifest &m) {
  using blockc::rt::ArgSource;
  std::set<std::string> names;
  for (const auto *tensors : {&m.inputs, &m.outputs}) {
    if (tensors->empty())
      return "accepted a manifest without inputs or without outputs";
    for (const blockc::rt::TensorSpec &t : *tensors) {
      if (!names.insert(t.name).second)
        return "accepted the input or output name '" + t.name + "' twice";
      if (t.shape.size() < 2 || t.shape.size() > 5 || t.shape[0] != -1 ||
          std::any_of(t.shape.begin() + 1, t.shape.end(), [](int64_t d) { return d < 1; }))
        return "accepted input or output '" + t.name + "' of a shape not [-1, d1, ...]";
    }
  }
  for (const auto *kernels : {&m.prepare, &m.run})
    for (const blockc::rt::KernelSpec &kernel : *kernels)
      for (const blockc::rt::ArgView &arg : kernel.args) {
        const std::string where = "accepted kernel '" + kernel.name + "': a view ";
        const size_t count = arg.source == ArgSource::Input      ? m.inputs.size()
                             : arg.source == ArgSource::Output   ? m.outputs.size()
                             : arg.source == ArgSource::Weight   ? m.weights.size()
                             : arg.source == ArgSource::Constant ? m.constants.size()
                                                                 : m.slots.size();
        if (arg.index >= count)
          return where + "references a missing input, output, weight, constant or slot";
        if (arg.source == ArgSource::Weight &&
            (m.weights[arg.index].dtype != "F32" || !m.weights[arg.index].used))
          return where + "reads a weight that is not a used F32 tensor";
        if (arg.strides.size() != arg.shape.size() || arg.offset < 0)
          return where + "has a bad offset, or strides of another rank than its shape";
        // Storage and view grow linearly with the batch: B = 1 and 2 cover every B.
        for (int64_t batch : {1, 2}) {
          Wide storage = 0;
          switch (arg.source) {
          case ArgSource::Input:
            storage = times(sampleElements(m.inputs[arg.index].shape), batch);
            break;
          case ArgSource::Output:
            storage = times(sampleElements(m.outputs[arg.index].shape), batch);
            break;
          case ArgSource::Weight:
            storage = elementsOf(m.weights[arg.index].shape);
            break;
          case ArgSource::Constant:
            storage = elementsOf(m.constants[arg.index].shape);
            break;
          case ArgSource::Slot:
            storage = times(m.slots[arg.index].elementsPerSample, batch);
            break;
          }
          Wide last = arg.offset;
          bool empty = false;
          for (size_t i = 0; i < arg.shape.size(); ++i) {
            const Wide extent =
                arg.shape[i] >= 0 ? arg.shape[i] : times(-Wide(arg.shape[i]), batch);
            empty |= extent == 0;
            last += times(extent - 1, arg.strides[i]);
          }
          if (!empty && last >= storage)
            return where + "goes past the end of its storage at batch " + std::to_string(batch);
        }
      }
  return "";
}

/// What is wrong with how parseManifest takes `text` (empty if nothing).
std::string checkManifest(const std::string &text) {
  blockc::rt::Manifest manifest;
  try {
    manifest = blockc::rt::parseManifest(text);
  } catch (const RtError &e) {
    return errorProblem(e.what(), e.status(), BLOCKC_ERROR_LOAD, "manifest");
  }
  return manifestProblem(manifest);
}

/// A corruption of the valid manifest: its text, or its values.
std::string corruptManifest(fuzz::Random &random) {
  if (random.oneIn(3)) {
    std::string text = kValidManifest;
    mutateJsonText(random, text);
    return text;
  }
  json::value doc = json::parse(kValidManifest);
  for (size_t edits = 1 + random.below(3); edits; --edits)
    mutateJson(random, doc);
  return json::serialize(doc);
}

TEST(ManifestFuzz, EveryPrefix) {
  const std::string valid = kValidManifest;
  ASSERT_EQ(checkManifest(valid), "");
  for (size_t size = 0; size < valid.size(); ++size)
    EXPECT_THROW(blockc::rt::parseManifest(valid.substr(0, size)), RtError) << size;
}

TEST(ManifestFuzz, CorruptedManifests) {
  fuzzCases(corruptManifest, checkManifest, describeText);
}

} // namespace
