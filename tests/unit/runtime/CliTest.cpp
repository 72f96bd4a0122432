//===- CliTest.cpp - the blockc command-line tool (run, bench, usage) -----===//
//
// Runs the built `blockc` binary (BLOCKC_CLI_PATH) on the test fixture module.
// `blockc compile` needs the real compiler and is tested end to end elsewhere;
// here only its usage errors are checked.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "blockc/Npy.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sys/wait.h>

using namespace blockc_test;

namespace {

struct Result {
  int code = -1;
  std::string output; // stdout and stderr
};

std::string shellQuote(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Result runCli(const std::string &args, bool stdoutOnly = false) {
  Result r;
  const std::string cmd =
      shellQuote(BLOCKC_CLI_PATH) + " " + args + (stdoutOnly ? " 2>/dev/null" : " 2>&1");
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class CliTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    weights_ = writeFile("w.safetensors", safetensorsFile(fixtureWeights()));
  }
  /// `blockc bench` on the fixture module with its weights and `options`.
  Result bench(const std::string &options, bool stdoutOnly = false) {
    return runCli("bench " + shellQuote(BLOCKC_FIXTURE_OK) + " --weights " + shellQuote(weights_) +
                      " " + options,
                  stdoutOnly);
  }
  /// The JSON object `bench --json` printed (an empty one, with a failure, if none).
  static boost::json::object jsonOf(const Result &r) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(r.output, ec);
    EXPECT_FALSE(ec || !v.is_object()) << r.output;
    return ec || !v.is_object() ? boost::json::object() : v.as_object();
  }
  std::string weights_;
};

TEST_F(CliTest, Help) {
  Result r = runCli("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_HAS(r.output, "usage: blockc <command>");
  for (const char *cmd : {"compile", "run", "bench"}) {
    r = runCli(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_HAS(r.output, std::string("usage: blockc ") + cmd);
  }
  r = runCli("bench --help");
  EXPECT_HAS(r.output, "--json");
  EXPECT_HAS(r.output, "--warmup");
}

TEST_F(CliTest, UsageErrorsExitWith2) {
  EXPECT_EQ(runCli("").code, 2);
  Result r = runCli("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_HAS(r.output, "unknown command 'frobnicate'");
  r = runCli("run --no-such-option");
  EXPECT_EQ(r.code, 2);
  EXPECT_HAS(r.output, "no-such-option");
  EXPECT_HAS(r.output, "blockc run --help");
  r = runCli("run " + shellQuote(BLOCKC_FIXTURE_OK) + " --input x.npy --output y.npy");
  EXPECT_EQ(r.code, 2);
  EXPECT_HAS(r.output, "'--weights' is required");
  r = runCli("bench " + shellQuote(BLOCKC_FIXTURE_OK) + " --weights w --batch 0");
  EXPECT_EQ(r.code, 2);
  EXPECT_HAS(r.output, "--batch must be >= 1");
  r = runCli("bench " + shellQuote(BLOCKC_FIXTURE_OK) + " --weights w --batch two");
  EXPECT_EQ(r.code, 2);
  r = runCli("compile");
  EXPECT_EQ(r.code, 2);
  EXPECT_HAS(r.output, "missing SPEC argument");
  r = runCli("compile spec.blk");
  EXPECT_EQ(r.code, 2);
  EXPECT_HAS(r.output, "'--output' is required");
}

TEST_F(CliTest, MissingFilesExitWith1) {
  Result r = runCli("compile " + shellQuote(path("nope.blk")) + " -o " + shellQuote(path("out")));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "nope.blk");
  r = runCli("run " + shellQuote(path("nomodule")) + " --weights " + shellQuote(weights_) +
             " --input x.npy --output y.npy");
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "nomodule");
  writeFile("module.so", "not a library");
  std::vector<float> x = iota(32);
  const std::string xPath = path("x.npy");
  blockc::npy::writeF32(xPath, {1, 4, 8}, x.data());
  r = runCli("run " + shellQuote(dir_) + " --weights " + shellQuote(weights_) + " --input " +
             shellQuote(xPath) + " --output " + shellQuote(path("y.npy")));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "is not a shared library");
}

TEST_F(CliTest, RunWritesOutputAndSummary) {
  std::vector<float> x = iota(3 * 32, -4.0f, 0.125f);
  const std::string xPath = path("x.npy"), yPath = path("y.npy");
  blockc::npy::writeF32(xPath, {3, 4, 8}, x.data());
  Result r = runCli("run " + shellQuote(BLOCKC_FIXTURE_OK) + " --weights " + shellQuote(weights_) +
                    " --input " + shellQuote(xPath) + " --output " + shellQuote(yPath) +
                    " --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "output y [3, 4, 8]: mean ");
  EXPECT_HAS(r.output, " std ");
  EXPECT_HAS(r.output, " min ");
  EXPECT_HAS(r.output, " max ");
  EXPECT_HAS(r.output, " -> " + yPath + "\n");
  EXPECT_HAS(r.output, "latency ");
  blockc::npy::ArrayF32 y = blockc::npy::readF32(yPath);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{3, 4, 8}));
  EXPECT_EQ(y.data, fixtureExpected(x));
}

