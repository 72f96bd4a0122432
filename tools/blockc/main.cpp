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

#include "ModuleCommand.h"

#include <iostream>
#include <string>
#include <vector>

#ifndef BLOCKC_VERSION
#define BLOCKC_VERSION "unknown"
#endif

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
       "host, x86-64-avx2, x86-64-avx512, x86-64-zen4, x86-64-zen5, x86-64-sapphirerapids, "
       "arm64, arm64-dotprod, arm64-sve2, cuda, cuda-sm80, cuda-sm86 or a Halide target string")
      ("precision", po::value<std::string>(&options.precision)->value_name("P"),
       "every linear's number format, instead of the spec's 'precision' settings (float32 "
       "where they say nothing): fp32, bf16 (weights rounded at bind time, float32 "
       "accumulation) or int8 (weights quantized per output channel at bind time, inputs per "
       "group of <= 64 features of a row in the matmul, int32 accumulation)")
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
