//===- ManifestTest.cpp - manifest parsing and validation -----------------===//

#include "TestUtil.h"

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Manifest.h"

#include <boost/json.hpp>

#include <functional>

using namespace blockc::rt;
using blockc_test::kValidManifest;
namespace json = boost::json;

namespace {

/// Parses `manifest` after `edit`; returns the error message ("" if it parsed).
std::string errorAfter(const std::function<void(json::object &)> &edit,
                       const char *manifest = kValidManifest) {
  json::value doc = json::parse(manifest);
  edit(doc.as_object());
  try {
    parseManifest(json::serialize(doc));
  } catch (const RtError &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_LOAD);
    return e.what();
  }
  return "";
}

json::object &arg(json::object &root, const char *list, size_t kernel, size_t index) {
  return root[list].as_array()[kernel].as_object()["args"].as_array()[index].as_object();
}

TEST(ManifestTest, ParsesValid) {
  Manifest m = parseManifest(kValidManifest);
  EXPECT_EQ(m.block, "tiny");
  EXPECT_EQ(m.specHash, "ab12");
  EXPECT_EQ(m.target, "x86-64-linux-avx2");
  EXPECT_EQ(m.cpuFeatures, (std::vector<std::string>{"avx2", "fma"}));
  EXPECT_EQ(m.tokens, 4);
  EXPECT_EQ(m.dim, 8);
  ASSERT_EQ(m.inputs.size(), 1u);
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].name, "x");
  EXPECT_EQ(m.inputs[0].shape, (std::vector<int64_t>{-1, 4, 8}));
  EXPECT_EQ(m.inputs[0].elementsPerSample, 32);
  EXPECT_EQ(m.outputs[0].name, "y");
  EXPECT_EQ(m.outputs[0].shape, (std::vector<int64_t>{-1, 2, 8}));
  EXPECT_EQ(m.outputs[0].elementsPerSample, 16);
  EXPECT_EQ(m.run[1].args[2].source, ArgSource::Output);
  EXPECT_EQ(m.run[1].args[2].index, 0u);
  EXPECT_DOUBLE_EQ(m.flops.perSample, 1500.0);
  ASSERT_EQ(m.weights.size(), 2u);
  EXPECT_FALSE(m.weights[1].used);
  EXPECT_EQ(m.weights[0].elements, 64);
  ASSERT_EQ(m.slots.size(), 2u);
  ASSERT_EQ(m.run.size(), 2u);
  EXPECT_EQ(m.run[1].args[1].source, ArgSource::Slot);
  EXPECT_EQ(m.run[1].args[1].index, 1u); // slot id 5 is the second slot
  EXPECT_EQ(m.run[0].args[0].shape, (std::vector<int64_t>{-4, 8}));
  EXPECT_EQ(m.run[0].ops, (std::vector<std::string>{"layer_norm", "linear"}));
  EXPECT_DOUBLE_EQ(m.run[0].flops.perSample, 512.0);
  EXPECT_TRUE(m.run[1].ops.empty()); // both optional
  EXPECT_EQ(m.run[1].flops.perSample, 0.0);
  EXPECT_EQ(m.maxBatchMultiple, 4);
  EXPECT_EQ(m.prepare[0].args[0].source, ArgSource::Weight);
}

TEST(ManifestTest, Device) {
  EXPECT_EQ(parseManifest(kValidManifest).device, ""); // absent: a CPU module
  json::value doc = json::parse(kValidManifest);
  doc.as_object()["device"] = "cuda";
  EXPECT_EQ(parseManifest(json::serialize(doc)).device, "cuda");
  EXPECT_HAS(errorAfter([](json::object &o) { o["device"] = "opencl"; }),
             "manifest: 'device': unknown device 'opencl' (expected \"cuda\"");
  EXPECT_HAS(errorAfter([](json::object &o) { o["device"] = 1; }),
             "manifest: 'device': must be a string");
}

