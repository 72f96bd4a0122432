//===- TestUtil.h - helpers for the runtime unit tests ----------*- C++ -*-===//
#ifndef BLOCKC_TESTS_RUNTIME_TESTUTIL_H
#define BLOCKC_TESTS_RUNTIME_TESTUTIL_H

#include "blockc/runtime.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace blockc_test {

/// A fresh directory under the test temp dir, removed when the fixture ends.
class TempDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "blockc_rt_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr) << "mkdtemp failed";
    dir_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string &name) const { return dir_ + "/" + name; }
  std::string writeFile(const std::string &name, const std::string &bytes) const {
    std::string p = path(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string dir_;
};

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string floatBytes(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
}

inline std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

/// One tensor of a .safetensors file to write.
struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

/// A .safetensors file: the header is padded with spaces so the data section
/// starts at an offset congruent to `dataAlignMod8` modulo 8 (0: aligned).
inline std::string safetensorsFile(const std::vector<StTensor> &tensors, int dataAlignMod8 = 0,
                                   const std::string &metadata = "") {
  std::string header = "{";
  std::string data;
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\": " + metadata;
    first = false;
  }
  for (const StTensor &t : tensors) {
    if (!first)
      header += ", ";
    first = false;
    header += "\"" + t.name + "\": {\"dtype\": \"" + t.dtype + "\", \"shape\": [";
    for (size_t i = 0; i < t.shape.size(); ++i)
      header += (i ? ", " : "") + std::to_string(t.shape[i]);
    header += "], \"data_offsets\": [" + std::to_string(data.size()) + ", " +
              std::to_string(data.size() + t.bytes.size()) + "]}";
    data += t.bytes;
  }
  header += "}";
  while ((8 + header.size()) % 8 != static_cast<size_t>(dataAlignMod8))
    header += ' ';
  return le64(header.size()) + header + data;
}

/// The fixture module's weights (see fixtures/fixture_module.c).
inline std::vector<float> fixtureScale() { return {1, 2, 3, 4, 0.5f, -1, -2, 0.25f}; }
inline std::vector<float> fixtureBias() { return {0, 1, 2, 3, 4, 5, 6, 7}; }

inline std::vector<StTensor> fixtureWeights() {
  return {{"scale", "F32", {8}, floatBytes(fixtureScale())},
          {"bias", "F32", {8}, floatBytes(fixtureBias())},
          {"counter", "I64", {}, std::string(8, '\0')}};
}

/// What the fixture module computes: y = 2 * scale * x + bias + 1.
inline std::vector<float> fixtureExpected(const std::vector<float> &x,
                                          const std::vector<float> &s = fixtureScale(),
                                          const std::vector<float> &b = fixtureBias()) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = x[i] * (2.0f * s[i % 8]) + b[i % 8] + 1.0f;
  return y;
}

inline std::vector<float> iota(size_t n, float start = 0.0f, float step = 0.25f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = start + step * static_cast<float>(i);
  return v;
}

/// Tests of the good fixture module (BLOCKC_FIXTURE_OK, fixtures/fixture_module.c).
class FixtureModuleTest : public TempDirTest {
protected:
  std::string fixtureWeightsFile(int alignMod8 = 0) {
    return writeFile("w" + std::to_string(alignMod8) + ".safetensors",
                     safetensorsFile(fixtureWeights(), alignMod8));
  }

  /// A module loaded from the good fixture with weights bound.
  blockc::Module boundFixture() {
    blockc::Module m(BLOCKC_FIXTURE_OK);
    m.bindWeights(fixtureWeightsFile());
    return m;
  }
};

/// A .npy file with an arbitrary version and header dict, padded like numpy.
inline std::string npyBytes(int major, int minor, const std::string &dict,
                            const std::string &data) {
  std::string header = dict;
  const size_t lengthBytes = major == 1 ? 2 : 4;
  while ((6 + 2 + lengthBytes + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += static_cast<char>(minor);
  for (size_t i = 0; i < lengthBytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

/// A valid manifest using every argument source, both kernel lists and the optional fields.
inline const char *const kValidManifest = R"({
  "abi_version": 2, "block": "tiny", "spec_hash": "ab12",
  "target": "x86-64-linux-avx2", "arch": "x86-64", "cpu_features": ["avx2", "fma"],
  "tokens": 4, "dim": 8, "flops_per_sample": 1.5e3,
  "inputs":  [{"name": "x", "shape": [-1, 4, 8], "dtype": "F32"}],
  "outputs": [{"name": "y", "shape": [-1, 2, 8], "dtype": "F32"}],
  "weights": [
    {"name": "w", "shape": [8, 8], "dtype": "F32", "used": true},
    {"name": "nbt", "shape": [], "dtype": "I64", "used": false}
  ],
  "constants": [{"id": 0, "shape": [8, 8]}],
  "slots": [{"id": 0, "elements_per_sample": 64}, {"id": 5, "elements_per_sample": 16}],
  "prepare": [{"name": "t", "function": "blockc_t", "kind": "transpose",
               "args": [{"source": "weight", "name": "w", "offset": 0, "shape": [8, 8], "strides": [8, 1]},
                        {"source": "constant", "id": 0, "offset": 0, "shape": [8, 8], "strides": [8, 1]}]}],
  "run": [{"name": "k1", "function": "blockc_k1", "kind": "linear",
           "ops": ["layer_norm", "linear"], "flops_per_sample": 512,
           "args": [{"source": "input", "index": 0, "offset": 0, "shape": [-4, 8], "strides": [8, 1]},
                    {"source": "constant", "id": 0, "offset": 0, "shape": [8, 8], "strides": [8, 1]},
                    {"source": "slot", "id": 0, "offset": 0, "shape": [-1, 4, 8], "strides": [64, 8, 1]}]},
          {"name": "k2", "function": "blockc_k2", "kind": "pool",
           "args": [{"source": "slot", "id": 0, "offset": 32, "shape": [-1, 2, 8], "strides": [64, 8, 1]},
                    {"source": "slot", "id": 5, "offset": 0, "shape": [-2, 8], "strides": [8, 1]},
                    {"source": "output", "index": 0, "offset": 0, "shape": [-1, 2, 8], "strides": [16, 8, 1]}]}]
})";

} // namespace blockc_test

#define EXPECT_HAS(haystack, needle)                                                               \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)                                 \
      << "expected to find: " << (needle) << "\n in: " << (haystack)

#endif // BLOCKC_TESTS_RUNTIME_TESTUTIL_H
