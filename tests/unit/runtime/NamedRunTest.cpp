//===- NamedRunTest.cpp - named inputs and outputs (blockc_module_run_named) ---===//
//
// The MULTI_IO fixture (fixtures/fixture_module.c): inputs pixel_values [B, 2, 3, 4] and
// mask [B, 5], outputs logits [B, 5] and features [B, 2, 3], run through
// blockc_module_run_named and checked against a naive computation; every mistake in the
// caller's tensors is an error naming the tensor.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "blockc/runtime.h"
#include "blockc/runtime.hpp"

#include <functional>

using namespace blockc_test;

// CApiSmoke.c.
extern "C" blockc_status blockc_test_tensor_info_of_kind(const blockc_module *module, int kind,
                                                        blockc_tensor_info *info);

namespace {

/// The tensors of one run of the MULTI_IO fixture, host memory, batch B.
struct ModelRun {
  explicit ModelRun(int64_t batch)
      : pixelShape{batch, 2, 3, 4}, maskShape{batch, 5}, logitsShape{batch, 5},
        featuresShape{batch, 2, 3}, pixels(iota(static_cast<size_t>(batch) * 24, -3.0f)),
        mask(iota(static_cast<size_t>(batch) * 5, 1.0f, -0.5f)),
        logits(static_cast<size_t>(batch) * 5, -1.0f),
        features(static_cast<size_t>(batch) * 6, -1.0f) {
    inputs = {{"pixel_values", blockc::hostTensor(pixels.data(), pixelShape)},
              {"mask", blockc::hostTensor(mask.data(), maskShape)}};
    outputs = {{"logits", blockc::hostTensor(logits.data(), logitsShape)},
               {"features", blockc::hostTensor(features.data(), featuresShape)}};
  }
  ModelRun(const ModelRun &) = delete; // the tensors point into this object

  blockc_status run(blockc_module *m) const {
    return blockc_module_run_named(m, inputs.data(), inputs.size(), outputs.data(),
                                   outputs.size());
  }

  /// What the fixture computes (see fixture_module.c), from the inputs.
  void expectOutputs() const {
    const std::vector<float> scale = fixtureScale(), bias = fixtureBias();
    std::vector<float> l(logits.size()), f(features.size());
    for (size_t b = 0; b < logits.size() / 5; ++b) {
      for (size_t row = 0; row < 6; ++row) {
        float sum = bias[row];
        for (size_t w = 0; w < 4; ++w)
          sum += pixels[b * 24 + row * 4 + w];
        f[b * 6 + row] = sum;
      }
      for (size_t j = 0; j < 5; ++j)
        l[b * 5 + j] = mask[b * 5 + j] * scale[j] + pixels[b * 24 + j];
    }
    EXPECT_EQ(logits, l);
    EXPECT_EQ(features, f);
  }

  std::vector<int64_t> pixelShape, maskShape, logitsShape, featuresShape;
  std::vector<float> pixels, mask, logits, features;
  std::vector<blockc_named_tensor> inputs, outputs;
};

class NamedRunTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    model_.bindWeights(writeFile("w.safetensors", safetensorsFile(fixtureWeights())));
  }
  blockc::Module model_{BLOCKC_FIXTURE_MULTI_IO};
};

