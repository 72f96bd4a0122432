//===- ModuleTest.cpp - loading modules, binding weights, running ---------===//
//
// Uses the hand-written test fixture modules of fixtures/fixture_module.c
// (paths from the BLOCKC_FIXTURE_* compile definitions).
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "blockc/ModuleFormat/ElfSegments.h"
#include "blockc/ModuleFormat/ModuleDigest.h"
#include "blockc/runtime.h"
#include "blockc/runtime.hpp"

#include <cpuid.h>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

using namespace blockc_test;

extern "C" int blockc_test_c_api_smoke(const char *module_path, const char *weights_path);

namespace {

class ModuleTest : public FixtureModuleTest {
protected:
  /// Loads `path`, expecting failure; returns blockc_last_error().
  std::string loadError(const std::string &path, blockc_status expected) {
    blockc_module *m = reinterpret_cast<blockc_module *>(0x1);
    blockc_status s = blockc_module_load(path.c_str(), &m);
    EXPECT_EQ(s, expected) << blockc_status_name(s) << ": " << blockc_last_error();
    EXPECT_EQ(m, nullptr);
    if (s == BLOCKC_OK)
      blockc_module_free(m);
    return blockc_last_error();
  }

};

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

TEST_F(ModuleTest, LoadsFixtureAndReportsInfo) {
  blockc_module *m = nullptr;
  ASSERT_EQ(blockc_module_load(BLOCKC_FIXTURE_OK, &m), BLOCKC_OK) << blockc_last_error();
  EXPECT_STREQ(blockc_last_error(), "");
  blockc_module_info info;
  ASSERT_EQ(blockc_module_get_info(m, &info), BLOCKC_OK);
  EXPECT_STREQ(info.block, "fixture");
  EXPECT_STREQ(info.target, "x86-64-linux-sse41");
  EXPECT_STREQ(info.arch, "x86-64");
  EXPECT_STREQ(info.spec_hash, "0123");
  EXPECT_STREQ(info.path, BLOCKC_FIXTURE_OK);
  EXPECT_EQ(info.tokens, 4);
  EXPECT_EQ(info.dim, 8);
  EXPECT_EQ(info.output_tokens, 4);
  EXPECT_EQ(info.output_dim, 8);
  EXPECT_DOUBLE_EQ(info.flops_per_sample, 96.0);
  EXPECT_EQ(info.num_weights, 3);
  EXPECT_EQ(info.weights_bound, 0);
  EXPECT_HAS(info.manifest_json, "\"block\": \"fixture\"");
  blockc_module_free(m);
  blockc_module_free(nullptr); // fine
}

TEST_F(ModuleTest, LoadsModuleDirectory) {
  std::filesystem::copy_file(BLOCKC_FIXTURE_OK, path("module.so"));
  blockc::Module m(dir_);
  EXPECT_EQ(m.block(), "fixture");
  EXPECT_EQ(m.info().path, dir_ + "/module.so");
  // A relative path without '/' must not be looked up in the library path.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  EXPECT_NO_THROW(blockc::Module("module.so"));
  std::filesystem::current_path(cwd);
}

TEST_F(ModuleTest, MissingFiles) {
  EXPECT_HAS(loadError(path("nope.so"), BLOCKC_ERROR_LOAD), "nope.so");
  EXPECT_HAS(loadError(path("nope.so"), BLOCKC_ERROR_LOAD), "No such file");
  EXPECT_HAS(loadError(dir_, BLOCKC_ERROR_LOAD), dir_ + "/module.so");
  EXPECT_HAS(loadError("", BLOCKC_ERROR_INVALID_ARGUMENT), "empty");
  blockc_module *m = nullptr;
  EXPECT_EQ(blockc_module_load(nullptr, &m), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_load(BLOCKC_FIXTURE_OK, nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);
}

TEST_F(ModuleTest, TextFileRenamedModuleSo) {
  writeFile("module.so", "this is not a shared library\n");
  std::string e = loadError(dir_, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, dir_ + "/module.so");
  EXPECT_HAS(e, "is not a shared library");
  // An ELF magic followed by junk: refused before dlopen, naming the file.
  writeFile("junk.so", std::string("\x7f" "ELF", 4) + std::string(100, '\x01'));
  e = loadError(path("junk.so"), BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "'" + path("junk.so") + "' is truncated or corrupt: it is not a 64-bit");
}

// A module cut short (a copy interrupted, a full disk) is refused before dlopen maps it:
// mapped segments the file no longer holds killed the process with SIGBUS on first use.
TEST_F(ModuleTest, TruncatedModuleIsAnErrorNotACrash) {
  std::ifstream in(BLOCKC_FIXTURE_OK, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const blockc::rt::ElfLayout layout = blockc::rt::readElfLayout(BLOCKC_FIXTURE_OK);
  ASSERT_EQ(layout.fileSize, bytes.size());
  ASSERT_FALSE(layout.loadable.empty());
  std::set<size_t> cuts;
  for (size_t k = 0; k < 16; ++k)
    cuts.insert(bytes.size() * k / 16);
  for (const blockc::rt::FileRange &segment : layout.loadable)
    for (uint64_t at : {segment.offset, segment.offset + segment.size / 2,
                        segment.offset + segment.size - 1})
      if (at < bytes.size())
        cuts.insert(at);
  for (size_t length : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(length) + " of " + std::to_string(bytes.size()));
    const std::string cut = writeFile("cut" + std::to_string(length) + ".so",
                                      bytes.substr(0, length));
    bool segmentsWhole = length >= 64;
    for (const blockc::rt::FileRange &segment : layout.loadable)
      segmentsWhole &= segment.offset + segment.size <= length;
    const std::string error = loadError(cut, BLOCKC_ERROR_LOAD);
    EXPECT_HAS(error, "'" + cut + "'");
    if (length < 4) // not even the ELF magic
      EXPECT_HAS(error, "is not a shared library (no ELF header)");
    else if (!segmentsWhole)
      EXPECT_HAS(error, "is truncated or corrupt");
    else // segments whole, the digest record gone
      EXPECT_HAS(error, "does not end with blockc's size-and-digest record");
  }
}

// Any changed byte is refused before dlopen, not run: the length and digest that blockc
// compile appended (ModuleDigest.h) are checked.
TEST_F(ModuleTest, ChangedModuleBytesAreRefused) {
  std::ifstream in(BLOCKC_FIXTURE_OK, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t record = blockc::rt::kModuleDigestRecordSize;
  ASSERT_GT(bytes.size(), 2 * record);
  const std::string original = writeFile("original.so", bytes);
  blockc_module *m = nullptr;
  ASSERT_EQ(blockc_module_load(original.c_str(), &m), BLOCKC_OK) << blockc_last_error();
  blockc_module_free(m);

  // A byte of the code or data, and a byte of the recorded digest itself.
  for (size_t at : {bytes.size() / 2, bytes.size() - 1}) {
    std::string changed = bytes;
    changed[at] ^= 0x10;
    const std::string file = writeFile("changed" + std::to_string(at) + ".so", changed);
    std::string e = loadError(file, BLOCKC_ERROR_LOAD);
    EXPECT_HAS(e, "'" + file + "' is corrupt: its bytes' digest is ");
  }
  // A byte removed before the record: the recorded length no longer matches.
  std::string shorter = bytes;
  shorter.erase(bytes.size() / 2, 1);
  std::string e = loadError(writeFile("shorter.so", shorter), BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "bytes before its digest record, which says " +
                    std::to_string(bytes.size() - record));
  // Bytes appended after the record, and a library linked without one.
  e = loadError(writeFile("extended.so", bytes + "more"), BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "does not end with blockc's size-and-digest record");
  e = loadError(writeFile("unsealed.so", bytes.substr(0, bytes.size() - record)),
                BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "not written by `blockc compile`");
}

TEST_F(ModuleTest, SharedLibraryWithoutSymbols) {
  std::string e = loadError(BLOCKC_FIXTURE_NO_SYMBOLS, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, BLOCKC_FIXTURE_NO_SYMBOLS);
  EXPECT_HAS(e, "is not a blockc module: symbol blockc_abi_version not found");
  e = loadError(BLOCKC_FIXTURE_NO_MANIFEST, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "symbol blockc_manifest not found");
}

TEST_F(ModuleTest, AbiVersionMismatch) {
  std::string e = loadError(BLOCKC_FIXTURE_ABI_999, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, BLOCKC_FIXTURE_ABI_999);
  EXPECT_HAS(e, "has module ABI version 999, this runtime loads version 2");
}

TEST_F(ModuleTest, BadManifests) {
  std::string e = loadError(BLOCKC_FIXTURE_BAD_JSON, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, BLOCKC_FIXTURE_BAD_JSON);
  EXPECT_HAS(e, "manifest is not valid JSON");
  e = loadError(BLOCKC_FIXTURE_MANIFEST_POINTER, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "blockc_manifest is not a NUL-terminated char array");
}

TEST_F(ModuleTest, MissingKernelFunction) {
  std::string e = loadError(BLOCKC_FIXTURE_MISSING_KERNEL, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, BLOCKC_FIXTURE_MISSING_KERNEL);
  EXPECT_HAS(e, "kernel function(s) not found: fixture_not_compiled_argv (kernel 'add_bias')");
}

TEST_F(ModuleTest, MissingHalideRuntime) {
  std::string e = loadError(BLOCKC_FIXTURE_NO_HALIDE, BLOCKC_ERROR_LOAD);
  EXPECT_HAS(e, "halide_set_error_handler not found");
}

TEST_F(ModuleTest, WrongArchitectureOrGpu) {
  std::string e = loadError(BLOCKC_FIXTURE_ARCH_ARM, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, "was compiled for arm-64 (target 'arm-64-linux'), but this machine is x86-64");
  e = loadError(BLOCKC_FIXTURE_CUDA_NO_DEVICE, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, "targets cuda (target 'x86-64-linux-cuda') but its manifest has no \"device\": "
                "\"cuda\"");
  e = loadError(BLOCKC_FIXTURE_OPENCL, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, "targets opencl (target 'x86-64-linux-opencl'); this runtime runs CPU and CUDA "
                "modules only");
}

TEST_F(ModuleTest, CudaModuleNeedsAUsableGpu) {
  // A CUDA module is refused at load, with the reason, where the CUDA driver or a GPU is
  // missing; where both exist, the fixture's stand-in Halide runtime fails the device probe.
  std::string e = loadError(BLOCKC_FIXTURE_CUDA, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, BLOCKC_FIXTURE_CUDA);
  if (void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(driver);
    EXPECT_HAS(e, "CUDA");
    GTEST_SKIP() << "this machine has a CUDA driver: " << e;
  }
  EXPECT_HAS(e, "is a CUDA module (target 'x86-64-linux-avx2-cuda-cuda_capability_80'), but "
                "there is no usable CUDA device: cannot load the NVIDIA driver library "
                "libcuda.so.1 (");
  EXPECT_HAS(e, "is the NVIDIA driver installed?");
  // Refused again, the same way (the failure is not remembered as a half-initialized state).
  EXPECT_HAS(loadError(BLOCKC_FIXTURE_CUDA, BLOCKC_ERROR_INCOMPATIBLE), "no usable CUDA device");
}

TEST_F(ModuleTest, RunDeviceOnCpuModule) {
  blockc::Module m = boundFixture();
  EXPECT_EQ(m.device(), "");
  std::vector<float> x(32), y(32);
  blockc_status s = blockc_module_run_device(m.get(), x.data(), 1, y.data());
  EXPECT_EQ(s, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(blockc_last_error(), "run_device: this is a CPU module (target "
                                  "'x86-64-linux-sse41'); use blockc_module_run");
  EXPECT_EQ(blockc_module_run_device(nullptr, x.data(), 1, y.data()),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "blockc_module_run_device: module is null");
}

TEST_F(ModuleTest, ElfOfAnotherArchitecture) {
  // A 64-bit little-endian ELF header for AArch64 (e_machine 183 at offset 18), then junk:
  // named from the header, before dlopen (whose message would be obscure).
  std::string header("\x7f" "ELF\x02\x01\x01", 7);
  header.resize(18, '\0');
  header += std::string("\xb7\x00", 2);
  writeFile("arm.so", header + std::string(100, '\0'));
  std::string e = loadError(path("arm.so"), BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, "'" + path("arm.so") + "' was compiled for arm-64 (its ELF machine), but this "
                "machine is x86-64");
}

TEST_F(ModuleTest, CpuFeatures) {
  std::string e = loadError(BLOCKC_FIXTURE_UNKNOWN_FEATURE, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, "unknown CPU feature(s) in the manifest: quantum_entanglement");
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx >> 27 & 1u)) // avx512er
    GTEST_SKIP() << "this CPU has avx512er";
  e = loadError(BLOCKC_FIXTURE_MISSING_FEATURE, BLOCKC_ERROR_INCOMPATIBLE);
  EXPECT_HAS(e, "needs CPU features this machine lacks: avx512er");
}

//===----------------------------------------------------------------------===//
// Binding weights
//===----------------------------------------------------------------------===//

TEST_F(ModuleTest, RunBeforeBind) {
  blockc::Module m(BLOCKC_FIXTURE_OK);
  std::vector<float> x(32), y(32);
  blockc_status s = blockc_module_run(m.get(), x.data(), 1, y.data());
  EXPECT_EQ(s, BLOCKC_ERROR_NOT_BOUND);
  EXPECT_HAS(blockc_last_error(), "before weights were bound");
}

// Bound weights belong to the module: the weight file may be truncated, rewritten in place
// (as safetensors.torch.save_file does) or deleted after bind, and runs go on with the
// values bound (a mapped file killed the process with SIGBUS once it was truncated).
TEST_F(ModuleTest, WeightFileChangedAfterBindKeepsBoundValues) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8,
                                0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  const std::vector<float> otherScale = {9, 9, 9, 9, 9, 9, 9, 9};
  const std::vector<StTensor> other = {{"scale", "F32", {8}, floatBytes(otherScale)},
                                       {"bias", "F32", {8}, floatBytes(fixtureBias())},
                                       {"counter", "I64", {}, std::string(8, '\0')}};
  for (int change = 0; change < 3; ++change) {
    SCOPED_TRACE(change == 0 ? "truncated" : change == 1 ? "rewritten" : "deleted");
    const std::string weights = fixtureWeightsFile();
    blockc::Module m(BLOCKC_FIXTURE_OK);
    m.bindWeights(weights);
    if (change == 0)
      std::filesystem::resize_file(weights, 0);
    else if (change == 1)
      writeFile(weights.substr(dir_.size() + 1), safetensorsFile(other));
    else
      std::filesystem::remove(weights);
    EXPECT_EQ(m.run(x), fixtureExpected(x));
  }
}

// A tensor inference never reads (BatchNorm's num_batches_tracked) is checked when the
// file has it and may be absent: a state_dict saved without the counters binds too, and
// the module says which it was.
TEST_F(ModuleTest, UnreadTensorMayBeAbsent) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8,
                                0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  blockc::Module m(BLOCKC_FIXTURE_OK);
  auto counter = [&] {
    for (const blockc_weight_info &w : m.weights())
      if (std::string(w.name) == "counter") {
        EXPECT_EQ(w.used, 0);
        EXPECT_EQ(std::string(w.dtype), "I64");
        return w.present;
      }
    ADD_FAILURE() << "the fixture declares 'counter'";
    return -2;
  };
  EXPECT_EQ(counter(), -1); // not bound yet
  m.bindWeights(fixtureWeightsFile());
  EXPECT_EQ(counter(), 1);
  const std::vector<StTensor> withoutCounter = {{"scale", "F32", {8}, floatBytes(fixtureScale())},
                                                {"bias", "F32", {8}, floatBytes(fixtureBias())}};
  m.bindWeights(writeFile("no_counter.safetensors", safetensorsFile(withoutCounter)));
  EXPECT_EQ(counter(), 0);
  EXPECT_EQ(m.run(x), fixtureExpected(x));
}