TEST(ManifestTest, PrecisionAndConstantTypes) {
  Manifest plain = parseManifest(kValidManifest);
  EXPECT_EQ(plain.precision, "fp32"); // absent: float32
  ASSERT_FALSE(plain.constants.empty());
  EXPECT_EQ(plain.constants[0].dtype, ElementType::F32);
  json::value doc = json::parse(kValidManifest);
  doc.as_object()["precision"] = "bf16";
  doc.as_object()["constants"].as_array()[0].as_object()["dtype"] = "BF16";
  Manifest bf16 = parseManifest(json::serialize(doc));
  EXPECT_EQ(bf16.precision, "bf16");
  EXPECT_EQ(bf16.constants[0].dtype, ElementType::BF16);
  EXPECT_EQ(elementBytes(bf16.constants[0].dtype), 2u);
  doc.as_object()["precision"] = "mixed"; // linears in several formats
  EXPECT_EQ(parseManifest(json::serialize(doc)).precision, "mixed");
  EXPECT_HAS(errorAfter([](json::object &o) { o["precision"] = "int3"; }),
             "manifest: 'precision': is 'int3' (expected \"fp32\", \"bf16\", \"int8\" or "
             "\"mixed\")");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["constants"].as_array()[0].as_object()["dtype"] = "F16";
             }),
             "manifest: constants[0].dtype: is 'F16' (expected \"F32\", \"BF16\", \"I8\", "
             "\"I16\" or \"I32\")");
}

TEST(ManifestTest, NotJson) {
  try {
    parseManifest("{\"abi_version\": 1,");
    FAIL();
  } catch (const RtError &e) {
    EXPECT_HAS(e.what(), "manifest is not valid JSON");
  }
  try {
    parseManifest("[1, 2]");
    FAIL();
  } catch (const RtError &e) {
    EXPECT_HAS(e.what(), "not a JSON object");
  }
}

TEST(ManifestTest, EveryRequiredFieldMissing) {
  for (const char *f : {"abi_version", "block", "target", "arch", "cpu_features",
                        "flops_per_sample", "inputs", "outputs", "weights", "constants", "slots",
                        "prepare", "run"}) {
    std::string e = errorAfter([&](json::object &o) { o.erase(f); });
    EXPECT_HAS(e, std::string("field '") + f + "' is missing");
  }
  // spec_hash is optional, and so are tokens and dim, but only together.
  EXPECT_EQ(errorAfter([](json::object &o) { o.erase("spec_hash"); }), "");
  EXPECT_EQ(errorAfter([](json::object &o) {
              o.erase("tokens");
              o.erase("dim");
            }),
            "");
  EXPECT_HAS(errorAfter([](json::object &o) { o.erase("tokens"); }), "field 'tokens' is missing");
  EXPECT_HAS(errorAfter([](json::object &o) { o.erase("dim"); }), "field 'dim' is missing");
}

TEST(ManifestTest, WrongTypes) {
  EXPECT_HAS(errorAfter([](json::object &o) { o["tokens"] = "4"; }), "'tokens': must be an integer");
  EXPECT_HAS(errorAfter([](json::object &o) { o["tokens"] = 4.5; }), "'tokens': must be an integer");
  EXPECT_HAS(errorAfter([](json::object &o) { o["block"] = 3; }), "'block': must be a string");
  EXPECT_HAS(errorAfter([](json::object &o) { o["weights"] = json::object(); }),
             "'weights': must be an array");
  EXPECT_HAS(errorAfter([](json::object &o) { o["cpu_features"] = json::array{1}; }),
             "must be an array of strings");
  EXPECT_HAS(errorAfter([](json::object &o) { o["flops_per_sample"] = "many"; }),
             "must be a number");
  EXPECT_HAS(errorAfter([](json::object &o) { o["inputs"] = json::object(); }),
             "'inputs': must be an array");
  EXPECT_HAS(errorAfter([](json::object &o) { o["outputs"].as_array()[0] = "y"; }),
             "manifest: outputs[0]: must be an object");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["run"].as_array()[0].as_object()["ops"] = json::array{"linear", 2};
             }),
             "run[0] ('k1').ops: must be an array of strings");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["run"].as_array()[1].as_object()["flops_per_sample"] = -1;
             }),
             "run[1] ('k2').flops_per_sample: must be a non-negative finite number");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["weights"].as_array()[0].as_object()["used"] = 1;
             }),
             "weights[0].used: must be true or false");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["shape"] = json::array{"a"}; }),
             "run[0] ('k1').args[0].shape: entry \"a\" is not an integer");
  EXPECT_HAS(errorAfter([](json::object &o) { o["run"].as_array()[0] = 7; }),
             "run[0]: must be an object");
  EXPECT_HAS(errorAfter([](json::object &o) { o["abi_version"] = 1; }),
             "manifest: 'abi_version': is 1, this runtime reads version 2");
  EXPECT_HAS(errorAfter([](json::object &o) { o["tokens"] = 0; }), "out of range");
}

