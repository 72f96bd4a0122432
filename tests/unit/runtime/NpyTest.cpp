//===- NpyTest.cpp - .npy reader/writer -----------------------------------===//

#include "TestUtil.h"

#include "blockc/Npy.h"

using namespace blockc_test;
namespace npy = blockc::npy;

namespace {

class NpyTest : public TempDirTest {};

std::string errorOf(const std::string &path) {
  try {
    npy::readF32(path);
  } catch (const blockc::Error &e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(NpyTest, RoundTripShapes) {
  for (const std::vector<int64_t> &shape :
       std::vector<std::vector<int64_t>>{{2, 3, 4}, {5}, {}, {0, 3}, {1, 197, 768}}) {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    std::vector<float> data = iota(n, -3.0f, 0.5f);
    const std::string p = path("a.npy");
    npy::writeF32(p, shape, data.data());
    npy::ArrayF32 back = npy::readF32(p);
    EXPECT_EQ(back.shape, shape);
    EXPECT_EQ(back.data, data);
    // Data starts 64-byte aligned, header ends with '\n'.
    const std::string bytes = readFile(p);
    const size_t headerLength = static_cast<unsigned char>(bytes[8]) |
                                (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ((10 + headerLength) % 64, 0u);
    EXPECT_EQ(bytes[10 + headerLength - 1], '\n');
    EXPECT_EQ(bytes.size(), 10 + headerLength + n * 4);
  }
}

TEST_F(NpyTest, WriterHeaderIsNumpyStyle) {
  std::vector<float> data = {1, 2, 3};
  std::string bytes = npy::serializeF32({3}, data.data());
  EXPECT_HAS(bytes, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
  bytes = npy::serializeF32({1, 3}, data.data());
  EXPECT_HAS(bytes, "'shape': (1, 3), }");
}

TEST_F(NpyTest, ReadsVersions2And3AndLooseHeaders) {
  std::vector<float> data = {1.5f, -2.5f, 3.0f, 4.0f, 5.0f, 6.0f};
  for (int major : {1, 2, 3}) {
    const std::string p = writeFile(
        "v.npy", npyBytes(major, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                          floatBytes(data)));
    npy::ArrayF32 a = npy::readF32(p);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3})) << "version " << major;
    EXPECT_EQ(a.data, data);
  }
  // Key order, double quotes, no trailing comma, Python 2 long suffix.
  const std::string p = writeFile(
      "loose.npy",
      npyBytes(1, 0, "{\"shape\": (2L,3L), \"fortran_order\": False, \"descr\": \"<f4\"}",
               floatBytes(data)));
  EXPECT_EQ(npy::readF32(p).shape, (std::vector<int64_t>{2, 3}));
}

TEST_F(NpyTest, Errors) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string two = floatBytes({1, 2});
  struct Case {
    const char *name;
    std::string bytes;
    const char *message;
  };
  std::string badMagic = npyBytes(1, 0, good, two);
  badMagic[1] = 'X';
  std::string truncatedHeader = npyBytes(1, 0, good, two).substr(0, 30);
  const Case cases[] = {
      {"magic.npy", badMagic, "bad magic"},
      {"empty.npy", "", "bad magic"},
      {"text.npy", "hello, I am not an array\n", "bad magic"},
      {"version.npy", npyBytes(4, 0, good, two), "unsupported .npy format version 4.0"},
      {"fortran.npy",
       npyBytes(1, 0, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", two),
       "fortran_order"},
      {"f8.npy", npyBytes(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", two),
       "dtype '<f8' is not supported"},
      {"bigendian.npy",
       npyBytes(1, 0, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", two),
       "dtype '>f4' is not supported"},
      {"truncated.npy", npyBytes(1, 0, good, two.substr(0, 5)),
       "truncated data: shape [2] needs 8 bytes, the file holds 5"},
      {"extra.npy", npyBytes(1, 0, good, two + "xyz"), "3 unexpected bytes"},
      {"header.npy", truncatedHeader, "truncated .npy header"},
      {"dict.npy", npyBytes(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", two),
       "malformed .npy header"},
      {"missing.npy", npyBytes(1, 0, "{'descr': '<f4', 'shape': (2,), }", two),
       "needs 'descr', 'fortran_order' and 'shape'"},
      {"extra_key.npy",
       npyBytes(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 'y'}", two),
       "unexpected key 'x'"},
      {"negative.npy",
       npyBytes(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", two),
       "malformed .npy header"},
  };
  for (const Case &c : cases) {
    const std::string p = writeFile(c.name, c.bytes);
    const std::string message = errorOf(p);
    EXPECT_HAS(message, c.message);
    EXPECT_HAS(message, p); // names the file
  }
  EXPECT_HAS(errorOf(path("does_not_exist.npy")), "cannot open");
}

TEST_F(NpyTest, WriteErrorNamesFile) {
  float v = 1;
  try {
    npy::writeF32(path("no_such_dir/x.npy"), {1}, &v);
    FAIL() << "expected an error";
  } catch (const blockc::Error &e) {
    EXPECT_HAS(e.what(), "no_such_dir/x.npy");
  }
}

} // namespace
