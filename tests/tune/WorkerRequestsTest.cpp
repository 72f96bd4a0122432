//===- WorkerRequestsTest.cpp - the worker requests' command lines --------===//
//
// What the tuner writes, the worker reads back: every field of a request survives the
// round trip, defaults are left off the command line, flags are options alone.
//
//===----------------------------------------------------------------------===//
#include "WorkerRequests.h"

#include <boost/program_options/errors.hpp>
#include <gtest/gtest.h>

#include <algorithm>

using namespace blockc::tune;

namespace {

/// The arguments after the executable and the mode.
std::vector<std::string> argsOf(const std::vector<std::string> &command) {
  return {command.begin() + 2, command.end()};
}

bool has(const std::vector<std::string> &command, const std::string &word) {
  return std::find(command.begin(), command.end(), word) != command.end();
}

TEST(WorkerRequests, ACompileRequestSurvivesItsCommandLine) {
  CompileWorkerOptions request;
  request.specPath = "tiny.block";
  request.target = "host";
  request.kernel = "k0_matmul";
  request.precision = "int8";
  request.scheduleJson = R"({"knobs":{"tile_rows":4}})";
  request.outputDir = "db.jsonl.work/k0_matmul/t3";
  request.runtimeObject = "db.jsonl.work/halide_runtime.o";
  request.batch = 8;
  request.inject = "crash";
  const std::vector<std::string> command = workerCommand("/bin/blockc-tune", request);
  ASSERT_GE(command.size(), 2u);
  EXPECT_EQ(command[0], "/bin/blockc-tune");
  EXPECT_EQ(command[1], kCompileMode);
  const CompileWorkerOptions read = parseCompileRequest(argsOf(command));
  EXPECT_EQ(read.specPath, request.specPath);
  EXPECT_EQ(read.target, request.target);
  EXPECT_EQ(read.kernel, request.kernel);
  EXPECT_EQ(read.precision, "int8");
  EXPECT_EQ(read.scheduleJson, request.scheduleJson);
  EXPECT_EQ(read.outputDir, request.outputDir);
  EXPECT_EQ(read.runtimeObject, request.runtimeObject);
  EXPECT_EQ(read.batch, 8);
  EXPECT_EQ(read.inject, "crash");
}

TEST(WorkerRequests, ATimeRequestSurvivesItsCommandLineWithItsFlags) {
  HarnessOptions request;
  request.kernelDir = "t3";
  request.batch = 2;
  request.referencePath = "reference.bin";
  request.resultPath = "t3/result.json";
  request.writeReference = true;
  request.time = false;
  request.threads = 4;
  const std::vector<std::string> command = workerCommand("blockc-tune", request);
  EXPECT_EQ(command[1], kTimeMode);
  EXPECT_TRUE(has(command, "--write-reference"));
  EXPECT_TRUE(has(command, "--no-time"));
  const HarnessOptions read = parseTimeRequest(argsOf(command));
  EXPECT_EQ(read.kernelDir, "t3");
  EXPECT_EQ(read.batch, 2);
  EXPECT_EQ(read.referencePath, "reference.bin");
  EXPECT_EQ(read.resultPath, "t3/result.json");
  EXPECT_TRUE(read.writeReference);
  EXPECT_FALSE(read.time);
  EXPECT_EQ(read.threads, 4);
  EXPECT_EQ(read.inject, "");
}

TEST(WorkerRequests, DefaultsAreLeftOffAndReadBack) {
  HarnessOptions request;
  request.kernelDir = "d";
  request.referencePath = "r";
  request.resultPath = "o";
  const std::vector<std::string> command = workerCommand("blockc-tune", request);
  EXPECT_EQ(command, (std::vector<std::string>{"blockc-tune", kTimeMode, "--dir", "d",
                                               "--reference", "r", "--result", "o"}));
  const HarnessOptions read = parseTimeRequest(argsOf(command));
  EXPECT_EQ(read.batch, 1);
  EXPECT_FALSE(read.writeReference);
  EXPECT_TRUE(read.time);
  EXPECT_EQ(read.threads, 0);
}

TEST(WorkerRequests, AMissingOrUnknownOptionIsAnError) {
  EXPECT_THROW(parseRuntimeRequest({"--target", "host"}), boost::program_options::error);
  EXPECT_THROW(parseRuntimeRequest({"--target", "host", "--out", "o", "--bogus", "1"}),
               boost::program_options::error);
  const RuntimeRequest read = parseRuntimeRequest({"--target", "host", "--out", "rt.o"});
  EXPECT_EQ(read.target, "host");
  EXPECT_EQ(read.objectPath, "rt.o");
}

} // namespace