json::object &tensor(json::object &root, const char *list, size_t index) {
  return root[list].as_array()[index].as_object();
}

TEST(ManifestTest, InputsAndOutputs) {
  // Refused, each with a message naming the entry.
  const std::vector<std::pair<std::function<void(json::object &)>, std::string>> cases = {
      {[](json::object &o) { o["inputs"] = json::array(); },
       "manifest: 'inputs': must list at least one tensor"},
      {[](json::object &o) { o["outputs"] = json::array(); },
       "manifest: 'outputs': must list at least one tensor"},
      {[](json::object &o) { tensor(o, "inputs", 0).erase("name"); },
       "manifest: inputs[0]: field 'name' is missing"},
      {[](json::object &o) { tensor(o, "inputs", 0)["name"] = "pixel values"; },
       "manifest: inputs[0].name: 'pixel values' is not an identifier"},
      {[](json::object &o) { tensor(o, "outputs", 0)["name"] = "2x"; },
       "manifest: outputs[0].name: '2x' is not an identifier"},
      {[](json::object &o) { tensor(o, "outputs", 0)["name"] = "x"; },
       "manifest: outputs[0] ('x'): the name is already used by another input or output"},
      {[](json::object &o) { tensor(o, "outputs", 0)["dtype"] = "F16"; },
       "manifest: outputs[0] ('y').dtype: must be \"F32\""},
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = json::array{4, 8}; },
       "manifest: inputs[0] ('x').shape: must be [-1, d1, ...] (the batch, then 1 to 4 "
       "dimensions, each in [1, 2^31), the first of which may be \"S\" in a module with "
       "'max_tokens'), not [4, 8]"},
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = json::array{-1}; },
       "not [-1]"},
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = json::array{-1, 1, 2, 3, 4, 5}; },
       "not [-1, 1, 2, 3, 4, 5]"},
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = json::array{-1, -4, 8}; },
       "not [-1, -4, 8]"},
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = json::array{-1, 0, 8}; },
       "out of range"},
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = "[-1, 4, 8]"; },
       "inputs[0] ('x').shape: must be an array of integers"},
      // Each entry in range, their product not: 2^64 must not wrap around to 0 and pass.
      {[](json::object &o) {
         tensor(o, "outputs", 0)["shape"] =
             json::array{-1, int64_t(1) << 30, int64_t(1) << 30, int64_t(1) << 30};
       },
       "manifest: outputs[0] ('y').shape: shape [1073741824, 1073741824, 1073741824] is too "
       "large"},
      // tokens and dim describe a block module's one [-1, tokens, dim] input.
      {[](json::object &o) { tensor(o, "inputs", 0)["shape"] = json::array{-1, 5, 8}; },
       "manifest: 'tokens', 'dim': are only for a block module, whose one input is [-1, tokens, "
       "dim] = [-1, 4, 8] and one output [-1, T, D]"},
      {[](json::object &o) { tensor(o, "outputs", 0)["shape"] = json::array{-1, 16}; },
       "are only for a block module"},
      {[](json::object &o) {
         o["inputs"].as_array().push_back(json::object{
             {"name", "mask"}, {"shape", json::array{-1, 4}}, {"dtype", "F32"}});
       },
       "are only for a block module"},
      // A kernel argument names its input or output by index.
      {[](json::object &o) { arg(o, "run", 0, 0).erase("index"); },
       "manifest: run[0] ('k1').args[0]: field 'index' is missing"},
      {[](json::object &o) { arg(o, "run", 0, 0)["index"] = 1; },
       "manifest: run[0] ('k1').args[0].index: input 1 is not in 'inputs' (1 entry)"},
      {[](json::object &o) { arg(o, "run", 1, 2)["index"] = -1; }, "out of range"},
  };
  for (const auto &[edit, message] : cases)
    EXPECT_HAS(errorAfter(edit), message);
}