TEST_F(NamedRunTest, ReportsInputsAndOutputs) {
  blockc_module_info info;
  ASSERT_EQ(blockc_module_get_info(model_.get(), &info), BLOCKC_OK);
  EXPECT_EQ(info.num_inputs, 2);
  EXPECT_EQ(info.num_outputs, 2);
  EXPECT_EQ(info.tokens, 0); // not a block module
  EXPECT_EQ(info.output_dim, 0);

  const std::vector<blockc_tensor_info> inputs = model_.inputs(), outputs = model_.outputs();
  ASSERT_EQ(inputs.size(), 2u);
  ASSERT_EQ(outputs.size(), 2u);
  auto shapeOf = [](const blockc_tensor_info &t) {
    return std::vector<int64_t>(t.shape, t.shape + t.rank);
  };
  EXPECT_STREQ(inputs[0].name, "pixel_values");
  EXPECT_EQ(shapeOf(inputs[0]), (std::vector<int64_t>{-1, 2, 3, 4}));
  EXPECT_STREQ(inputs[1].name, "mask");
  EXPECT_EQ(shapeOf(inputs[1]), (std::vector<int64_t>{-1, 5}));
  EXPECT_STREQ(outputs[0].name, "logits");
  EXPECT_EQ(shapeOf(outputs[0]), (std::vector<int64_t>{-1, 5}));
  EXPECT_STREQ(outputs[1].name, "features");
  EXPECT_EQ(shapeOf(outputs[1]), (std::vector<int64_t>{-1, 2, 3}));
  EXPECT_EQ(outputs[1].dtype.code, kDLFloat);
  EXPECT_EQ(outputs[1].dtype.bits, 32);
  EXPECT_EQ(outputs[1].dtype.lanes, 1);

  blockc_tensor_info t;
  EXPECT_EQ(blockc_module_get_tensor_info(model_.get(), BLOCKC_OUTPUT, 2, &t),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "output index 2 is not in [0, 2)");
  EXPECT_EQ(blockc_test_tensor_info_of_kind(model_.get(), 7, &t), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "kind 7 is neither BLOCKC_INPUT nor BLOCKC_OUTPUT");
  EXPECT_EQ(blockc_module_get_tensor_info(model_.get(), BLOCKC_INPUT, 0, nullptr),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  int32_t count = 0;
  EXPECT_EQ(blockc_module_num_inputs(nullptr, &count), BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(blockc_module_num_outputs(model_.get(), nullptr), BLOCKC_ERROR_INVALID_ARGUMENT);

  // A block module: one input and one output, tokens and dim.
  blockc::Module block(BLOCKC_FIXTURE_OK);
  EXPECT_EQ(block.info().num_inputs, 1);
  EXPECT_EQ(block.info().num_outputs, 1);
  EXPECT_STREQ(block.inputs()[0].name, "x");
  EXPECT_STREQ(block.outputs()[0].name, "y");
}

TEST_F(NamedRunTest, RunsAgainstANaiveComputation) {
  for (int64_t batch : {1, 3, 8}) {
    ModelRun r(batch);
    ASSERT_EQ(r.run(model_.get()), BLOCKC_OK) << blockc_last_error();
    r.expectOutputs();
  }
  // Any order, explicit compact strides, any stride for an extent of 1, a byte_offset.
  ModelRun r(1);
  std::swap(r.inputs[0], r.inputs[1]);
  std::swap(r.outputs[0], r.outputs[1]);
  const int64_t pixelStrides[] = {999, 12, 4, 1};
  r.inputs[1].tensor.strides = const_cast<int64_t *>(pixelStrides);
  std::vector<float> shifted(r.mask.size() + 4, 0.0f);
  std::copy(r.mask.begin(), r.mask.end(), shifted.begin() + 4);
  r.inputs[0].tensor.data = shifted.data();
  r.inputs[0].tensor.byte_offset = 4 * sizeof(float);
  ASSERT_EQ(r.run(model_.get()), BLOCKC_OK) << blockc_last_error();
  r.expectOutputs();

  // Profiled: one time per kernel.
  ModelRun p(2);
  const std::vector<double> seconds = model_.runNamedProfiled(p.inputs, p.outputs);
  EXPECT_EQ(seconds.size(), 2u);
  p.expectOutputs();
}

TEST_F(NamedRunTest, BlockModulesRunNamedToo) {
  blockc::Module block(BLOCKC_FIXTURE_OK);
  block.bindWeights(writeFile("b.safetensors", safetensorsFile(fixtureWeights())));
  const std::vector<int64_t> shape{2, 4, 8};
  std::vector<float> x = iota(64), y(64);
  block.runNamed({{"x", blockc::hostTensor(x.data(), shape)}},
                 {{"y", blockc::hostTensor(y.data(), shape)}});
  EXPECT_EQ(y, fixtureExpected(x));
}

TEST_F(NamedRunTest, SingleRunsNeedOneInputAndOneOutput) {
  std::vector<float> x(48), y(48);
  EXPECT_EQ(blockc_module_run(model_.get(), x.data(), 1, y.data()),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "run: the module has inputs pixel_values, mask and outputs "
                                  "logits, features; this call takes a module with one input "
                                  "and one output: use blockc_module_run_named");
  double seconds[2];
  EXPECT_EQ(blockc_module_run_profiled(model_.get(), x.data(), 1, y.data(), seconds, 2),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "use blockc_module_run_named");
}

TEST_F(NamedRunTest, RunBeforeBind) {
  blockc::Module fresh(BLOCKC_FIXTURE_MULTI_IO);
  ModelRun r(1);
  EXPECT_EQ(r.run(fresh.get()), BLOCKC_ERROR_NOT_BOUND);
  EXPECT_HAS(blockc_last_error(), "before weights were bound");
}

TEST_F(NamedRunTest, EveryMistakeIsAnErrorNamingTheTensor) {
  static const int64_t kBadStrides[] = {24, 12, 1, 3}; // column-major rows
  static const int64_t kBatchOf3[] = {3, 5};
  static const int64_t kWrongFeatures[] = {2, 3, 2};
  const std::vector<std::pair<std::function<void(ModelRun &)>, std::string>> cases = {
      {[](ModelRun &r) { r.inputs[0].name = "pixels"; },
       "run_named: input 'pixels' is not an input of the module; its inputs: pixel_values, "
       "mask; its outputs: logits, features"},
      {[](ModelRun &r) { r.inputs[1].name = "logits"; },
       "input 'logits' is not an input of the module (it is one of its outputs)"},
      {[](ModelRun &r) { r.outputs[1].name = "mask"; },
       "output 'mask' is not an output of the module (it is one of its inputs)"},
      {[](ModelRun &r) { r.inputs.pop_back(); },
       "run_named: input 'mask' is missing (the module's inputs: pixel_values, mask)"},
      {[](ModelRun &r) { r.outputs.erase(r.outputs.begin()); },
       "run_named: output 'logits' is missing (the module's outputs: logits, features)"},
      {[](ModelRun &r) { r.inputs.push_back(r.inputs[1]); },
       "run_named: input 'mask' is given twice"},
      {[](ModelRun &r) { r.inputs[1].name = nullptr; }, "run_named: inputs[1]: the name is null"},
      {[](ModelRun &r) { r.inputs[1].tensor.dtype.bits = 64; },
       "run_named: input 'mask': dtype must be float32 (kDLFloat, 32 bits, 1 lane), not code 2, "
       "64 bits, 1 lanes"},
      {[](ModelRun &r) { r.outputs[0].tensor.dtype.code = kDLInt; },
       "output 'logits': dtype must be float32"},
      {[](ModelRun &r) { r.outputs[1].tensor.dtype.lanes = 4; },
       "output 'features': dtype must be float32"},
      {[](ModelRun &r) { r.inputs[0].tensor.ndim = 3; },
       "run_named: input 'pixel_values': ndim is 3; the module's input is [B, 2, 3, 4]"},
      {[](ModelRun &r) { r.outputs[1].tensor.shape = const_cast<int64_t *>(kWrongFeatures); },
       "run_named: output 'features': shape [2, 3, 2] does not match the module's output "
       "[B, 2, 3]"},
      {[](ModelRun &r) { r.inputs[1].tensor.shape = nullptr; },
       "run_named: input 'mask': shape is null"},
      {[](ModelRun &r) { r.inputs[1].tensor.device = {kDLCUDA, 0}; },
       "run_named: input 'mask': must be host memory (kDLCPU) for this CPU module, not device "
       "type 2, id 0"},
      {[](ModelRun &r) { r.outputs[0].tensor.device.device_id = 1; },
       "run_named: output 'logits': a kDLCPU tensor has device id 0, not 1"},
      {[](ModelRun &r) { r.inputs[0].tensor.strides = const_cast<int64_t *>(kBadStrides); },
       "run_named: input 'pixel_values': strides [24, 12, 1, 3] are not those of a compact "
       "row-major array ([24, 12, 4, 1], or NULL)"},
      {[](ModelRun &r) { r.outputs[0].tensor.shape = const_cast<int64_t *>(kBatchOf3); },
       "run_named: output 'logits': batch 3 differs from batch 2 of input 'pixel_values'"},
      {[](ModelRun &r) { r.pixelShape[0] = 0; },
       "run_named: input 'pixel_values': batch must be >= 1, got 0 (its shape[0])"},
      {[](ModelRun &r) { r.inputs[1].tensor.data = nullptr; },
       "run_named: input 'mask': data is null"},
      {[](ModelRun &r) { r.outputs[1].tensor.byte_offset = 2; },
       "run_named: output 'features': data + byte_offset is not 4-byte aligned"},
      {[](ModelRun &r) { r.outputs[1].tensor.data = r.logits.data() + 9; },
       "run_named: output 'features' overlaps output 'logits'"},
      {[](ModelRun &r) { r.outputs[0].tensor.data = r.mask.data() + 9; },
       "run_named: output 'logits' overlaps input 'mask'"},
      {[](ModelRun &r) { r.outputs[0].tensor.byte_offset = uint64_t(-8); },
       "run_named: output 'logits': data + byte_offset + its 5 * 2 elements go past the end of "
       "the address space"},
  };
  for (const auto &[mistake, message] : cases) {
    ModelRun r(2);
    mistake(r);
    EXPECT_EQ(r.run(model_.get()), BLOCKC_ERROR_INVALID_ARGUMENT) << message;
    EXPECT_HAS(blockc_last_error(), message);
    EXPECT_EQ(r.logits, std::vector<float>(10, -1.0f)) << "written despite: " << message;
  }
  // Adjacent outputs and inputs sharing memory are fine.
  ModelRun r(2);
  std::vector<float> both(22);
  r.outputs[0].tensor.data = both.data();
  r.outputs[1].tensor.data = both.data() + 10;
  r.inputs[1].tensor.data = r.pixels.data();
  EXPECT_EQ(r.run(model_.get()), BLOCKC_OK) << blockc_last_error();

  ModelRun n(1);
  EXPECT_EQ(blockc_module_run_named(model_.get(), nullptr, 2, n.outputs.data(), 2),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "run_named: inputs is null, with num_inputs 2");
  EXPECT_EQ(blockc_module_run_named(nullptr, n.inputs.data(), 2, n.outputs.data(), 2),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "blockc_module_run_named: module is null");
  double one[1];
  EXPECT_EQ(blockc_module_run_named_profiled(model_.get(), n.inputs.data(), 2,
                                             n.outputs.data(), 2, one, 1),
            BLOCKC_ERROR_INVALID_ARGUMENT);
  EXPECT_HAS(blockc_last_error(), "one entry per run kernel (2), got count 1");
}

} // namespace
