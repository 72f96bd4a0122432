//===- ManifestTest.cpp - blockc::compileSpecFile and its manifest --------===//
//
// Compiles one tiny spec (Halide compiles its kernels: a few seconds) into a temporary
// directory and checks manifest.json against the spec (docs/module-format.md).
//
//===----------------------------------------------------------------------===//

#include "blockc/Dialect/BlockcOps.h"
#include "blockc/Driver.h"
#include "blockc/Lowering/EmitModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace llvm;

namespace {

// N = 4 tokens, C = 16 features, hidden 32. Pre-norm LayerNorm before attention,
// BatchNorm before the FFN (folds into fc1), fc2 without bias.
const char *kSpec = R"(# a tiny ViTBNFFN-style block
block tiny (tokens = 4, dim = 16) {
  norm1 = layernorm(eps = 1e-6)
  attn  = attention(heads = 2)
  norm2 = batchnorm()
  fc1   = linear(16 -> 32)
  fc2   = linear(32 -> 16, bias = false)

  x = x + attn(norm1(x))
  x = x + fc2(gelu(fc1(norm2(x))))
}
)";
constexpr int64_t N = 4, C = 16, H = 32;

struct WeightInfo {
  std::vector<int64_t> shape;
  std::string dtype;
  bool used;
  bool operator==(const WeightInfo &o) const {
    return shape == o.shape && dtype == o.dtype && used == o.used;
  }
};

std::ostream &operator<<(std::ostream &os, const WeightInfo &w) {
  os << "{[";
  for (int64_t d : w.shape)
    os << d << ",";
  return os << "], " << w.dtype << ", used=" << w.used << "}";
}

std::vector<int64_t> intArray(const json::Value *value) {
  std::vector<int64_t> result;
  const json::Array *array = value ? value->getAsArray() : nullptr;
  if (!array)
    return {-999};
  for (const json::Value &v : *array)
    result.push_back(v.getAsInteger().value_or(-999));
  return result;
}

/// Compiles kSpec once for all tests of the suite.
class ManifestTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    SmallString<128> dir;
    ASSERT_FALSE(sys::fs::createUniqueDirectory("blockc-compiler-test", dir));
    tempDir = std::string(dir);
    specPath = tempDir + "/tiny.block";
    {
      std::error_code ec;
      raw_fd_ostream os(specPath, ec);
      ASSERT_FALSE(ec) << ec.message();
      os << kSpec;
    }
    blockc::CompileOptions options;
    options.specPath = specPath;
    options.outputDir = tempDir + "/out";
    status = blockc::compileSpecFile(options);
    if (status != 0)
      return;
    auto buffer = MemoryBuffer::getFile(tempDir + "/out/manifest.json");
    ASSERT_TRUE(bool(buffer));
    Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
    ASSERT_TRUE(bool(parsed)) << toString(parsed.takeError());
    manifest = new json::Value(std::move(*parsed));
  }

  static void TearDownTestSuite() {
    delete manifest;
    manifest = nullptr;
    if (!tempDir.empty())
      sys::fs::remove_directories(tempDir);
  }

  void SetUp() override {
    ASSERT_EQ(status, 0) << "compileSpecFile failed";
    ASSERT_TRUE(manifest && manifest->getAsObject());
    root = manifest->getAsObject();
  }

  static std::string tempDir, specPath;
  static int status;
  static json::Value *manifest;
  const json::Object *root = nullptr;
};

std::string ManifestTest::tempDir, ManifestTest::specPath;
int ManifestTest::status = -1;
json::Value *ManifestTest::manifest = nullptr;

