//===- PipelineTest.cpp - the pass pipeline through the C++ API -----------===//
//
// Each norm type and placement goes through blockc::buildBlockPipeline; the tests check
// which kernels come out (kinds, and the ops each one computes), that BatchNorms are gone
// where they fold, and that the buffer plan is present and valid: every run kernel has
// its slots, no slot is overwritten while a tensor in it is still to be read, slots are
// large enough, and only the block result goes to the caller's output.
//
//===----------------------------------------------------------------------===//

#include "CompilerTestUtil.h"

#include "blockc/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"

#include <gtest/gtest.h>

#include <set>

using namespace blockc;
using namespace blockc::test;
using namespace mlir;

namespace {

using OpList = std::vector<std::string>;

/// A kernel as the tests see it: kind, name and the ops of its body.
struct Kernel {
  std::string kind, name;
  OpList ops;
};

class PipelineTest : public ::testing::Test {
protected:
  /// Generates `source` and runs the pipeline; fails the test if either fails.
  func::FuncOp compile(llvm::StringRef source) {
    gen = generate(context, source);
    EXPECT_TRUE(gen.module) << gen.diagnostics;
    if (!gen.module)
      return {};
    PassManager pm(&context);
    buildBlockPipeline(pm);
    EXPECT_TRUE(succeeded(pm.run(*gen.module)));
    EXPECT_TRUE(succeeded(verify(*gen.module)));
    return gen.func();
  }

  static std::vector<Kernel> kernels(func::FuncOp func, bool prepare) {
    std::vector<Kernel> result;
    for (KernelOp kernel : collect<KernelOp>(func))
      if ((kernel.getKind() == KernelKind::Prepare) == prepare)
        result.push_back({stringifyKernelKind(kernel.getKind()).str(), kernel.getSymName().str(),
                          opNames(kernel.getBody().front())});
    return result;
  }

  static std::vector<std::string> kinds(const std::vector<Kernel> &ks) {
    std::vector<std::string> result;
    for (const Kernel &k : ks)
      result.push_back(k.kind);
    return result;
  }

  static std::vector<OpList> bodies(const std::vector<Kernel> &ks) {
    std::vector<OpList> result;
    for (const Kernel &k : ks)
      result.push_back(k.ops);
    return result;
  }

  /// The first op of each prepare kernel (each holds one op).
  static OpList prepareOps(func::FuncOp func) {
    OpList result;
    for (const Kernel &k : kernels(func, /*prepare=*/true)) {
      EXPECT_EQ(k.ops.size(), 1u) << k.name;
      result.push_back(k.ops.empty() ? "" : k.ops.front());
    }
    return result;
  }

  /// Checks everything that must hold after the pipeline for any block.
  static void checkInvariants(func::FuncOp func, int maxSlots);