TEST_F(CliTest, RunRejectsWrongInputShape) {
  std::vector<float> x = iota(40);
  const std::string xPath = path("x.npy");
  blockc::npy::writeF32(xPath, {1, 5, 8}, x.data());
  Result r = runCli("run " + shellQuote(BLOCKC_FIXTURE_OK) + " --weights " + shellQuote(weights_) +
                    " --input " + shellQuote(xPath) + " --output " + shellQuote(path("y.npy")));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, xPath + ": shape [1, 5, 8] does not match the module's input 'x' "
                       "[B, 4, 8] (B >= 1)");
}

/// The MULTI_IO fixture: inputs pixel_values [B, 2, 3, 4] and mask [B, 5], outputs logits
/// [B, 5] and features [B, 2, 3].
class CliModelTest : public CliTest {
protected:
  void SetUp() override {
    CliTest::SetUp();
    pixels_ = iota(2 * 24, -1.0f);
    mask_ = iota(2 * 5, 0.5f);
    blockc::npy::writeF32(path("pixels.npy"), {2, 2, 3, 4}, pixels_.data());
    blockc::npy::writeF32(path("mask.npy"), {2, 5}, mask_.data());
  }
  Result run(const std::string &options) {
    return runCli("run " + shellQuote(BLOCKC_FIXTURE_MULTI_IO) + " --weights " +
                  shellQuote(weights_) + " " + options);
  }
  std::string named(const std::string &name, const std::string &file) {
    return shellQuote(name + "=" + path(file));
  }
  std::vector<float> pixels_, mask_;
};

