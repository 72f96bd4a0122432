//===- main.cpp - the blockc command-line tool ----------------------------===//
//
//   blockc compile SPEC -o DIR [--target T] [--tuning FILE] [--emit-stmt] [--print-ir]
//   blockc run MODULE --weights W.safetensors --input NAME=X.npy ... [--output NAME=Y.npy ...]
//              [--threads T]          (a bare X.npy / Y.npy for a module's only input / output)
//   blockc bench MODULE --weights W.safetensors --batch B [--threads T]
//                [--warmup N] [--repeat N] [--profile] [--json]
//
// Exit codes: 0 success, 1 failure (compile error, bad module/weights/input...),
// 2 usage error (unknown command or option, missing argument).
//
// Built without the compiler (BLOCKC_WITH_COMPILER=OFF, e.g. for AArch64), `compile` fails
// with a message saying so; run and bench are the same.
//
//===----------------------------------------------------------------------===//

#if BLOCKC_WITH_COMPILER
#include "blockc/Driver.h"
#endif
#include "blockc/Npy.h"
#include "blockc/runtime.hpp"

#include "Cli.h"

#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef BLOCKC_VERSION
#define BLOCKC_VERSION "unknown"
#endif

namespace po = boost::program_options;
using namespace blockc::cli;

namespace {

#if BLOCKC_WITH_COMPILER
#define BLOCKC_COMPILE_USAGE "compile a block spec into DIR/module.so + DIR/manifest.json"
#else
#define BLOCKC_COMPILE_USAGE "(not in this build, made without the compiler)"
#endif

const char *kMainUsage =
    "usage: blockc <command> [options]\n"
    "\n"
    "Ahead-of-time compiler and runner for transformer encoder blocks.\n"
    "\n"
    "Commands:\n"
    "  compile SPEC -o DIR    " BLOCKC_COMPILE_USAGE "\n"
    "  run MODULE ...         run a compiled module on .npy inputs, write .npy outputs\n"
    "  bench MODULE ...       time a compiled module on random inputs\n"
    "\n"
    "Options:\n"
    "  -h, --help             print this help\n"
    "  --version              print the version\n"
    "\n"
    "Run 'blockc <command> --help' for a command's options.\n";

/// A command's --help text, before its options.
std::string commandUsage(const std::string &command) {
  std::ostringstream ss;
  if (command == "compile")
    ss << "usage: blockc compile SPEC -o DIR [--target T] [--tuning FILE] [--emit-stmt] "
          "[--print-ir]\n\nCompiles the block spec SPEC into DIR/module.so and "
          "DIR/manifest.json.\n\n";
  else if (command == "run")
    ss << "usage: blockc run MODULE --weights W.safetensors --input NAME=X.npy ... "
          "[--output NAME=Y.npy ...]\n                  [--threads T]\n\nRuns MODULE (a module "
          "directory or a module .so) on one float32 .npy file per\ninput, each of the input's "
          "shape with the batch B first (the same B for all),\nwrites each output named by "
          "--output and prints a summary of every output and\nthe latency. A module with one "
          "input (or output) also takes a bare X.npy (Y.npy).\n\n";
  else
    ss << "usage: blockc bench MODULE --weights W.safetensors --batch B [--threads T] "
          "[--warmup N]\n                    [--repeat N] [--profile] [--json]\n\nRuns MODULE "
          "on random inputs of batch B: N warm-up runs, then N timed runs.\nPrints the "
          "median, min and max latency, GFLOP/s (flops_per_sample * B / median) and\nthe "
          "load average of the machine at the start. --profile then times each kernel\nin N "
          "more runs and prints its median, its share of the run and its GFLOP/s.\n\n";
  return ss.str();
}

/// "1 min, 5 min, 15 min load averages; running processes other than us".
struct LoadAverage {
  double one = -1, five = -1, fifteen = -1;
  int otherRunning = -1;
};

LoadAverage readLoadAverage() {
  LoadAverage load;
  std::ifstream in("/proc/loadavg");
  std::string running;
  if (in >> load.one >> load.five >> load.fifteen >> running) {
    auto slash = running.find('/');
    if (slash != std::string::npos)
      load.otherRunning = std::max(0, std::atoi(running.substr(0, slash).c_str()) - 1);
  }
  return load;
}

/// Halide's default thread count, for reporting: HL_NUM_THREADS or the core count.
int effectiveThreads(int requested) {
  if (requested > 0)
    return requested;
  if (const char *env = std::getenv("HL_NUM_THREADS"))
    if (std::atoi(env) > 0)
      return std::atoi(env);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// Where a module's kernels run, for reporting: "GPU (cuda)" or "N threads".
std::string executorString(const blockc_module_info &info, int requestedThreads) {
  if (info.device && *info.device)
    return std::string("GPU (") + info.device + ")";
  return std::to_string(effectiveThreads(requestedThreads)) + " threads";
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// A module input's or output's shape at batch B.
std::vector<int64_t> atBatch(const blockc_tensor_info &t, int64_t batch) {
  std::vector<int64_t> shape(t.shape, t.shape + t.rank);
  shape[0] = batch;
  return shape;
}

/// "[B, 3, 224, 224]".
std::string withBatch(const blockc_tensor_info &t) {
  std::string s = shapeString(atBatch(t, 0));
  return "[B" + s.substr(2);
}

std::string namesOf(const std::vector<blockc_tensor_info> &tensors) {
  std::string s;
  for (const blockc_tensor_info &t : tensors)
    s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s;
}

/// Host memory for every input or output of a run, and the named DLTensors over it.
struct HostTensors {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<float>> data;

  void add(const std::string &name, std::vector<int64_t> shape, std::vector<float> values) {
    names.push_back(name);
    shapes.push_back(std::move(shape));
    data.push_back(std::move(values));
  }

  /// Valid while this object is not changed.
  std::vector<blockc_named_tensor> named() {
    std::vector<blockc_named_tensor> out;
    for (size_t i = 0; i < names.size(); ++i)
      out.push_back({names[i].c_str(), blockc::hostTensor(data[i].data(), shapes[i])});
    return out;
  }

  /// `tensors` at batch B, each filled by `fill`.
  static HostTensors of(const std::vector<blockc_tensor_info> &tensors, int64_t batch,
                        const std::function<float()> &fill) {
    HostTensors h;
    for (const blockc_tensor_info &t : tensors) {
      std::vector<int64_t> shape = atBatch(t, batch);
      std::vector<float> values(static_cast<size_t>(batch) * blockc::Module::sampleFloats(t));
      std::generate(values.begin(), values.end(), fill);
      h.add(t.name, std::move(shape), std::move(values));
    }
    return h;
  }
};

//===----------------------------------------------------------------------===//
// compile
//===----------------------------------------------------------------------===//

int cmdCompile(const std::vector<std::string> &args) {
#if !BLOCKC_WITH_COMPILER
  throw Failure{"this blockc was built without the compiler (BLOCKC_WITH_COMPILER=OFF, as "
                "the AArch64 build is): compile on x86-64 with --target arm64 (or another "
                "target) and run the module here"};
#else
  blockc::CompileOptions options;
  po::options_description desc("Options");
  desc.add_options()
      ("help,h", "print this help")
      ("spec", po::value<std::string>(&options.specPath), "the block spec file (positional)")
      ("output,o", po::value<std::string>(&options.outputDir)->value_name("DIR"),
       "output directory (created if missing)")
      ("target", po::value<std::string>(&options.target)->default_value("host")->value_name("T"),
       "host, x86-64-avx2, x86-64-avx512, arm64, arm64-dotprod, arm64-sve2, cuda, "
       "cuda-sm80, cuda-sm86 or a Halide target string")
      ("tuning", po::value<std::string>(&options.tuningPath)->value_name("FILE"),
       "tuning database (JSON lines)")
      ("emit-stmt", po::bool_switch(&options.emitStmt),
       "also write each kernel's Halide .stmt and assembly .s into DIR")
      ("print-ir", po::bool_switch(&options.printIR), "print the IR after each pass to stderr");
  po::variables_map vm;
  const Positional spec{"spec", "SPEC"};
  if (!parseArguments(args, desc, spec, commandUsage("compile"), vm))
    return kExitOk;
  requireArguments(vm, spec, {"output"});
  requireFile("spec", options.specPath);
  if (!options.tuningPath.empty())
    requireFile("tuning file", options.tuningPath);
  int rc = blockc::compileSpecFile(options);
  return rc == 0 ? kExitOk : kExitFailure;
#endif
}

//===----------------------------------------------------------------------===//
// run and bench: a module with its weights
//===----------------------------------------------------------------------===//

/// The positional argument of `run` and `bench`.
const Positional kModule{"module", "MODULE"};

/// The options `run` and `bench` share: the module, its weights and the thread count.
struct ModuleOptions {
  std::string modulePath, weightsPath;
  int threads = 0;
  bool verbose = false;

  void add(po::options_description &desc) {
    desc.add_options()
        ("module", po::value<std::string>(&modulePath), "module directory or .so (positional)")
        ("weights,w", po::value<std::string>(&weightsPath)->value_name("W.safetensors"),
         "weights")
        ("threads,t", po::value<int>(&threads)->value_name("T"),
         "Halide threads (default: HL_NUM_THREADS or the number of cores)")
        ("verbose,v", po::bool_switch(&verbose),
         "also note the weight file's tensors that inference never reads");
  }

  /// Checks the thread count and that the module and weight files exist.
  void check(const po::variables_map &vm) const {
    if (vm.count("threads") && threads < 1)
      throw UsageError{"--threads must be >= 1"};
    requireFile("module", modulePath, true);
    requireFile("weights", weightsPath);
  }

  /// Loads the module, sets its threads (if given) and binds its weights.
  blockc::Module open() const {
    blockc::Module module(modulePath);
    if (threads > 0)
      module.setNumThreads(threads);
    module.bindWeights(weightsPath);
    if (verbose)
      for (const blockc_weight_info &w : module.weights())
        if (!w.used)
          std::printf("note: %s: tensor '%s' is not read by inference: %s\n",
                      weightsPath.c_str(), w.name,
                      w.present ? "present, checked and ignored" : "absent, not needed");
    return module;
  }
};

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

/// A --input or --output value: NAME=FILE, or a bare FILE (`name` empty).
struct NamedFile {
  std::string arg, name, file;
};

NamedFile splitNamed(const std::string &arg) {
  const size_t eq = arg.find('=');
  const std::string name = eq == std::string::npos ? "" : arg.substr(0, eq);
  const bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                          std::all_of(name.begin(), name.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                          });
  // A path with '=' in it is a bare FILE: names are identifiers.
  return identifier ? NamedFile{arg, name, arg.substr(eq + 1)} : NamedFile{arg, "", arg};
}

/// The files given for the module's `tensors` ("input" or "output" `kind`), by name.
std::map<std::string, std::string> filesByName(const std::vector<NamedFile> &given,
                                               const std::vector<blockc_tensor_info> &tensors,
                                               const std::string &kind) {
  std::map<std::string, std::string> files;
  for (const NamedFile &g : given) {
    std::string name = g.name;
    if (name.empty()) {
      if (tensors.size() != 1)
        throw Failure{"--" + kind + " " + g.arg + ": the module has " +
                      std::to_string(tensors.size()) + " " + kind + "s (" + namesOf(tensors) +
                      "): give each as --" + kind + " NAME=FILE.npy"};
      name = tensors[0].name;
    }
    if (std::none_of(tensors.begin(), tensors.end(),
                     [&](const blockc_tensor_info &t) { return name == t.name; }))
      throw Failure{"--" + kind + " " + g.arg + ": the module has no " + kind + " '" + name +
                    "' (its " + kind + "s: " + namesOf(tensors) + ")"};
    if (!files.emplace(name, g.file).second)
      throw Failure{"--" + kind + " for " + kind + " '" + name + "' is given twice"};
  }
  return files;
}

/// Mean, std, min, max of an output's finite values, and how many are not finite.
std::string summaryOf(const std::vector<float> &values) {
  double sum = 0, sumSq = 0, lo = INFINITY, hi = -INFINITY;
  size_t finite = 0;
  for (float v : values) {
    if (!std::isfinite(v))
      continue;
    ++finite;
    sum += v;
    sumSq += static_cast<double>(v) * v;
    lo = std::min(lo, static_cast<double>(v));
    hi = std::max(hi, static_cast<double>(v));
  }
  const double mean = finite ? sum / finite : NAN;
  const double var = finite ? std::max(0.0, sumSq / finite - mean * mean) : NAN;
  char text[160];
  std::snprintf(text, sizeof text, "mean %.6g std %.6g min %.6g max %.6g", mean, std::sqrt(var),
                finite ? lo : NAN, finite ? hi : NAN);
  return text + (finite != values.size()
                     ? " non-finite " + std::to_string(values.size() - finite)
                     : std::string());
}

int cmdRun(const std::vector<std::string> &args) {
  ModuleOptions m;
  std::vector<std::string> inputArgs, outputArgs;
  po::options_description desc("Options");
  desc.add_options()("help,h", "print this help");
  m.add(desc);
  desc.add_options()
      ("input,i", po::value(&inputArgs)->value_name("NAME=X.npy"),
       "an input, [B, ...] float32: NAME=FILE for each of the module's inputs (a bare FILE "
       "for a module with one input)")
      ("output,o", po::value(&outputArgs)->value_name("NAME=Y.npy"),
       "where to write an output (a bare FILE for a module with one output); outputs not "
       "named are only summarized");
  po::variables_map vm;
  if (!parseArguments(args, desc, kModule, commandUsage("run"), vm))
    return kExitOk;
  requireArguments(vm, kModule, {"weights", "input"});
  m.check(vm);
  std::vector<NamedFile> inputFiles, outputFiles;
  for (const std::string &a : inputArgs) {
    inputFiles.push_back(splitNamed(a));
    requireFile("input", inputFiles.back().file);
  }
  for (const std::string &a : outputArgs)
    outputFiles.push_back(splitNamed(a));
  blockc::Module module = m.open();
  const std::vector<blockc_tensor_info> inputs = module.inputs(), outputs = module.outputs();
  const std::map<std::string, std::string> inputFile = filesByName(inputFiles, inputs, "input");
  const std::map<std::string, std::string> outputFile = filesByName(outputFiles, outputs, "output");

  HostTensors in;
  int64_t batch = 0;
  std::string batchFile;
  for (const blockc_tensor_info &t : inputs) {
    auto file = inputFile.find(t.name);
    if (file == inputFile.end())
      throw Failure{"no --input for the module's input '" + std::string(t.name) + "' " +
                    withBatch(t) + " (its inputs: " + namesOf(inputs) +
                    "; give each as --input NAME=FILE.npy)"};
    blockc::npy::ArrayF32 array = blockc::npy::readF32(file->second);
    const std::vector<int64_t> &shape = array.shape;
    if (shape.size() != static_cast<size_t>(t.rank) || shape[0] < 1 ||
        !std::equal(shape.begin() + 1, shape.end(), t.shape + 1))
      throw Failure{file->second + ": shape " + shapeString(shape) + " does not match the "
                    "module's input '" + t.name + "' " + withBatch(t) + " (B >= 1)"};
    if (batchFile.empty()) {
      batch = shape[0];
      batchFile = file->second;
    } else if (shape[0] != batch) {
      throw Failure{file->second + ": batch " + std::to_string(shape[0]) + " differs from " +
                    "batch " + std::to_string(batch) + " of " + batchFile};
    }
    in.add(t.name, shape, std::move(array.data));
  }
  HostTensors out = HostTensors::of(outputs, batch, [] { return 0.0f; });

  auto start = std::chrono::steady_clock::now();
  module.runNamed(in.named(), out.named());
  auto end = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(end - start).count();

  for (size_t k = 0; k < outputs.size(); ++k) {
    auto file = outputFile.find(outputs[k].name);
    if (file != outputFile.end())
      blockc::npy::writeF32(file->second, out.shapes[k], out.data[k].data());
    std::printf("output %s %s: %s%s\n", outputs[k].name, shapeString(out.shapes[k]).c_str(),
                summaryOf(out.data[k]).c_str(),
                file != outputFile.end() ? (" -> " + file->second).c_str() : " (not written)");
  }
  std::printf("latency %.3f ms (batch %lld, %s)\n", ms, static_cast<long long>(batch),
              executorString(module.info(), m.threads).c_str());
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// bench
//===----------------------------------------------------------------------===//

/// Median, min, max and mean of some timings.
struct Summary {
  double median = 0, min = 0, max = 0, mean = 0;
};

Summary summarize(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  Summary s;
  s.median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  s.min = times.front();
  s.max = times.back();
  for (double t : times)
    s.mean += t / n;
  return s;
}

/// One run kernel's timings from `bench --profile`, in milliseconds.
struct KernelProfile {
  blockc_kernel_info info;
  Summary ms;
};

/// Times each run kernel in `repeat` profiled runs.
std::vector<KernelProfile> profileKernels(const blockc::Module &module,
                                          const std::vector<blockc_named_tensor> &inputs,
                                          const std::vector<blockc_named_tensor> &outputs,
                                          int repeat) {
  std::vector<KernelProfile> profiles;
  for (const blockc_kernel_info &k : module.kernels())
    profiles.push_back({k, {}});
  std::vector<std::vector<double>> times(profiles.size());
  for (int i = 0; i < repeat; ++i) {
    const std::vector<double> seconds = module.runNamedProfiled(inputs, outputs);
    for (size_t k = 0; k < seconds.size(); ++k)
      times[k].push_back(seconds[k] * 1e3);
  }
  for (size_t k = 0; k < profiles.size(); ++k)
    profiles[k].ms = summarize(times[k]);
  return profiles;
}

/// GFLOP/s of `flopsPerSample * batch` in `ms`; 0 when either is unknown.
double gflopsOf(double flopsPerSample, int64_t batch, double ms) {
  return ms > 0 ? flopsPerSample * batch / (ms * 1e-3) / 1e9 : 0;
}

int cmdBench(const std::vector<std::string> &args) {
  ModuleOptions m;
  int64_t batch = 0;
  int warmup = 3, repeat = 20;
  bool asJson = false, profile = false;
  po::options_description desc("Options");
  desc.add_options()("help,h", "print this help");
  m.add(desc);
  desc.add_options()
      ("batch,b", po::value<int64_t>(&batch)->value_name("B"), "batch size (>= 1)")
      ("warmup", po::value<int>(&warmup)->default_value(3)->value_name("N"), "untimed runs first")
      ("repeat", po::value<int>(&repeat)->default_value(20)->value_name("N"), "timed runs")
      ("profile", po::bool_switch(&profile), "also time each kernel (N more runs)")
      ("json", po::bool_switch(&asJson), "print the result as one JSON line");
  po::variables_map vm;
  if (!parseArguments(args, desc, kModule, commandUsage("bench"), vm))
    return kExitOk;
  requireArguments(vm, kModule, {"weights", "batch"});
  if (batch < 1)
    throw UsageError{"--batch must be >= 1"};
  if (warmup < 0)
    throw UsageError{"--warmup must be >= 0"};
  if (repeat < 1)
    throw UsageError{"--repeat must be >= 1"};
  m.check(vm);
  const LoadAverage load = readLoadAverage();
  blockc::Module module = m.open();
  const blockc_module_info info = module.info();

  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  HostTensors in = HostTensors::of(module.inputs(), batch, [&] { return normal(rng); });
  HostTensors out = HostTensors::of(module.outputs(), batch, [] { return 0.0f; });
  const std::vector<blockc_named_tensor> inputs = in.named(), outputs = out.named();

  for (int i = 0; i < warmup; ++i)
    module.runNamed(inputs, outputs);
  std::vector<double> times;
  for (int i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    module.runNamed(inputs, outputs);
    auto end = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  const Summary total = summarize(times);
  const double gflops = gflopsOf(info.flops_per_sample, batch, total.median);
  const bool onGpu = info.device && *info.device;
  std::vector<KernelProfile> kernels;
  if (profile)
    kernels = profileKernels(module, inputs, outputs, repeat);
  double kernelSum = 0; // of the kernels' medians
  for (const KernelProfile &k : kernels)
    kernelSum += k.ms.median;

  if (asJson) {
    boost::json::object o;
    o["module"] = info.path;
    o["block"] = info.block;
    o["target"] = info.target;
    o["batch"] = batch;
    o["threads"] = onGpu ? 0 : effectiveThreads(m.threads); // 0: the kernels run on a GPU
    o["device"] = onGpu ? info.device : "";
    o["warmup"] = warmup;
    o["repeat"] = repeat;
    o["median_ms"] = total.median;
    o["min_ms"] = total.min;
    o["max_ms"] = total.max;
    o["mean_ms"] = total.mean;
    o["flops_per_sample"] = info.flops_per_sample;
    o["gflops"] = gflops;
    o["loadavg_1m"] = load.one;
    o["loadavg_5m"] = load.five;
    o["loadavg_15m"] = load.fifteen;
    o["other_running"] = load.otherRunning;
    if (profile) {
      boost::json::array list;
      for (const KernelProfile &k : kernels)
        list.push_back({{"name", k.info.name},
                        {"kind", k.info.kind},
                        {"ops", k.info.ops},
                        {"median_ms", k.ms.median},
                        {"min_ms", k.ms.min},
                        {"max_ms", k.ms.max},
                        {"flops_per_sample", k.info.flops_per_sample},
                        {"gflops", gflopsOf(k.info.flops_per_sample, batch, k.ms.median)}});
      o["kernels"] = std::move(list);
    }
    std::cout << boost::json::serialize(o) << std::endl;
  } else {
    std::printf("%s (block %s, target %s): batch %lld, %s\n", info.path, info.block,
                info.target, static_cast<long long>(batch), executorString(info, m.threads).c_str());
    std::printf("latency: median %.3f ms, min %.3f ms, max %.3f ms (%d runs after %d warm-up)\n",
                total.median, total.min, total.max, repeat, warmup);
    std::printf("throughput: %.2f GFLOP/s (%.4g flops per sample)\n", gflops,
                info.flops_per_sample);
    std::printf("load average at start: %.2f (1 min), %.2f (5 min), %.2f (15 min); %d other "
                "processes running\n",
                load.one, load.five, load.fifteen, load.otherRunning);
    if (profile) {
      std::printf("per kernel, %d profiled runs (the medians add up to %.3f ms%s):\n", repeat,
                  kernelSum, onGpu ? "; the GPU's stream is waited for after each kernel" : "");
      std::printf("  %-16s %-36s %10s %10s %10s %7s %9s\n", "kernel", "ops", "median ms",
                  "min ms", "max ms", "share", "GFLOP/s");
      for (const KernelProfile &k : kernels) {
        const double g = gflopsOf(k.info.flops_per_sample, batch, k.ms.median);
        std::printf("  %-16s %-36s %10.3f %10.3f %10.3f %6.1f%% %9s\n", k.info.name,
                    *k.info.ops ? k.info.ops : k.info.kind, k.ms.median, k.ms.min, k.ms.max,
                    kernelSum > 0 ? 100 * k.ms.median / kernelSum : 0.0,
                    g > 0 ? std::to_string(static_cast<int>(std::lround(g))).c_str() : "-");
      }
    }
  }
  return kExitOk;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::cerr << kMainUsage;
    return kExitUsage;
  }
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kMainUsage;
    return kExitOk;
  }
  if (command == "--version") {
    std::cout << "blockc " << BLOCKC_VERSION << "\n";
    return kExitOk;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  return runCommand("blockc " + command, [&] {
    if (command == "compile")
      return cmdCompile(args);
    if (command == "run")
      return cmdRun(args);
    if (command == "bench")
      return cmdBench(args);
    std::cerr << "blockc: unknown command '" << command << "'\n\n" << kMainUsage;
    return kExitUsage;
  });
}