  MLIRContext context;
  Generated gen;
};

int64_t elementsPerSample(Value value) {
  auto shape = cast<RankedTensorType>(value.getType()).getShape();
  return shape[1] * shape[2];
}

void PipelineTest::checkInvariants(func::FuncOp func, int maxSlots) {
  Block &body = func.getBody().front();
  // Outside kernels only weights and the return are left.
  for (Operation &op : body)
    EXPECT_TRUE((isa<WeightOp, KernelOp, func::ReturnOp>(op)))
        << "op outside a kernel: " << op.getName().getStringRef().str();

  auto slotSizesAttr = BlockcDialect::SlotSizesAttrHelper(func.getContext()).getAttr(func);
  ASSERT_TRUE(slotSizesAttr) << "no " << BlockcDialect::SlotSizesAttrHelper::getNameStr().str();
  std::vector<int64_t> slotSizes = slotSizesAttr.asArrayRef().vec();
  EXPECT_LE(int(slotSizes.size()), maxSlots);

  // Kernel names: p<i>_... and k<i>_<kind>, numbered in order.
  int prepared = 0, ran = 0;
  std::set<int64_t> constantIds;
  int64_t constantCount = 0;
  std::vector<KernelOp> run;
  for (KernelOp kernel : collect<KernelOp>(func)) {
    std::string name = kernel.getSymName().str();
    if (kernel.getKind() == KernelKind::Prepare) {
      EXPECT_EQ(name.rfind("p" + std::to_string(prepared++) + "_", 0), 0u) << name;
      EXPECT_FALSE(kernel.getSlots()) << name;
      auto ids = kernel.getConstants();
      ASSERT_TRUE(ids) << name << " has no constants";
      EXPECT_EQ(ids->size(), kernel.getNumResults()) << name;
      for (int64_t id : *ids)
        EXPECT_TRUE(constantIds.insert(id).second) << name;
      constantCount += kernel.getNumResults();
      // Prepare kernels read weights and constants only.
      for (Value input : kernel.getInputs()) {
        Operation *def = input.getDefiningOp();
        EXPECT_TRUE(def && (isa<WeightOp>(def) ||
                            (isa<KernelOp>(def) &&
                             cast<KernelOp>(def).getKind() == KernelKind::Prepare)))
            << name << " reads a run-time value";
      }
    } else {
      EXPECT_EQ(name, "k" + std::to_string(ran++) + "_" +
                          stringifyKernelKind(kernel.getKind()).str());
      EXPECT_FALSE(kernel.getConstants()) << name;
      run.push_back(kernel);
    }
  }
  // Constant ids are 0..n-1.
  if (!constantIds.empty()) {
    EXPECT_EQ(*constantIds.begin(), 0);
    EXPECT_EQ(*constantIds.rbegin(), constantCount - 1);
  }

  // Slots: present on every run kernel, one per result, in range; the block result (and
  // only it) goes to the output (-1).
  Value output = body.getTerminator()->getOperand(0);
  llvm::DenseMap<Value, int64_t> slotOf;
  llvm::DenseMap<Value, size_t> definedAt, lastRead;
  for (auto [index, kernel] : llvm::enumerate(run)) {
    auto slots = kernel.getSlots();
    ASSERT_TRUE(slots) << kernel.getSymName().str() << " has no slots";
    ASSERT_EQ(slots->size(), kernel.getNumResults()) << kernel.getSymName().str();
    for (auto [result, slot] : llvm::zip(kernel.getResults(), *slots)) {
      if (result == output) {
        EXPECT_EQ(slot, -1) << kernel.getSymName().str();
        continue;
      }
      ASSERT_GE(slot, 0) << kernel.getSymName().str();
      ASSERT_LT(slot, int64_t(slotSizes.size())) << kernel.getSymName().str();
      EXPECT_GE(slotSizes[slot], elementsPerSample(result)) << kernel.getSymName().str();
      slotOf[result] = slot;
      definedAt[result] = index;
    }
    for (Value input : kernel.getInputs())
      lastRead[input] = index;
  }
  // No slot is written while another tensor in it is still to be read: for two values in
  // one slot, the later one is defined after the last read of the earlier one (a kernel
  // never writes a slot it reads).
  for (auto &[a, slotA] : slotOf)
    for (auto &[b, slotB] : slotOf) {
      if (a == b || slotA != slotB || definedAt[a] > definedAt[b])
        continue;
      size_t aDead = lastRead.count(a) ? lastRead[a] : definedAt[a];
      EXPECT_GT(definedAt[b], aDead)
          << "slot " << slotA << " overwritten while still live (kernels "
          << definedAt[a] << " and " << definedAt[b] << ")";
    }
}

// --- The blocks (4 tokens, 8 features, 2 heads) -------------------------------------

const char *kPreNormLN = R"(block b (tokens = 4, dim = 8) {
  norm1 = layernorm(eps = 1e-6)
  attn  = attention(heads = 2)
  norm2 = layernorm(eps = 1e-6)
  fc1   = linear(8 -> 16)
  fc2   = linear(16 -> 8)
  x = x + attn(norm1(x))
  x = x + fc2(gelu(fc1(norm2(x))))
}
)";