TEST_F(ManifestTest, Header) {
  EXPECT_EQ(root->getInteger("abi_version"), 2);
  EXPECT_EQ(root->getString("block"), "tiny");
  // A block: one input x and one output y, [B, N, C] each, and so tokens and dim.
  EXPECT_EQ(root->getInteger("tokens"), N);
  EXPECT_EQ(root->getInteger("dim"), C);
  EXPECT_EQ(root->getString("arch"), "x86-64");
  const json::Array *inputs = root->getArray("inputs");
  const json::Array *outputs = root->getArray("outputs");
  ASSERT_TRUE(inputs && outputs);
  ASSERT_EQ(inputs->size(), 1u);
  ASSERT_EQ(outputs->size(), 1u);
  const json::Object *input = (*inputs)[0].getAsObject();
  const json::Object *output = (*outputs)[0].getAsObject();
  ASSERT_TRUE(input && output);
  EXPECT_EQ(input->getString("name"), "x");
  EXPECT_EQ(output->getString("name"), "y");
  EXPECT_EQ(intArray(input->get("shape")), (std::vector<int64_t>{-1, N, C}));
  EXPECT_EQ(intArray(output->get("shape")), (std::vector<int64_t>{-1, N, C}));
  EXPECT_EQ(input->getString("dtype"), "F32");
  EXPECT_EQ(output->getString("dtype"), "F32");
  EXPECT_TRUE(sys::fs::exists(tempDir + "/out/module.so"));
}

TEST_F(ManifestTest, SpecHashIsTheSha256OfTheFile) {
  auto file = MemoryBuffer::getFile(specPath);
  ASSERT_TRUE(bool(file));
  std::string expected =
      toHex(SHA256::hash(arrayRefFromStringRef((*file)->getBuffer())), /*LowerCase=*/true);
  EXPECT_EQ(expected.size(), 64u);
  EXPECT_EQ(root->getString("spec_hash"), expected);
}

TEST_F(ManifestTest, WeightsAreExactlyTheStateDict) {
  const json::Array *weights = root->getArray("weights");
  ASSERT_TRUE(weights);
  std::map<std::string, WeightInfo> actual;
  for (const json::Value &w : *weights) {
    const json::Object *object = w.getAsObject();
    ASSERT_TRUE(object);
    std::string name = object->getString("name").value_or("").str();
    EXPECT_EQ(actual.count(name), 0u) << "duplicate weight " << name;
    actual[name] = {intArray(object->get("shape")),
                    object->getString("dtype").value_or("").str(),
                    object->getBoolean("used").value_or(true)};
  }
  std::map<std::string, WeightInfo> expected = {
      {"norm1.weight", {{C}, "F32", true}},
      {"norm1.bias", {{C}, "F32", true}},
      {"attn.qkv.weight", {{3 * C, C}, "F32", true}},
      {"attn.qkv.bias", {{3 * C}, "F32", true}},
      {"attn.proj.weight", {{C, C}, "F32", true}},
      {"attn.proj.bias", {{C}, "F32", true}},
      {"norm2.weight", {{C}, "F32", true}},
      {"norm2.bias", {{C}, "F32", true}},
      {"norm2.running_mean", {{C}, "F32", true}},
      {"norm2.running_var", {{C}, "F32", true}},
      {"norm2.num_batches_tracked", {{}, "I64", false}},
      {"fc1.weight", {{H, C}, "F32", true}},
      {"fc1.bias", {{H}, "F32", true}},
      {"fc2.weight", {{C, H}, "F32", true}},
  };
  EXPECT_EQ(actual, expected);
}

TEST_F(ManifestTest, FlopsPerSample) {
  // 2 N in out per linear, 4 N^2 C per attention.
  double linears = 2.0 * N * (C * 3 * C + C * C + C * H + H * C);
  double attention = 4.0 * N * N * C;
  std::optional<double> flops = root->getNumber("flops_per_sample");
  ASSERT_TRUE(flops);
  EXPECT_DOUBLE_EQ(*flops, linears + attention);
}