TEST(ManifestTest, ViewsStayInsideTheirOwnInputOrOutput) {
  // Two inputs and two outputs of different sizes, without tokens and dim.
  json::value doc = json::parse(kValidManifest);
  json::object &o = doc.as_object();
  o.erase("tokens");
  o.erase("dim");
  o["inputs"].as_array().push_back(
      json::object{{"name", "mask"}, {"shape", json::array{-1, 2, 2, 2, 2}}, {"dtype", "F32"}});
  o["outputs"].as_array().push_back(
      json::object{{"name", "logits"}, {"shape", json::array{-1, 1000}}, {"dtype", "F32"}});
  arg(o, "run", 1, 1) = json::object{{"source", "input"}, {"index", 1}, {"shape", json::array{-2, 8}},
                                     {"strides", json::array{8, 1}}};
  arg(o, "run", 1, 2) = json::object{{"source", "output"}, {"index", 1},
                                     {"shape", json::array{-1, 1000}},
                                     {"strides", json::array{1000, 1}}};
  const Manifest m = parseManifest(json::serialize(doc));
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.tokens, 0);
  EXPECT_EQ(m.inputs[1].elementsPerSample, 16);
  EXPECT_EQ(m.outputs[1].elementsPerSample, 1000);
  EXPECT_EQ(m.run[1].args[1].index, 1u);
  EXPECT_EQ(storageElements(m, m.run[1].args[1], RunShape{3, 1}), 3 * 16);
  EXPECT_EQ(storageElements(m, m.run[1].args[2], RunShape{3, 1}), 3 * 1000);

  // The first output (16 floats per sample) cannot hold a view sized for the second.
  arg(o, "run", 1, 2)["index"] = 0;
  try {
    parseManifest(json::serialize(doc));
    ADD_FAILURE() << "a [-1, 1000] view of a [-1, 2, 8] output was accepted";
  } catch (const RtError &e) {
    EXPECT_HAS(e.what(), "run[1] ('k2').args[2]: view (offset 0, shape [-1, 1000], strides "
                         "[1000, 1]) goes past the end of its storage (16 elements per sample)");
  }
}

TEST(ManifestTest, References) {
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "prepare", 0, 0)["name"] = "nope"; }),
             "weight 'nope' is not in 'weights'");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "prepare", 0, 0)["name"] = "nbt"; }),
             "weight 'nbt' has dtype I64; kernels take F32 only");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["weights"].as_array()[0].as_object()["used"] = false;
             }),
             "weight 'w' is marked \"used\": false");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 1)["id"] = 3; }),
             "constant 3 is not in 'constants'");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 1, 1)["id"] = 1; }),
             "slot 1 is not in 'slots'");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["source"] = "stack"; }),
             "unknown source 'stack'");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "prepare", 0, 0)["source"] = "input"; }),
             "a prepare kernel cannot use the input");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "prepare", 0, 1)["source"] = "output"; }),
             "a prepare kernel cannot use the output");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["weights"].as_array().push_back(o["weights"].as_array()[0]);
             }),
             "weight 'w' is listed twice");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["slots"].as_array().push_back(o["slots"].as_array()[0]);
             }),
             "slot id 0 is listed twice");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["weights"].as_array()[0].as_object()["dtype"] = "F33";
             }),
             "unknown dtype 'F33'");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["run"].as_array()[0].as_object()["function"] = "bad name; rm -rf";
             }),
             "is not a C identifier");
  EXPECT_HAS(errorAfter([](json::object &o) { o["run"] = json::array(); }), "'run': has no kernels");
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["run"].as_array()[0].as_object()["args"] = json::array();
             }),
             "args: is empty");
}