const char *kPostNormLN = R"(block b (tokens = 4, dim = 8) {
  norm1 = layernorm(eps = 1e-6)
  attn  = attention(heads = 2)
  norm2 = layernorm(eps = 1e-6)
  fc1   = linear(8 -> 16)
  fc2   = linear(16 -> 8)
  x = norm1(x + attn(x))
  x = norm2(x + fc2(gelu(fc1(x))))
}
)";

const char *kViTBN = R"(block b (tokens = 4, dim = 8) {
  norm1 = batchnorm()
  attn  = attention(heads = 2)
  norm2 = batchnorm()
  fc1   = linear(8 -> 16)
  fc2   = linear(16 -> 8)
  x = x + attn(norm1(x))
  x = x + fc2(gelu(fc1(norm2(x))))
}
)";

const char *kViTBNFFN = R"(block b (tokens = 4, dim = 8) {
  norm1 = layernorm(eps = 1e-6)
  attn  = attention(heads = 2)
  norm2 = batchnorm()
  fc1   = linear(8 -> 16)
  fc2   = linear(16 -> 8)
  x = x + attn(norm1(x))
  x = x + fc2(gelu(fc1(norm2(x))))
}
)";

const char *kBNBetweenFFNLinears = R"(block b (tokens = 4, dim = 8) {
  norm1    = layernorm(eps = 1e-6)
  attn     = attention(heads = 2)
  norm2    = layernorm(eps = 1e-6)
  fc1      = linear(8 -> 16)
  mlp.norm = batchnorm()
  fc2      = linear(16 -> 8)
  x = x + attn(norm1(x))
  x = x + fc2(gelu(mlp.norm(fc1(norm2(x)))))
}
)";

const char *kRMSNorm = R"(block b (tokens = 4, dim = 8) {
  norm1 = rmsnorm()
  attn  = attention(heads = 2)
  norm2 = rmsnorm()
  fc1   = linear(8 -> 16)
  fc2   = linear(16 -> 8)
  x = x + attn(norm1(x))
  x = x + fc2(gelu(fc1(norm2(x))))
}
)";

const char *kSandwich = R"(block b (tokens = 4, dim = 8) {
  norm1      = layernorm()
  attn       = attention(heads = 2)
  norm1_post = layernorm()
  norm2      = layernorm()
  fc1        = linear(8 -> 16)
  fc2        = linear(16 -> 8)
  norm2_post = layernorm()
  x = x + norm1_post(attn(norm1(x)))
  x = x + norm2_post(fc2(gelu(fc1(norm2(x)))))
}
)";

const char *kLayerScaleDeepNorm = R"(block b (tokens = 4, dim = 8) {
  norm1 = layernorm()
  attn  = attention(heads = 2)
  ls1   = layerscale()
  norm2 = layernorm()
  fc1   = linear(8 -> 16)
  fc2   = linear(16 -> 8)
  x = x + ls1(attn(norm1(x)))
  x = norm2(x * 2.0 + fc2(relu(fc1(x))))
}
)";

const char *kBertSeparateQKV = R"(block b (tokens = 4, dim = 8) {
  q    = linear(8 -> 8)
  k    = linear(8 -> 8)
  v    = linear(8 -> 8)
  o    = linear(8 -> 8)
  ln1  = layernorm(eps = 1e-12)
  up   = linear(8 -> 16)
  down = linear(16 -> 8)
  ln2  = layernorm(eps = 1e-12)
  ctx = mha(q(x), k(x), v(x), heads = 2)
  x = ln1(x + o(ctx))
  x = ln2(x + down(gelu(up(x))))
}
)";

const OpList kAttention = {"slice", "slice", "slice", "mha"};
const OpList kFourTransposes = {"transpose", "transpose", "transpose", "transpose"};

TEST_F(PipelineTest, PreNormLayerNorm) {
  func::FuncOp func = compile(kPreNormLN);
  ASSERT_TRUE(func);
  auto run = kernels(func, false);
  EXPECT_EQ(kinds(run), (OpList{"matmul", "attention", "matmul", "matmul", "matmul"}));
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"layer_norm", "linear"},
                                              kAttention,
                                              {"linear", "add"},
                                              {"layer_norm", "linear", "gelu"},
                                              {"linear", "add"}}));
  EXPECT_EQ(prepareOps(func), kFourTransposes);
  checkInvariants(func, 2);
}