// The fixture's spec ignores no names: none listed, and an index past them is refused.
TEST_F(ModuleTest, IgnoredNamesOfAModuleWithoutAny) {
  blockc::Module m = boundFixture();
  EXPECT_TRUE(m.ignored().empty());
  blockc_ignored_info info;
  EXPECT_EQ(blockc_module_get_ignored_info(m.get(), 0, &info), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_num_ignored(nullptr, nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_num_ignored(m.get(), nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);
}

TEST_F(ModuleTest, BindReportsEveryProblemByName) {
  blockc::Module m(BLOCKC_FIXTURE_OK);
  std::vector<StTensor> w = {
      {"scale", "F32", {2, 4}, floatBytes(fixtureScale())}, // wrong shape
      {"counter", "F32", {}, floatBytes({1})},              // wrong dtype
      {"extra.weight", "F32", {1}, floatBytes({1})},        // not in the manifest
      {"another", "U8", {1}, "x"},                          // not in the manifest
  };                                                        // "bias" missing
  const std::string p = writeFile("bad.safetensors", safetensorsFile(w));
  try {
    m.bindWeights(p);
    FAIL() << "expected an error";
  } catch (const blockc::Error &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_WEIGHTS);
    const std::string msg = e.what();
    EXPECT_HAS(msg, p);
    EXPECT_HAS(msg, "(5 problems)");
    EXPECT_HAS(msg, "missing tensor 'bias' (F32 [8])");
    EXPECT_HAS(msg, "tensor 'scale' has shape [2, 4], expected [8]");
    EXPECT_HAS(msg, "tensor 'counter' has dtype F32, expected I64");
    EXPECT_HAS(msg, "unexpected tensor 'extra.weight'");
    EXPECT_HAS(msg, "unexpected tensor 'another'");
  }
  EXPECT_FALSE(m.weightsBound());
}

TEST_F(ModuleTest, BindErrorsFromTheFile) {
  blockc::Module m(BLOCKC_FIXTURE_OK);
  try {
    m.bindWeights(writeFile("trunc.safetensors", le64(1000) + "{}"));
    FAIL();
  } catch (const blockc::Error &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_WEIGHTS);
    EXPECT_HAS(e.what(), "trunc.safetensors: header length 1000 goes past the end");
  }
  EXPECT_EQ(blockc_module_bind_weights(m.get(), nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_bind_weights(nullptr, "x"), BLOCKC_ERROR_INVALID_ARGUMENT);
}

TEST_F(ModuleTest, FailedRebindKeepsPreviousWeights) {
  blockc::Module m = boundFixture();
  EXPECT_THROW(m.bindWeights(writeFile("empty.safetensors", le64(2) + "{}")), blockc::Error);
  EXPECT_TRUE(m.weightsBound());
  std::vector<float> x = iota(32);
  EXPECT_EQ(m.run(x), fixtureExpected(x));
}

// blockc_module_bind_tensors: the caller's memory is checked as a file is, read in place,
// and released exactly once: when a later bind replaces it, at free, or at once on failure.
TEST_F(ModuleTest, BindTensorsFromTheCallersMemory) {
  struct Released {
    int count = 0;
    static void release(void *self) { ++static_cast<Released *>(self)->count; }
  };
  std::vector<float> scale = fixtureScale(), bias = fixtureBias();
  int64_t counter = 7;
  std::vector<int64_t> vectorShape = {8}, scalarShape;
  auto tensors = [&](DLDataType scaleType) {
    std::vector<blockc_named_tensor> t = {
        {"scale", blockc::hostTensor(scale.data(), vectorShape)},
        {"bias", blockc::hostTensor(bias.data(), vectorShape)},
        {"counter", blockc::hostTensor(reinterpret_cast<const float *>(&counter), scalarShape)}};
    t[0].tensor.dtype = scaleType;
    t[2].tensor.dtype = DLDataType{kDLInt, 64, 1};
    return t;
  };
  const std::vector<float> x = iota(32, -2.0f);
  Released first, second, bad;
  {
    blockc::Module m(BLOCKC_FIXTURE_OK);
    auto good = tensors(DLDataType{kDLFloat, 32, 1});
    ASSERT_EQ(blockc_module_bind_tensors(m.get(), good.data(), good.size(), Released::release,
                                         &first),
              BLOCKC_OK)
        << blockc_last_error();
    EXPECT_EQ(first.count, 0);
    EXPECT_EQ(m.run(x), fixtureExpected(x));
    bias[0] = 100.0f; // read in place: the caller keeps the memory unchanged, or sees this
    EXPECT_EQ(m.run(x), fixtureExpected(x, fixtureScale(), bias));

    auto wrong = tensors(DLDataType{kDLFloat, 64, 1});
    EXPECT_EQ(blockc_module_bind_tensors(m.get(), wrong.data(), wrong.size(), Released::release,
                                         &bad),
              BLOCKC_ERROR_WEIGHTS);
    EXPECT_HAS(blockc_last_error(), "tensor 'scale' has dtype F64, expected F32");
    EXPECT_EQ(bad.count, 1);
    EXPECT_EQ(first.count, 0); // the failed bind kept the first tensors

    ASSERT_EQ(blockc_module_bind_tensors(m.get(), good.data(), good.size(), Released::release,
                                         &second),
              BLOCKC_OK);
    EXPECT_EQ(first.count, 1);
    EXPECT_EQ(second.count, 0);
  }
  EXPECT_EQ(second.count, 1); // freed with the module

  blockc::Module m(BLOCKC_FIXTURE_OK);
  std::vector<int64_t> strided = {4};
  std::vector<int64_t> strides = {2};
  auto t = tensors(DLDataType{kDLFloat, 32, 1});
  t[0].tensor.shape = strided.data();
  t[0].tensor.strides = strides.data();
  Released counted;
  EXPECT_EQ(blockc_module_bind_tensors(m.get(), t.data(), t.size(), Released::release, &counted),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "'scale' is not C-contiguous");
  t = tensors(DLDataType{kDLFloat, 32, 1});
  t[1].name = "scale";
  EXPECT_EQ(blockc_module_bind_tensors(m.get(), t.data(), t.size(), Released::release, &counted),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "'scale' is given twice");
  EXPECT_EQ(blockc_module_bind_tensors(nullptr, t.data(), t.size(), Released::release, &counted),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(counted.count, 3);
  EXPECT_FALSE(m.weightsBound());
}

TEST_F(ModuleTest, MisalignedWeightsAreCopied) {
  for (int align : {0, 1, 2, 3, 4}) {
    blockc::Module m(BLOCKC_FIXTURE_OK);
    m.bindWeights(fixtureWeightsFile(align));
    std::vector<float> x = iota(64, -1.0f);
    EXPECT_EQ(m.run(x), fixtureExpected(x)) << "data section at 8k+" << align;
  }
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

TEST_F(ModuleTest, RunsEveryBatchSize) {
  blockc::Module m = boundFixture();
  EXPECT_TRUE(m.weightsBound());
  for (int64_t batch : {1, 2, 3, 7, 16, 1, 64, 5}) {
    std::vector<float> x = iota(static_cast<size_t>(batch * 32), static_cast<float>(batch));
    std::vector<float> y(x.size(), -12345.0f);
    m.run(x.data(), batch, y.data());
    EXPECT_EQ(y, fixtureExpected(x)) << "batch " << batch;
  }
}

TEST_F(ModuleTest, RunArgumentErrors) {
  blockc::Module m = boundFixture();
  std::vector<float> x(64), y(64);
  EXPECT_EQ(blockc_module_run(m.get(), x.data(), 0, y.data()), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "batch must be >= 1, got 0");
  EXPECT_EQ(blockc_module_run(m.get(), nullptr, 1, y.data()), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_run(m.get(), x.data(), 1, nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_run(nullptr, x.data(), 1, y.data()), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_run(m.get(), x.data(), 1, x.data() + 16), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "overlap");
  EXPECT_EQ(blockc_module_run(m.get(), x.data(), int64_t(1) << 40, y.data()),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "too large");
  // Adjacent, not overlapping, is fine.
  EXPECT_EQ(blockc_module_run(m.get(), x.data(), 1, x.data() + 32), BLOCKC_OK) << blockc_last_error();
  EXPECT_STREQ(blockc_last_error(), "");
}

TEST_F(ModuleTest, KernelErrorCarriesHalideMessage) {
  blockc::Module m = boundFixture();
  std::vector<float> x = iota(64), y(64);
  x[0] = -999.0f;
  blockc_status s = blockc_module_run(m.get(), x.data(), 2, y.data());
  EXPECT_EQ(s, BLOCKC_ERROR_KERNEL);
  const std::string e = blockc_last_error();
  EXPECT_HAS(e, "run kernel 'scale' (fixture_scale_argv) failed with code -1: fixture: poisoned input");
  EXPECT_EQ(e.find('\n'), std::string::npos) << "trailing newline kept: " << e;
  // The module still works afterwards, and the arena was returned.
  x[0] = 0.0f;
  EXPECT_EQ(blockc_module_run(m.get(), x.data(), 2, y.data()), BLOCKC_OK) << blockc_last_error();
  EXPECT_EQ(y, fixtureExpected(x));
  // The error is thread-local: another thread sees no error.
  std::string other = "unset";
  std::thread([&] { other = blockc_last_error(); }).join();
  EXPECT_EQ(other, "");
}

TEST_F(ModuleTest, ProfiledRunTimesEveryKernel) {
  blockc::Module m = boundFixture();
  const std::vector<blockc_kernel_info> kernels = m.kernels();
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_STREQ(kernels[0].name, "scale");
  EXPECT_STREQ(kernels[0].kind, "fixture");
  EXPECT_STREQ(kernels[0].ops, "mul + copy");
  EXPECT_EQ(kernels[0].flops_per_sample, 32.0);
  EXPECT_STREQ(kernels[1].name, "add_bias"); // no ops or flops in the manifest
  EXPECT_STREQ(kernels[1].ops, "");
  EXPECT_EQ(kernels[1].flops_per_sample, 0.0);

  std::vector<float> x = iota(64), y(64);
  const std::vector<double> seconds = m.runProfiled(x.data(), 2, y.data());
  EXPECT_EQ(y, fixtureExpected(x));
  ASSERT_EQ(seconds.size(), 2u);
  for (double s : seconds) {
    EXPECT_GT(s, 0.0);
    EXPECT_LT(s, 10.0);
  }

  double one[1] = {-1};
  EXPECT_EQ(blockc_module_run_profiled(m.get(), x.data(), 2, y.data(), one, 1),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "one entry per run kernel (2), got count 1");
  EXPECT_EQ(one[0], -1);
  EXPECT_EQ(blockc_module_run_profiled(m.get(), x.data(), 2, y.data(), nullptr, 2),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  blockc_kernel_info info;
  EXPECT_EQ(blockc_module_get_kernel_info(m.get(), 2, &info), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "index 2 is not in [0, 2)");
  EXPECT_EQ(blockc_module_get_kernel_info(m.get(), -1, &info), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_num_kernels(nullptr, nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);

  // A failing kernel fails the profiled run with the same message as a plain run.
  double times[2];
  x[0] = -999.0f;
  EXPECT_EQ(blockc_module_run_profiled(m.get(), x.data(), 2, y.data(), times, 2),
            BLOCKC_ERROR_KERNEL);
  EXPECT_HAS(blockc_last_error(), "run kernel 'scale' (fixture_scale_argv) failed");
}

TEST_F(ModuleTest, KernelErrorFromAnotherThread) {
  blockc::Module m = boundFixture();
  std::vector<float> x = iota(32), y(32);
  x[0] = -998.0f;
  try {
    m.run(x.data(), 1, y.data());
    FAIL();
  } catch (const blockc::Error &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_KERNEL);
    EXPECT_HAS(e.what(), "fixture: poisoned input (reported by a worker thread)");
  }
}

TEST_F(ModuleTest, SetNumThreadsReachesTheModulesRuntime) {
  blockc::Module m(BLOCKC_FIXTURE_OK);
  void *h = dlopen(BLOCKC_FIXTURE_OK, RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(h, nullptr);
  auto numThreads = reinterpret_cast<int (*)()>(dlsym(h, "fixture_num_threads"));
  ASSERT_NE(numThreads, nullptr);
  m.setNumThreads(3);
  EXPECT_EQ(numThreads(), 3);
  EXPECT_EQ(m.setNumThreads(5), 3);
  EXPECT_EQ(numThreads(), 5);
  m.setNumThreads(0);
  int previous = -1;
  EXPECT_EQ(blockc_module_set_num_threads(m.get(), -2, &previous), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(previous, -1);
  dlclose(h);
}

TEST_F(ModuleTest, CppApi) {
  try {
    blockc::Module m(path("missing_module"));
    FAIL();
  } catch (const blockc::Error &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_LOAD);
    EXPECT_HAS(e.what(), "missing_module");
  }
  blockc::Module a = boundFixture();
  blockc::Module b(std::move(a));
  EXPECT_EQ(a.get(), nullptr);
  EXPECT_EQ(b.tokens(), 4);
  EXPECT_EQ(b.dim(), 8);
  EXPECT_EQ(b.flopsPerSample(), 96.0);
  EXPECT_EQ(b.target(), "x86-64-linux-sse41");
  EXPECT_HAS(b.manifestJson(), "fixture_scale");
  EXPECT_THROW(b.run(std::vector<float>(31)), blockc::Error);
  std::vector<float> x = iota(96);
  EXPECT_EQ(b.run(x), fixtureExpected(x));
  blockc::Module c(BLOCKC_FIXTURE_OK);
  c = std::move(b);
  EXPECT_TRUE(c.weightsBound());
}

TEST_F(ModuleTest, TwoHandlesOnOneFile) {
  blockc::Module a = boundFixture();
  {
    blockc::Module b = boundFixture();
    std::vector<float> x = iota(32);
    EXPECT_EQ(b.run(x), fixtureExpected(x));
  }
  // Freeing b (one dlclose) leaves a working.
  std::vector<float> x = iota(64);
  EXPECT_EQ(a.run(x), fixtureExpected(x));
}

TEST_F(ModuleTest, CApiFromC) {
  EXPECT_EQ(blockc_test_c_api_smoke(BLOCKC_FIXTURE_OK, fixtureWeightsFile().c_str()), 0);
}

} // namespace