TEST_F(ManifestTest, KernelArgumentsReferToExistingStorage) {
  std::set<int64_t> constants, slots;
  std::map<int64_t, std::vector<int64_t>> constantShapes;
  for (const json::Value &c : *root->getArray("constants")) {
    int64_t id = c.getAsObject()->getInteger("id").value_or(-1);
    EXPECT_TRUE(constants.insert(id).second) << "duplicate constant " << id;
    constantShapes[id] = intArray(c.getAsObject()->get("shape"));
  }
  for (const json::Value &s : *root->getArray("slots")) {
    int64_t id = s.getAsObject()->getInteger("id").value_or(-1);
    EXPECT_TRUE(slots.insert(id).second) << "duplicate slot " << id;
    EXPECT_GT(s.getAsObject()->getInteger("elements_per_sample").value_or(0), 0);
  }
  EXPECT_FALSE(constants.empty());
  EXPECT_FALSE(slots.empty());
  StringMap<std::pair<std::string, bool>> weights; // name -> dtype, used
  for (const json::Value &w : *root->getArray("weights"))
    weights[*w.getAsObject()->getString("name")] = {
        w.getAsObject()->getString("dtype").value_or("").str(),
        w.getAsObject()->getBoolean("used").value_or(true)};

  bool sawInput = false, sawOutput = false;
  std::set<std::string> names;
  std::set<int64_t> written; // constants written by the prepare kernels so far
  for (const char *list : {"prepare", "run"}) {
    bool prepare = StringRef(list) == "prepare";
    const json::Array *kernels = root->getArray(list);
    ASSERT_TRUE(kernels) << list;
    EXPECT_FALSE(kernels->empty()) << list;
    for (const json::Value &k : *kernels) {
      const json::Object *kernel = k.getAsObject();
      ASSERT_TRUE(kernel);
      std::string name = kernel->getString("name").value_or("").str();
      EXPECT_TRUE(names.insert(name).second) << "duplicate kernel " << name;
      EXPECT_EQ(kernel->getString("function"), "blockc_" + name);
      EXPECT_EQ(kernel->getString("kind").value_or("") == "prepare", prepare) << name;
      EXPECT_EQ(name[0], prepare ? 'p' : 'k') << name;
      const json::Array *args = kernel->getArray("args");
      ASSERT_TRUE(args && !args->empty()) << name;
      // A prepare kernel's outputs are its trailing arguments: constants not written
      // before. Everything a kernel reads was written before it runs.
      size_t outputs = 0;
      for (const json::Value &a : llvm::reverse(*args)) {
        const json::Object *arg = a.getAsObject();
        if (!prepare || !arg || arg->getString("source") != "constant" ||
            written.count(arg->getInteger("id").value_or(-1)))
          break;
        ++outputs;
      }
      if (prepare) {
        EXPECT_GE(outputs, 1u) << name << " writes no constant";
      }
      for (auto [index, a] : enumerate(*args)) {
        const json::Object *arg = a.getAsObject();
        ASSERT_TRUE(arg) << name;
        bool isOutput = index + outputs >= args->size();
        std::string source = arg->getString("source").value_or("").str();
        std::vector<int64_t> shape = intArray(arg->get("shape"));
        std::vector<int64_t> strides = intArray(arg->get("strides"));
        EXPECT_EQ(shape.size(), strides.size()) << name;
        for (int64_t stride : strides)
          EXPECT_GT(stride, 0) << name;
        bool batched = llvm::any_of(shape, [](int64_t d) { return d < 0; });
        if (source == "weight") {
          std::string weight = arg->getString("name").value_or("").str();
          ASSERT_TRUE(weights.count(weight)) << name << " reads unknown weight " << weight;
          EXPECT_EQ(weights[weight].first, "F32") << weight;
          EXPECT_TRUE(weights[weight].second) << weight << " is not used";
          EXPECT_FALSE(batched) << name;
        } else if (source == "constant") {
          int64_t id = arg->getInteger("id").value_or(-1);
          EXPECT_TRUE(constants.count(id)) << name << " uses unknown constant " << id;
          EXPECT_FALSE(batched) << name;
          if (isOutput) {
            // Row-major, or a CPU matmul's weight [in, out] as panels [out / P, in, P].
            const std::vector<int64_t> &constant = constantShapes[id];
            const bool panels = shape.size() == 3 && constant.size() == 2 &&
                                shape[1] == constant[0] && shape[0] * shape[2] == constant[1];
            EXPECT_TRUE(shape == constant || panels)
                << name << " writes constant " << id << " through a view of another shape";
          } else {
            EXPECT_TRUE(written.count(id)) << name << " reads constant " << id
                                           << " before a prepare kernel writes it";
          }
        } else if (source == "slot") {
          int64_t id = arg->getInteger("id").value_or(-1);
          EXPECT_TRUE(slots.count(id)) << name << " uses unknown slot " << id;
          EXPECT_FALSE(prepare) << name << ": a prepare kernel uses a slot";
        } else if (source == "input" || source == "output") {
          EXPECT_FALSE(prepare) << name << ": a prepare kernel touches " << source;
          EXPECT_EQ(arg->getInteger("index"), 0) << name; // a block's one input and output
          (source == "input" ? sawInput : sawOutput) = true;
        } else {
          ADD_FAILURE() << name << ": unknown source '" << source << "'";
        }
        EXPECT_GE(arg->getInteger("offset").value_or(0), 0) << name;
      }
      for (size_t i = args->size() - outputs; i < args->size(); ++i)
        written.insert((*args)[i].getAsObject()->getInteger("id").value_or(-1));
    }
  }
  EXPECT_TRUE(sawInput);
  EXPECT_TRUE(sawOutput);
  // Every constant is written by a prepare kernel.
  EXPECT_EQ(written, constants);
  // The last run kernel writes the caller's output.
  const json::Object *lastRun = root->getArray("run")->back().getAsObject();
  EXPECT_EQ(lastRun->getArray("args")->back().getAsObject()->getString("source"), "output");
}

