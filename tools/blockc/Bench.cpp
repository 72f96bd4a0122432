//===- Bench.cpp - `blockc bench`: a module timed on random inputs --------===//
#include "ModuleCommand.h"
#include "PeakProbe.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>

using namespace blockc::cli;

namespace {

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

/// The flops of one sample at `tokens` (a module's or a kernel's).
template <class Info> double flopsAt(const Info &info, int64_t tokens) {
  const double s = static_cast<double>(tokens);
  return info.flops_per_sample + s * info.flops_per_token + s * s * info.flops_per_token_pair;
}

} // namespace

int blockc::cli::cmdBench(const std::vector<std::string> &args) {
  ModuleOptions m;
  int64_t batch = 0, tokens = 0;
  int warmup = 3, repeat = 20;
  bool asJson = false, profile = false;
  po::options_description desc("Options");
  desc.add_options()("help,h", "print this help");
  m.add(desc);
  desc.add_options()
      ("batch,b", po::value<int64_t>(&batch)->value_name("B"), "batch size (>= 1)")
      ("tokens", po::value<int64_t>(&tokens)->value_name("S"),
       "sequence length of a module with run-time tokens (default: its maximum)")
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
  if (vm.count("tokens") && (tokens < 1 || tokens > info.max_tokens))
    throw UsageError{info.max_tokens ? "--tokens must be in [1, " +
                                           std::to_string(info.max_tokens) + "]"
                                     : std::string("--tokens: the module's tokens are fixed")};
  if (!vm.count("tokens"))
    tokens = info.max_tokens ? info.max_tokens : 1;
  const double flopsPerSample = flopsAt(info, tokens);

  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Token ids drawn from the whole table; masks keep every token (sentences of full length).
  HostTensors in = HostTensors::of(
      module.inputs(), batch, tokens, [&] { return normal(rng); },
      [&](const blockc_tensor_info &t) -> int64_t {
        return t.bound == 2 ? 1 : std::uniform_int_distribution<int64_t>(0, t.bound - 1)(rng);
      });
  HostTensors out = HostTensors::of(module.outputs(), batch, tokens, [] { return 0.0f; });
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
  const double gflops = gflopsOf(flopsPerSample, batch, total.median);
  const bool onGpu = info.device && *info.device;
  std::vector<KernelProfile> kernels;
  if (profile)
    kernels = profileKernels(module, inputs, outputs, repeat);
  double kernelSum = 0; // of the kernels' medians
  for (const KernelProfile &k : kernels)
    kernelSum += k.ms.median;
  // The module's format and this CPU's peak for it, measured after the runs on as many
  // threads (a bf16 module on a CPU without bf16 arithmetic, and a module of mixed formats:
  // against the fp32 peak).
  std::string precision = "fp32";
  const boost::json::value manifest = boost::json::parse(info.manifest_json);
  if (const boost::json::value *p = manifest.as_object().if_contains("precision");
      p && p->is_string())
    precision = std::string(p->get_string());
  Peak peak;
  std::string peakFormat = precision == "mixed" ? "fp32" : precision;
  if (!onGpu) {
    peak = measurePeak(peakFormat, effectiveThreads(m.threads));
    if (peak.gops == 0 && precision == "bf16") {
      peakFormat = "fp32";
      peak = measurePeak(peakFormat, effectiveThreads(m.threads));
    }
  }
  const double peakShare = peak.gops > 0 ? 100 * gflops / peak.gops : 0;

  if (asJson) {
    boost::json::object o;
    o["module"] = info.path;
    o["block"] = info.block;
    o["target"] = info.target;
    o["batch"] = batch;
    if (info.max_tokens)
      o["tokens"] = tokens;
    o["threads"] = onGpu ? 0 : effectiveThreads(m.threads); // 0: the kernels run on a GPU
    o["device"] = onGpu ? info.device : "";
    o["warmup"] = warmup;
    o["repeat"] = repeat;
    o["median_ms"] = total.median;
    o["min_ms"] = total.min;
    o["max_ms"] = total.max;
    o["mean_ms"] = total.mean;
    o["flops_per_sample"] = flopsPerSample;
    o["gflops"] = gflops;
    o["precision"] = precision;
    o["peak_gops"] = peak.gops; // 0: not measured (a GPU module, or no instruction for it)
    o["peak_format"] = peakFormat;
    o["peak_instruction"] = peak.instruction;
    o["peak_share"] = peakShare / 100;
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
                        {"flops_per_sample", flopsAt(k.info, tokens)},
                        {"gflops", gflopsOf(flopsAt(k.info, tokens), batch, k.ms.median)}});
      o["kernels"] = std::move(list);
    }
    std::cout << boost::json::serialize(o) << std::endl;
  } else {
    std::printf("%s (block %s, target %s): batch %lld%s, %s\n", info.path, info.block,
                info.target, static_cast<long long>(batch),
                info.max_tokens ? (" of " + std::to_string(tokens) + " tokens").c_str() : "",
                executorString(info, m.threads).c_str());
    std::printf("latency: median %.3f ms, min %.3f ms, max %.3f ms (%d runs after %d warm-up)\n",
                total.median, total.min, total.max, repeat, warmup);
    std::printf("throughput: %.2f GFLOP/s (%.4g flops per sample)\n", gflops, flopsPerSample);
    if (peak.gops > 0)
      std::printf("%s peak of this machine: %.1f GOP/s (%s, %d threads, measured after the runs%s); "
                  "this run: %.0f%% of it\n",
                  peakFormat.c_str(), peak.gops, peak.instruction.c_str(),
                  effectiveThreads(m.threads),
                  precision == "mixed"      ? "; the module mixes number formats"
                  : peakFormat != precision ? "; no bf16 arithmetic on this CPU"
                                            : "",
                  peakShare);
    else if (!onGpu)
      std::printf("%s peak: this CPU has no instruction the probe knows for it\n",
                  precision.c_str());
    std::printf("load average at start: %.2f (1 min), %.2f (5 min), %.2f (15 min); %d other "
                "processes running\n",
                load.one, load.five, load.fifteen, load.otherRunning);
    if (profile) {
      std::printf("per kernel, %d profiled runs (the medians add up to %.3f ms%s):\n", repeat,
                  kernelSum, onGpu ? "; the GPU's stream is waited for after each kernel" : "");
      std::printf("  %-16s %-36s %10s %10s %10s %7s %9s\n", "kernel", "ops", "median ms",
                  "min ms", "max ms", "share", "GFLOP/s");
      for (const KernelProfile &k : kernels) {
        const double g = gflopsOf(flopsAt(k.info, tokens), batch, k.ms.median);
        std::printf("  %-16s %-36s %10.3f %10.3f %10.3f %6.1f%% %9s\n", k.info.name,
                    *k.info.ops ? k.info.ops : k.info.kind, k.ms.median, k.ms.min, k.ms.max,
                    kernelSum > 0 ? 100 * k.ms.median / kernelSum : 0.0,
                    g > 0 ? std::to_string(static_cast<int>(std::lround(g))).c_str() : "-");
      }
    }
  }
  return kExitOk;
}

