//===- SafetensorsTest.cpp - the memory-mapped .safetensors reader --------===//

#include "TestUtil.h"

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Safetensors.h"

using namespace blockc_test;
using blockc::rt::RtError;
using blockc::rt::SafetensorsFile;

namespace {

class SafetensorsTest : public TempDirTest {
protected:
  /// The error message opening `bytes` (written to name) gives.
  std::string errorOf(const std::string &name, const std::string &bytes) {
    const std::string p = writeFile(name, bytes);
    try {
      SafetensorsFile::open(p);
    } catch (const RtError &e) {
      EXPECT_EQ(e.status(), BLOCKC_ERROR_WEIGHTS);
      EXPECT_HAS(e.what(), p);
      return e.what();
    }
    return "(no error)";
  }
  std::string raw(const std::string &header, const std::string &data) {
    return le64(header.size()) + header + data;
  }
};

TEST_F(SafetensorsTest, RoundTrip) {
  std::vector<float> a = iota(6);
  std::vector<StTensor> tensors = {{"a", "F32", {2, 3}, floatBytes(a)},
                                   {"b.bias", "F16", {2}, std::string("\x01\x02\x03\x04", 4)},
                                   {"n", "I64", {}, le64(7)},
                                   {"empty", "F32", {0, 4}, ""}};
  const std::string p =
      writeFile("w.safetensors", safetensorsFile(tensors, 0, "{\"format\": \"pt\"}"));
  auto file = SafetensorsFile::open(p);
  ASSERT_EQ(file->tensors().size(), 4u);
  const auto &ta = file->tensors().at("a");
  EXPECT_EQ(ta.dtype, "F32");
  EXPECT_EQ(ta.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ta.byteSize(), 24u);
  EXPECT_EQ(std::memcmp(ta.data, a.data(), 24), 0);
  EXPECT_EQ(file->tensors().at("b.bias").dtype, "F16");
  EXPECT_EQ(file->tensors().at("n").shape, std::vector<int64_t>{});
  uint64_t n;
  std::memcpy(&n, file->tensors().at("n").data, 8);
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(file->tensors().at("empty").byteSize(), 0u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, EmptyTensorList) {
  auto file = SafetensorsFile::open(writeFile("e.safetensors", raw("{}", "")));
  EXPECT_TRUE(file->tensors().empty());
}

TEST_F(SafetensorsTest, TruncatedHeaderLength) {
  EXPECT_HAS(errorOf("a.safetensors", ""), "fewer than the 8-byte header length");
  EXPECT_HAS(errorOf("b.safetensors", std::string("\x10\x00\x00", 3)),
             "truncated header: the file has 3 bytes");
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  EXPECT_HAS(errorOf("a.safetensors", le64(100) + "{}"),
             "header length 100 goes past the end of the file (10 bytes)");
  EXPECT_HAS(errorOf("b.safetensors", le64(~uint64_t(0)) + "{}"), "goes past the end of the file");
}

TEST_F(SafetensorsTest, BadJson) {
  EXPECT_HAS(errorOf("a.safetensors", raw("{\"a\": {\"dtype\": ", "")),
             "header is not valid JSON");
  EXPECT_HAS(errorOf("b.safetensors", raw("[1, 2]", "")), "header is not a JSON object");
  EXPECT_HAS(errorOf("c.safetensors", raw("{\"a\": 3}", "")), "tensor 'a': entry is not an object");
  EXPECT_HAS(errorOf("d.safetensors",
                     raw("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "abcd")),
             "tensor 'a': missing or non-string 'dtype'");
  EXPECT_HAS(errorOf("e.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
                         "abcd")),
             "shape entries must be non-negative integers");
  EXPECT_HAS(errorOf("f.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}",
                         "abcd")),
             "'data_offsets' must be [begin, end]");
  EXPECT_HAS(errorOf("g.safetensors", raw("{\"__metadata__\": {\"k\": 1}}", "")),
             "__metadata__ value 'k' is not a string");
}

TEST_F(SafetensorsTest, DataOffsetsOutOfRange) {
  EXPECT_HAS(errorOf("a.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
                         "abcd")),
             "tensor 'a': data_offsets [0, 8] are out of range: the data section holds 4 bytes");
  EXPECT_HAS(errorOf("b.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}",
                         "abcdefgh")),
             "data_offsets [8, 4] end before they begin");
}

TEST_F(SafetensorsTest, SizeMismatch) {
  EXPECT_HAS(errorOf("a.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, "
                         "12]}}",
                         std::string(12, 'x'))),
             "tensor 'a': size mismatch: shape [2, 3] of F32 needs 24 bytes, data_offsets [0, 12] "
             "hold 12");
  EXPECT_HAS(errorOf("b.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], "
                         "\"data_offsets\": [0, 4]}}",
                         "abcd")),
             "needs too many bytes");
}

TEST_F(SafetensorsTest, Overlapping) {
  EXPECT_HAS(errorOf("a.safetensors",
                     raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                         " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
                         std::string(16, 'x'))),
             "tensors 'a' [0, 16] and 'b' [8, 16] overlap");
  // Not adjacent after sorting: a long tensor covering two later ones.
  EXPECT_HAS(errorOf("b.safetensors",
                     raw("{\"a\": {\"dtype\": \"U8\", \"shape\": [10], \"data_offsets\": [0, 10]},"
                         " \"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [1, 3]},"
                         " \"c\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [5, 7]}}",
                         std::string(10, 'x'))),
             "overlap");
}

TEST_F(SafetensorsTest, UnknownDtype) {
  EXPECT_HAS(errorOf("a.safetensors",
                     raw("{\"a\": {\"dtype\": \"F128\", \"shape\": [1], \"data_offsets\": [0, 16]}}",
                         std::string(16, 'x'))),
             "tensor 'a': unknown dtype 'F128'");
}

TEST_F(SafetensorsTest, MissingFile) {
  try {
    SafetensorsFile::open(path("nope.safetensors"));
    FAIL();
  } catch (const RtError &e) {
    EXPECT_HAS(e.what(), "nope.safetensors: cannot open");
  }
}

} // namespace
