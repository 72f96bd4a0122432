//===- Run.cpp - `blockc run`: a module on .npy inputs --------------------===//
#include "ModuleCommand.h"

#include "blockc/Npy.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

using namespace blockc::cli;

namespace {

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

} // namespace

int blockc::cli::cmdRun(const std::vector<std::string> &args) {
  ModuleOptions m;
  std::vector<std::string> inputArgs, outputArgs;
  po::options_description desc("Options");
  desc.add_options()("help,h", "print this help");
  m.add(desc);
  desc.add_options()
      ("input,i", po::value(&inputArgs)->value_name("NAME=X.npy"),
       "an input, [B, ...] float32, or int64/int32 [B, N] for token ids and masks: "
       "NAME=FILE for each of the module's inputs (a bare FILE for a module with one input)")
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
  int64_t batch = 0, tokens = 1;
  std::string batchFile, tokensFile;
  for (const blockc_tensor_info &t : inputs) {
    auto file = inputFile.find(t.name);
    if (file == inputFile.end() && t.optional)
      continue; // the module reads zeros
    if (file == inputFile.end())
      throw Failure{"no --input for the module's input '" + std::string(t.name) + "' " +
                    withBatch(t) + " (its inputs: " + namesOf(inputs) +
                    "; give each as --input NAME=FILE.npy)"};
    const bool integers = t.dtype.code == kDLInt;
    blockc::npy::ArrayF32 floats;
    blockc::npy::ArrayI64 ids;
    if (integers)
      ids = blockc::npy::readInts(file->second);
    else
      floats = blockc::npy::readF32(file->second);
    const std::vector<int64_t> &shape = integers ? ids.shape : floats.shape;
    const bool perToken = t.rank > 1 && t.shape[1] == -2;
    if (shape.size() != static_cast<size_t>(t.rank) || shape[0] < 1 ||
        (perToken && shape[1] < 1) ||
        !std::equal(shape.begin() + (perToken ? 2 : 1), shape.end(), t.shape + (perToken ? 2 : 1)))
      throw Failure{file->second + ": shape " + shapeString(shape) + " does not match the "
                    "module's input '" + t.name + "' " + withBatch(t) +
                    (perToken ? " (B, S >= 1)" : " (B >= 1)")};
    if (batchFile.empty()) {
      batch = shape[0];
      batchFile = file->second;
    } else if (shape[0] != batch) {
      throw Failure{file->second + ": batch " + std::to_string(shape[0]) + " differs from " +
                    "batch " + std::to_string(batch) + " of " + batchFile};
    }
    if (perToken && tokensFile.empty()) {
      tokens = shape[1];
      tokensFile = file->second;
    } else if (perToken && shape[1] != tokens) {
      throw Failure{file->second + ": sequence length " + std::to_string(shape[1]) +
                    " differs from " + std::to_string(tokens) + " of " + tokensFile};
    }
    if (!integers) {
      in.add(t.name, shape, std::move(floats.data));
      continue;
    }
    if (t.dtype.bits == 32)
      for (size_t i = 0; i < ids.data.size(); ++i)
        if (ids.data[i] != static_cast<int32_t>(ids.data[i]))
          throw Failure{file->second + ": " + std::to_string(ids.data[i]) + " at element " +
                        std::to_string(i) + " does not fit the module's int32 input '" +
                        t.name + "'"};
    in.addInts(t.name, shape, t.dtype, ids.data);
  }
  HostTensors out = HostTensors::of(outputs, batch, tokens, [] { return 0.0f; });

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