TEST_F(PipelineTest, PostNormLayerNorm) {
  func::FuncOp func = compile(kPostNormLN);
  ASSERT_TRUE(func);
  auto run = kernels(func, false);
  EXPECT_EQ(kinds(run), (OpList{"matmul", "attention", "matmul", "norm", "matmul", "matmul",
                                "norm"}));
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"linear"},
                                              kAttention,
                                              {"linear"},
                                              {"add", "layer_norm"},
                                              {"linear", "gelu"},
                                              {"linear"},
                                              {"add", "layer_norm"}}));
  EXPECT_EQ(prepareOps(func), kFourTransposes);
  checkInvariants(func, 3);
}

TEST_F(PipelineTest, ViTBNFoldsBothBatchNorms) {
  func::FuncOp func = compile(kViTBN);
  ASSERT_TRUE(func);
  EXPECT_TRUE(collect<BatchNormOp>(func).empty());
  auto run = kernels(func, false);
  EXPECT_EQ(kinds(run), (OpList{"matmul", "attention", "matmul", "matmul", "matmul"}));
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"linear"},
                                              kAttention,
                                              {"linear", "add"},
                                              {"linear", "gelu"},
                                              {"linear", "add"}}));
  EXPECT_EQ(prepareOps(func), (OpList{"transpose", "fold_bn_input", "transpose", "transpose",
                                      "fold_bn_input", "transpose"}));
  // The qkv and fc1 matmuls read the folded weight and bias (prepare results).
  for (KernelOp kernel : collect<KernelOp>(func)) {
    if (kernel.getSymName() != "k0_matmul" && kernel.getSymName() != "k3_matmul")
      continue;
    ASSERT_EQ(kernel.getInputs().size(), 3u);
    auto fold = kernel.getInputs()[1].getDefiningOp<KernelOp>();
    ASSERT_TRUE(fold);
    EXPECT_TRUE(StringRef(fold.getSymName()).ends_with("_fold_bn_input"));
    EXPECT_EQ(kernel.getInputs()[2].getDefiningOp(), fold.getOperation());
  }
  auto ignored = BlockcDialect::IgnoredWeightsAttrHelper(func.getContext()).getAttr(func);
  ASSERT_TRUE(ignored);
  EXPECT_EQ(ignored.size(), 2u);
  checkInvariants(func, 2);
}

TEST_F(PipelineTest, ViTBNFFN) {
  func::FuncOp func = compile(kViTBNFFN);
  ASSERT_TRUE(func);
  EXPECT_TRUE(collect<BatchNormOp>(func).empty());
  auto run = kernels(func, false);
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"layer_norm", "linear"},
                                              kAttention,
                                              {"linear", "add"},
                                              {"linear", "gelu"},
                                              {"linear", "add"}}));
  EXPECT_EQ(prepareOps(func),
            (OpList{"transpose", "transpose", "transpose", "fold_bn_input", "transpose"}));
  checkInvariants(func, 2);
}

TEST_F(PipelineTest, BatchNormBetweenFFNLinearsFoldsIntoFc1Output) {
  func::FuncOp func = compile(kBNBetweenFFNLinears);
  ASSERT_TRUE(func);
  EXPECT_TRUE(collect<BatchNormOp>(func).empty());
  auto run = kernels(func, false);
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"layer_norm", "linear"},
                                              kAttention,
                                              {"linear", "add"},
                                              {"layer_norm", "linear", "gelu"},
                                              {"linear", "add"}}));
  EXPECT_EQ(prepareOps(func),
            (OpList{"transpose", "transpose", "transpose", "fold_bn_output", "transpose"}));
  checkInvariants(func, 2);
}

TEST_F(PipelineTest, RMSNormIsAPrologueLikeLayerNorm) {
  func::FuncOp func = compile(kRMSNorm);
  ASSERT_TRUE(func);
  auto run = kernels(func, false);
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"rms_norm", "linear"},
                                              kAttention,
                                              {"linear", "add"},
                                              {"rms_norm", "linear", "gelu"},
                                              {"linear", "add"}}));
  EXPECT_EQ(prepareOps(func), kFourTransposes);
  checkInvariants(func, 2);
}