TEST(ManifestTest, ViewsMustStayInBounds) {
  // One element past the end of the slot, for B = 1.
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 1, 0)["offset"] = 49; }),
             "goes past the end of its storage (64 elements per sample)");
  // Per-sample stride larger than the slot's elements_per_sample: fine at B=1, not B=2.
  EXPECT_HAS(errorAfter([](json::object &o) {
               o["slots"].as_array()[0].as_object()["elements_per_sample"] = 48;
               arg(o, "run", 0, 2)["shape"] = json::array{-1, 4, 8};
               arg(o, "run", 0, 2)["strides"] = json::array{64, 8, 1};
               arg(o, "run", 0, 2)["offset"] = 0;
               arg(o, "run", 1, 0)["offset"] = 0;
             }),
             "goes past the end");
  // Input read as 5 rows per sample instead of 4.
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["shape"] = json::array{-5, 8}; }),
             "goes past the end");
  // A weight view larger than the weight.
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "prepare", 0, 0)["strides"] = json::array{9, 1}; }),
             "goes past the end of its storage (64 elements)");
  // A batch-dependent shape on a weight.
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "prepare", 0, 0)["shape"] = json::array{-1, 8}; }),
             "out of range");
  // Negative shapes in prepare kernels (no batch there).
  EXPECT_HAS(errorAfter([](json::object &o) {
               arg(o, "prepare", 0, 1)["source"] = "slot";
               arg(o, "prepare", 0, 1)["shape"] = json::array{-1, 8};
             }),
             "out of range");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["strides"] = json::array{8}; }),
             "differ in rank");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["strides"] = json::array{8, 0}; }),
             "out of range");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["offset"] = -1; }),
             "out of range");
  EXPECT_HAS(errorAfter([](json::object &o) { arg(o, "run", 0, 0)["shape"] = json::array{0, 8}; }),
             "out of range");
}

TEST(ManifestTest, StorageGrowsWithBatch) {
  Manifest m = parseManifest(kValidManifest);
  EXPECT_EQ(storageElements(m, m.run[0].args[0], RunShape{3, 1}), 3 * 4 * 8);
  EXPECT_EQ(storageElements(m, m.run[1].args[2], RunShape{3, 1}), 3 * 2 * 8);
  EXPECT_EQ(storageElements(m, m.run[0].args[2], RunShape{3, 1}), 3 * 64);
  EXPECT_EQ(storageElements(m, m.run[0].args[1], RunShape{3, 1}), 64);
}

} // namespace

namespace {

// blockc-tune's kernel.json, as compileStandaloneKernel writes it.
constexpr const char *kStandaloneKernel = R"({
  "kernel": "k3_matmul", "signature": "matmul ...", "function": "blockc_kernel",
  "args": [
    {"offset": 0, "shape": [-1, 4, 8], "strides": [32, 8, 1], "output": false},
    {"offset": 8, "shape": [8, 16], "strides": [16, 1], "output": false},
    {"offset": 0, "shape": [-1, 4, 16], "strides": [64, 16, 1], "output": true}]})";

std::string standaloneErrorAfter(const std::function<void(json::object &)> &edit) {
  json::value doc = json::parse(kStandaloneKernel);
  edit(doc.as_object());
  try {
    parseStandaloneKernel(json::serialize(doc));
  } catch (const RtError &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_LOAD);
    return e.what();
  }
  return "";
}

TEST(ManifestTest, ParsesAStandaloneKernelsArgumentsAsAManifestKernels) {
  const KernelSpec k = parseStandaloneKernel(kStandaloneKernel);
  EXPECT_EQ(k.name, "k3_matmul");
  EXPECT_EQ(k.function, "blockc_kernel");
  ASSERT_EQ(k.args.size(), 3u);
  EXPECT_EQ(k.args[0].source, ArgSource::Input);
  EXPECT_EQ(k.args[0].shape, (std::vector<int64_t>{-1, 4, 8}));
  EXPECT_EQ(k.args[1].source, ArgSource::Input);
  EXPECT_EQ(k.args[1].offset, 8);
  EXPECT_EQ(k.args[1].strides, (std::vector<int64_t>{16, 1}));
  EXPECT_EQ(k.args[2].source, ArgSource::Output);
}