TEST_F(CliModelTest, RunsNamedInputsAndOutputs) {
  Result r = run("--input " + named("mask", "mask.npy") + " --input " +
                 named("pixel_values", "pixels.npy") + " --output " +
                 named("logits", "logits.npy") + " -o " + named("features", "features.npy"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "output logits [2, 5]: mean ");
  EXPECT_HAS(r.output, "output features [2, 2, 3]: mean ");
  EXPECT_HAS(r.output, "latency ");
  EXPECT_HAS(r.output, "(batch 2, ");
  const blockc::npy::ArrayF32 logits = blockc::npy::readF32(path("logits.npy"));
  const blockc::npy::ArrayF32 features = blockc::npy::readF32(path("features.npy"));
  EXPECT_EQ(logits.shape, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(features.shape, (std::vector<int64_t>{2, 2, 3}));
  // Spot checks of the fixture's formulas (NamedRunTest checks every value).
  EXPECT_EQ(logits.data[6], mask_[6] * fixtureScale()[1] + pixels_[24 + 1]);
  EXPECT_EQ(features.data[7], pixels_[28] + pixels_[29] + pixels_[30] + pixels_[31] +
                                  fixtureBias()[1]);

  // Outputs not named are summarized, not written.
  r = run("--input " + named("mask", "mask.npy") + " --input " +
          named("pixel_values", "pixels.npy"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "output features [2, 2, 3]: mean ");
  EXPECT_HAS(r.output, "(not written)");
}

TEST_F(CliModelTest, RunErrorsNameTheTensorAndTheFile) {
  const std::string both =
      "--input " + named("mask", "mask.npy") + " --input " + named("pixel_values", "pixels.npy");
  Result r = run("--input " + named("pixels", "pixels.npy") + " --input " +
                 named("mask", "mask.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "--input pixels=" + path("pixels.npy") + ": the module has no input "
                       "'pixels' (its inputs: pixel_values, mask)");
  r = run("--input " + named("mask", "mask.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "no --input for the module's input 'pixel_values' [B, 2, 3, 4] (its "
                       "inputs: pixel_values, mask; give each as --input NAME=FILE.npy)");
  r = run("--input " + shellQuote(path("pixels.npy")));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "the module has 2 inputs (pixel_values, mask): give each as --input "
                       "NAME=FILE.npy");
  r = run(both + " --input " + named("mask", "pixels.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "--input for input 'mask' is given twice");
  r = run("--input " + named("mask", "pixels.npy") + " --input " +
          named("pixel_values", "pixels.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, path("pixels.npy") + ": shape [2, 2, 3, 4] does not match the module's "
                       "input 'mask' [B, 5] (B >= 1)");
  std::vector<float> three(15);
  blockc::npy::writeF32(path("mask3.npy"), {3, 5}, three.data());
  r = run("--input " + named("mask", "mask3.npy") + " --input " +
          named("pixel_values", "pixels.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, path("mask3.npy") + ": batch 3 differs from batch 2 of " +
                           path("pixels.npy"));
  r = run(both + " --output " + named("probs", "p.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "the module has no output 'probs' (its outputs: logits, features)");
  r = run(both + " --output " + shellQuote(path("y.npy")));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "the module has 2 outputs (logits, features)");
  r = run("--input " + named("mask", "nope.npy") + " --input " +
          named("pixel_values", "pixels.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "nope.npy");
}

TEST_F(CliModelTest, BenchMakesRandomInputsOfEveryShape) {
  Result r = runCli("bench " + shellQuote(BLOCKC_FIXTURE_MULTI_IO) + " --weights " +
                    shellQuote(weights_) + " --batch 3 --warmup 1 --repeat 2 --profile");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "latency: median ");
  EXPECT_HAS(r.output, "per kernel, 2 profiled runs");
  EXPECT_HAS(r.output, "  rowsum ");
  EXPECT_HAS(r.output, "  mix ");
}

TEST_F(CliTest, RunReportsBadWeights) {
  const std::string bad = writeFile("bad.safetensors", safetensorsFile({}));
  std::vector<float> x = iota(32);
  const std::string xPath = path("x.npy");
  blockc::npy::writeF32(xPath, {1, 4, 8}, x.data());
  Result r = runCli("run " + shellQuote(BLOCKC_FIXTURE_OK) + " --weights " + shellQuote(bad) +
                    " --input " + shellQuote(xPath) + " --output " + shellQuote(path("y.npy")));
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.output, "missing tensor 'scale'");
  EXPECT_HAS(r.output, "missing tensor 'bias'");
}

TEST_F(CliTest, BenchText) {
  Result r = bench("--batch 4 --warmup 1 --repeat 5");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "latency: median ");
  EXPECT_HAS(r.output, "GFLOP/s");
  EXPECT_HAS(r.output, "load average at start");
  EXPECT_HAS(r.output, "fp32 peak of this machine: ");
  EXPECT_HAS(r.output, "% of it");
}

TEST_F(CliTest, BenchJson) {
  Result r = bench("--batch 3 --threads 2 --warmup 0 --repeat 4 --json", true);
  ASSERT_EQ(r.code, 0) << r.output;
  const boost::json::object o = jsonOf(r);
  ASSERT_FALSE(o.empty());
  EXPECT_EQ(o.at("block").as_string(), "fixture");
  EXPECT_EQ(o.at("batch").to_number<int64_t>(), 3);
  EXPECT_EQ(o.at("threads").to_number<int64_t>(), 2);
  EXPECT_EQ(o.at("repeat").to_number<int64_t>(), 4);
  for (const char *k : {"median_ms", "min_ms", "max_ms", "gflops", "loadavg_1m"})
    EXPECT_GE(o.at(k).to_number<double>(), 0.0) << k;
  EXPECT_LE(o.at("min_ms").to_number<double>(), o.at("median_ms").to_number<double>());
  EXPECT_LE(o.at("median_ms").to_number<double>(), o.at("max_ms").to_number<double>());
  EXPECT_DOUBLE_EQ(o.at("flops_per_sample").to_number<double>(), 96.0);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
  EXPECT_FALSE(o.contains("kernels")) << "kernels are profiled only with --profile";
  // The module's format and this machine's peak for it, measured in the same call (a CPU of
  // the x86-64 tiers or AArch64 has an FMA for float32); the share is gflops / peak.
  EXPECT_EQ(o.at("precision").as_string(), "fp32");
  EXPECT_EQ(o.at("peak_format").as_string(), "fp32");
  const double peak = o.at("peak_gops").to_number<double>();
  EXPECT_GT(peak, 0.0);
  EXPECT_FALSE(o.at("peak_instruction").as_string().empty());
  EXPECT_NEAR(o.at("peak_share").to_number<double>(), o.at("gflops").to_number<double>() / peak,
              1e-9);
}

TEST_F(CliTest, BenchProfile) {
  Result r = bench("--batch 2 --warmup 0 --repeat 3 --profile");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "per kernel, 3 profiled runs");
  EXPECT_HAS(r.output, "  scale            mul + copy ");
  EXPECT_HAS(r.output, "  add_bias         fixture "); // no ops in the manifest: its kind

  r = bench("--batch 2 --warmup 0 --repeat 3 --profile --json", true);
  ASSERT_EQ(r.code, 0) << r.output;
  const boost::json::object o = jsonOf(r);
  ASSERT_TRUE(o.contains("kernels")) << r.output;
  const boost::json::array &kernels = o.at("kernels").as_array();
  ASSERT_EQ(kernels.size(), 2u);
  const boost::json::object &scale = kernels[0].as_object();
  EXPECT_EQ(scale.at("name").as_string(), "scale");
  EXPECT_EQ(scale.at("ops").as_string(), "mul + copy");
  EXPECT_DOUBLE_EQ(scale.at("flops_per_sample").to_number<double>(), 32.0);
  // 32 flops per sample x 2 samples in median_ms.
  const double ms = scale.at("median_ms").to_number<double>();
  ASSERT_GT(ms, 0.0);
  EXPECT_NEAR(scale.at("gflops").to_number<double>(), 64 / (ms * 1e-3) / 1e9, 1e-9);
  EXPECT_LE(scale.at("min_ms").to_number<double>(), ms);
  EXPECT_EQ(kernels[1].as_object().at("gflops").to_number<double>(), 0.0); // flops unknown
}

} // namespace