TEST_F(ManifestTest, KernelsMatchThePipeline) {
  std::vector<std::string> prepare, run;
  for (const json::Value &k : *root->getArray("prepare"))
    prepare.push_back(k.getAsObject()->getString("name").value_or("").str());
  for (const json::Value &k : *root->getArray("run"))
    run.push_back(k.getAsObject()->getString("name").value_or("").str());
  EXPECT_EQ(prepare, (std::vector<std::string>{"p0_transpose", "p1_transpose",
                                               "p2_transpose", "p3_fold_bn_input",
                                               "p4_transpose"}));
  EXPECT_EQ(run, (std::vector<std::string>{"k0_matmul", "k1_attention", "k2_matmul",
                                           "k3_matmul", "k4_matmul"}));
}

TEST(CompileSpecFile, ErrorsReturnNonZeroAndWriteNothing) {
  SmallString<128> dir;
  ASSERT_FALSE(sys::fs::createUniqueDirectory("blockc-compiler-test-bad", dir));
  std::string spec = std::string(dir) + "/bad.block";
  {
    std::error_code ec;
    raw_fd_ostream os(spec, ec);
    ASSERT_FALSE(ec);
    os << "block bad (tokens = 4, dim = 8) {\n  fc = linear(16 -> 8)\n  x = fc(x)\n}\n";
  }
  blockc::CompileOptions options;
  options.specPath = spec;
  options.outputDir = std::string(dir) + "/out";
  testing::internal::CaptureStderr();
  int status = blockc::compileSpecFile(options);
  std::string errors = testing::internal::GetCapturedStderr();
  EXPECT_NE(status, 0);
  EXPECT_NE(errors.find("bad.block:3:7: error: linear layer 'fc' expects 16 input features"),
            std::string::npos)
      << errors;
  EXPECT_FALSE(sys::fs::exists(options.outputDir + "/module.so"));
  EXPECT_FALSE(sys::fs::exists(options.outputDir + "/manifest.json"));

  options.specPath = std::string(dir) + "/missing.block";
  testing::internal::CaptureStderr();
  EXPECT_NE(blockc::compileSpecFile(options), 0);
  errors = testing::internal::GetCapturedStderr();
  EXPECT_NE(errors.find("cannot read"), std::string::npos) << errors;
  sys::fs::remove_directories(dir);
}

TEST(EmitModule, AnOutputMustBeWrittenByAKernel) {
  // A model's input and output named by blockc.name; the input returned as it is.
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect, blockc::BlockcDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(R"(
    func.func @m(%arg0: tensor<?x3x8x8xf32> {blockc.name = "pixel_values"})
        -> (tensor<?x3x8x8xf32> {blockc.name = "image"}) {
      return %arg0 : tensor<?x3x8x8xf32>
    })",
                                                                                   &context);
  ASSERT_TRUE(module);
  SmallString<128> dir;
  ASSERT_FALSE(sys::fs::createUniqueDirectory("blockc-emit-test", dir));
  blockc::EmitOptions options;
  options.outputDir = std::string(dir) + "/out";
  Expected<blockc::EmitSummary> summary = blockc::emitModule(*module, options);
  ASSERT_FALSE(bool(summary));
  EXPECT_EQ(toString(summary.takeError()),
            "output 0 ('image') returns an input unchanged; no kernel writes it");
  EXPECT_FALSE(sys::fs::exists(options.outputDir + "/module.so"));
  sys::fs::remove_directories(dir);
}

} // namespace