TEST(ManifestTest, RejectsABadStandaloneKernel) {
  EXPECT_HAS(standaloneErrorAfter([](json::object &o) { o.erase("function"); }),
             "field 'function' is missing");
  EXPECT_HAS(standaloneErrorAfter([](json::object &o) { o["function"] = "1x"; }),
             "is not a C identifier");
  EXPECT_HAS(standaloneErrorAfter([](json::object &o) { o["args"] = json::array(); }),
             "'args': is empty");
  auto firstArg = [](json::object &o) -> json::object & {
    return o["args"].as_array()[0].as_object();
  };
  EXPECT_HAS(standaloneErrorAfter([&](json::object &o) { firstArg(o)["strides"] = json::array{8}; }),
             "args[0]: shape [-1, 4, 8] and strides [8] differ in rank");
  EXPECT_HAS(standaloneErrorAfter([&](json::object &o) { firstArg(o)["output"] = 1; }),
             "args[0].output: must be true or false");
  EXPECT_HAS(standaloneErrorAfter([&](json::object &o) {
               firstArg(o)["shape"] = json::array{-1, 4, int64_t(1) << 32};
             }),
             "exceeds Halide's int32");
}

} // namespace

namespace {
/// A module with run-time tokens (max_tokens 16): ids [B, S] in, states [B, S, 8] and a
/// pooled [B, 8] out; an embedding kernel over the rows B*S, an attention-like kernel
/// viewing a slot as (b, n, c) with the batch stride 8*S and taking S, a pooling kernel.
const char *const kTokensManifest = R"({
  "abi_version": 2, "block": "bert", "target": "x86-64-linux-avx2", "arch": "x86-64",
  "cpu_features": [], "max_tokens": 16,
  "flops_per_sample": 10, "flops_per_token": 256, "flops_per_token_pair": 32,
  "inputs":  [{"name": "ids", "shape": [-1, "S"], "dtype": "I64", "bound": 10},
              {"name": "types", "shape": [-1, "S"], "dtype": "I64", "bound": 2, "optional": true}],
  "outputs": [{"name": "h", "shape": [-1, "S", 8], "dtype": "F32"},
              {"name": "e", "shape": [-1, 8], "dtype": "F32"}],
  "weights": [{"name": "table", "shape": [10, 8], "dtype": "F32"}],
  "constants": [],
  "slots": [{"id": 0, "elements_per_sample": 0, "elements_per_token": 8}],
  "prepare": [],
  "run": [{"name": "k1", "function": "blockc_k1", "flops_per_token": 256,
           "args": [{"source": "weight", "name": "table", "shape": [10, 8], "strides": [8, 1]},
                    {"source": "input", "index": 0, "shape": ["B*S"], "strides": [1]},
                    {"source": "slot", "id": 0, "shape": ["B*S", 8], "strides": [8, 1]}]},
          {"name": "k2", "function": "blockc_k2", "flops_per_token_pair": 32,
           "args": [{"source": "slot", "id": 0, "shape": [-1, "S", 8], "strides": ["8*S", 8, 1]},
                    {"source": "tokens"},
                    {"source": "output", "index": 0, "shape": ["B*S", 8], "strides": [8, 1]}]},
          {"name": "k3", "function": "blockc_k3",
           "args": [{"source": "output", "index": 0, "shape": [-1, "S", 8], "strides": ["8*S", 8, 1]},
                    {"source": "output", "index": 1, "shape": [-1, 8], "strides": [8, 1]}]}]
})";

} // namespace