TEST_F(PipelineTest, SandwichNormTakesTheResidualAddAsEpilogue) {
  func::FuncOp func = compile(kSandwich);
  ASSERT_TRUE(func);
  auto run = kernels(func, false);
  EXPECT_EQ(kinds(run), (OpList{"matmul", "attention", "matmul", "norm", "matmul", "matmul",
                                "norm"}));
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"layer_norm", "linear"},
                                              kAttention,
                                              {"linear"},
                                              {"layer_norm", "add"},
                                              {"layer_norm", "linear", "gelu"},
                                              {"linear"},
                                              {"layer_norm", "add"}}));
  EXPECT_EQ(prepareOps(func), kFourTransposes);
  checkInvariants(func, 3);
}

TEST_F(PipelineTest, LayerScaleAndDeepNorm) {
  func::FuncOp func = compile(kLayerScaleDeepNorm);
  ASSERT_TRUE(func);
  auto run = kernels(func, false);
  EXPECT_EQ(kinds(run), (OpList{"matmul", "attention", "matmul", "elementwise", "matmul",
                                "matmul", "norm"}));
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"layer_norm", "linear"},
                                              kAttention,
                                              {"linear", "mul", "add"},
                                              {"scale"},
                                              {"linear", "relu"},
                                              {"linear"},
                                              {"add", "layer_norm"}}));
  checkInvariants(func, 3);
}

TEST_F(PipelineTest, SeparateQKVPostNorm) {
  func::FuncOp func = compile(kBertSeparateQKV);
  ASSERT_TRUE(func);
  // q, k and v are one matmul (blockc-merge-linears) whose result the attention slices.
  auto run = kernels(func, false);
  EXPECT_EQ(bodies(run), (std::vector<OpList>{{"linear"},
                                              kAttention,
                                              {"linear"},
                                              {"add", "layer_norm"},
                                              {"linear", "gelu"},
                                              {"linear"},
                                              {"add", "layer_norm"}}));
  // Prepare kernels: q, k and v's weights joined and transposed in one, their biases joined,
  // then the other three transposes.
  std::vector<OpList> prepare;
  for (const Kernel &k : kernels(func, /*prepare=*/true))
    prepare.push_back(k.ops);
  EXPECT_EQ(prepare, (std::vector<OpList>{{"concat", "transpose"},
                                          {"concat"},
                                          {"transpose"},
                                          {"transpose"},
                                          {"transpose"}}));
  // The joined weight holds q, k and v in that order.
  for (KernelOp kernel : collect<KernelOp>(func)) {
    if (kernel.getKind() != KernelKind::Attention)
      continue;
    ASSERT_EQ(kernel.getInputs().size(), 1u);
    auto matmul = kernel.getInputs()[0].getDefiningOp<KernelOp>();
    ASSERT_TRUE(matmul);
    auto join = matmul.getInputs()[1].getDefiningOp<KernelOp>();
    ASSERT_TRUE(join);
    const char *names[] = {"q.weight", "k.weight", "v.weight"};
    ASSERT_EQ(join.getInputs().size(), 3u);
    for (int i = 0; i < 3; ++i) {
      auto weight = join.getInputs()[i].getDefiningOp<WeightOp>();
      ASSERT_TRUE(weight);
      EXPECT_EQ(weight.getName(), names[i]);
    }
  }
  checkInvariants(func, 4);
}

TEST_F(PipelineTest, RunTwiceGivesTheSameKernels) {
  func::FuncOp first = compile(kViTBN);
  ASSERT_TRUE(first);
  std::vector<Kernel> a = kernels(first, false), ap = kernels(first, true);
  func::FuncOp second = compile(kViTBN);
  ASSERT_TRUE(second);
  std::vector<Kernel> b = kernels(second, false), bp = kernels(second, true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].ops, b[i].ops);
  }
  EXPECT_EQ(ap.size(), bp.size());
}

} // namespace
