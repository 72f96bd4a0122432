//===- ModuleCommand.cpp - what `blockc run` and `bench` share ------------===//
#include "ModuleCommand.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

using namespace blockc::cli;

/// A command's --help text, before its options.
std::string blockc::cli::commandUsage(const std::string &command) {
  std::ostringstream ss;
  if (command == "compile")
    ss << "usage: blockc compile SPEC -o DIR [--target T] [--tuning FILE] [--emit-stmt] "
          "[--print-ir]\n\nCompiles the block spec SPEC into DIR/module.so and "
          "DIR/manifest.json.\n\n";
  else if (command == "run")
    ss << "usage: blockc run MODULE --weights W.safetensors --input NAME=X.npy ... "
          "[--output NAME=Y.npy ...]\n                  [--threads T]\n\nRuns MODULE (a module "
          "directory or a module .so) on one .npy file per input\n(float32, or int64/int32 for "
          "token ids and masks), each of the input's shape with\nthe batch B first (the same B "
          "for all; run-time tokens S, the same for all);\nan optional input may be left out "
          "(zeros). Writes each output named by --output\nand prints a summary of every "
          "output and the latency. A module with one input\n(or output) also takes a bare "
          "X.npy (Y.npy).\n\n";
  else
    ss << "usage: blockc bench MODULE --weights W.safetensors --batch B [--tokens S] "
          "[--threads T]\n                    [--warmup N] [--repeat N] [--profile] [--json]"
          "\n\nRuns MODULE on random inputs of batch B (and S tokens, for a module whose "
          "tokens are\nchosen per run; default its maximum): N warm-up runs, then N timed "
          "runs.\nPrints the "
          "median, min and max latency, GFLOP/s (flops_per_sample * B / median), its\nshare "
          "of this machine's peak for the module's number format (fp32 FMA, bf16 or\nint8 dot "
          "products: measured after the runs on as many threads) and the load\naverage of the "
          "machine at the start. --profile then times each kernel in N more\nruns and prints "
          "its median, its share of the run and its GFLOP/s.\n\n";
  return ss.str();
}

/// Halide's default thread count, for reporting: HL_NUM_THREADS or the core count.
int blockc::cli::effectiveThreads(int requested) {
  if (requested > 0)
    return requested;
  if (const char *env = std::getenv("HL_NUM_THREADS"))
    if (std::atoi(env) > 0)
      return std::atoi(env);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// Where a module's kernels run, for reporting: "GPU (cuda)" or "N threads".
std::string blockc::cli::executorString(const blockc_module_info &info, int requestedThreads) {
  if (info.device && *info.device)
    return std::string("GPU (") + info.device + ")";
  return std::to_string(effectiveThreads(requestedThreads)) + " threads";
}

std::string blockc::cli::shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<int64_t> blockc::cli::atBatch(const blockc_tensor_info &t, int64_t batch,
                                          int64_t tokens) {
  std::vector<int64_t> shape(t.shape, t.shape + t.rank);
  shape[0] = batch;
  for (int64_t &d : shape)
    if (d == -2)
      d = tokens;
  return shape;
}

std::string blockc::cli::withBatch(const blockc_tensor_info &t) {
  std::string s = "[B";
  for (int32_t d = 1; d < t.rank; ++d)
    s += ", " + (t.shape[d] == -2 ? std::string("S") : std::to_string(t.shape[d]));
  return s + "]";
}

std::string blockc::cli::namesOf(const std::vector<blockc_tensor_info> &tensors) {
  std::string s;
  for (const blockc_tensor_info &t : tensors)
    s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s;
}