TEST(ManifestTest, RunTimeTokensScaleShapesStridesSlotsAndFlops) {
  const Manifest m = parseManifest(kTokensManifest);
  EXPECT_EQ(m.maxTokens, 16);
  EXPECT_EQ(m.inputs[0].shape, (std::vector<int64_t>{-1, -2}));
  EXPECT_TRUE(m.inputs[0].perToken);
  EXPECT_TRUE(m.inputs[1].optional);
  EXPECT_FALSE(m.outputs[1].perToken);
  EXPECT_EQ(m.outputs[0].elements(RunShape{3, 5}), 3 * 5 * 8);
  EXPECT_EQ(m.outputs[1].elements(RunShape{3, 5}), 3 * 8);
  EXPECT_EQ(m.slots[0].elements(RunShape{3, 5}), 3 * 5 * 8);
  EXPECT_DOUBLE_EQ(m.flops.at(5), 10 + 5 * 256 + 25 * 32);
  EXPECT_DOUBLE_EQ(m.run[1].flops.at(4), 16 * 32);
  const ArgView &rows = m.run[0].args[1];
  EXPECT_EQ(rows.extent(0, RunShape{3, 5}), 15);
  const ArgView &perSample = m.run[1].args[0];
  EXPECT_EQ(perSample.extent(0, RunShape{3, 5}), 3);
  EXPECT_EQ(perSample.extent(1, RunShape{3, 5}), 5);
  EXPECT_EQ(perSample.stride(0, RunShape{3, 5}), 40);
  EXPECT_EQ(m.run[1].args[1].source, ArgSource::Tokens);
}

TEST(ManifestTest, RunTimeTokensAreCheckedForEverySequenceLength) {
  const std::pair<std::function<void(json::object &)>, std::string> cases[] = {
      // S needs max_tokens, in shapes, views and slots alike.
      {[](json::object &o) { o.erase("max_tokens"); },
       "inputs[0] ('ids').shape: \"S\" (the run's sequence length) needs the module's 'max_tokens'"},
      {[](json::object &o) { o["max_tokens"] = 0; }, "'max_tokens': value 0 is out of range"},
      {[](json::object &o) { o["max_tokens"] = 2000000; }, "out of range [1, 1048576]"},
      {[](json::object &o) {
         o["inputs"].as_array()[0].as_object()["shape"] = json::array{-1, 4};
         o["inputs"].as_array()[1].as_object()["shape"] = json::array{-1, 4};
       },
       "'max_tokens': is given, but no input has the run's sequence length S"},
      {[](json::object &o) { o["slots"].as_array()[0].as_object()["elements_per_token"] = 0; },
       "slots[0]: holds no elements"},
      // A view sized for more tokens or another layout than its storage.
      {[](json::object &o) { arg(o, "run", 0, 2)["shape"] = json::array{"2*B*S", 8}; },
       "run[0] ('k1').args[2]: view (offset 0, shape [-2, 8], strides [8, 1]) goes past the "
       "end of its storage (8 elements per sample at S = 1)"},
      {[](json::object &o) { arg(o, "run", 1, 0)["strides"] = json::array{"9*S", 8, 1}; },
       "goes past the end of its storage"},
      {[](json::object &o) { arg(o, "run", 1, 0)["offset"] = 1; },
       "goes past the end of its storage"},
      {[](json::object &o) { arg(o, "run", 1, 0)["strides"] = json::array{"8*S", "S", 1}; },
       "a dimension has both its extent and its stride times S"},
      {[](json::object &o) { arg(o, "run", 0, 2)["shape"] = json::array{"B*S*B", 8}; },
       "is not a product of a positive integer, S and B"},
      {[](json::object &o) { arg(o, "run", 0, 2)["shape"] = json::array{"0*B*S", 8}; },
       "has a factor below 1"},
      {[](json::object &o) { arg(o, "run", 0, 2)["shape"] = json::array{"B", 8}; },
       "has no S: write an integer"},
      {[](json::object &o) { arg(o, "run", 0, 0)["shape"] = json::array{"S", 8}; },
       "goes past the end of its storage"},
      {[](json::object &o) { arg(o, "run", 0, 0)["strides"] = json::array{"B*S", 1}; },
       "is not a product of a positive integer, S"},
      // The scalar S is a run kernel's argument only.
      {[](json::object &o) {
         o["prepare"] = json::array{json::object{
             {"name", "p"}, {"function", "blockc_p"},
             {"args", json::array{json::object{{"source", "tokens"}}}}}};
       },
       "a prepare kernel has no run-time tokens"},
      {[](json::object &o) { o["outputs"].as_array()[1].as_object()["optional"] = true; },
       "outputs[1] ('e').optional: is only for an integer input"},
  };
  for (const auto &[edit, message] : cases)
    EXPECT_HAS(errorAfter(edit, kTokensManifest), message);
  EXPECT_EQ(errorAfter([](json::object &) {}, kTokensManifest), "");
}
