//===- main.cpp - the blockc-tune command-line tool -----------------------===//
//
//   blockc-tune SPEC --target T --db FILE [--budget MINUTES | --trials N] [--seed S]
//               [--batch B] [--jobs J] [--kernel NAME] ...
//   blockc-tune report FILE [--png P]
//
// Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C; rerun the same
// command to resume). `__compile` and `__time` are the hidden worker modes the tuner
// starts this executable in (docs/tuning.md).
//
//===----------------------------------------------------------------------===//
#include "Report.h"
#include "Tuner.h"
#include "WorkerRequests.h"
#include "Workers.h"

#include "Cli.h"
#include "blockc/Dialect/BlockcOps.h"

#include <boost/program_options.hpp>

#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#ifndef BLOCKC_VERSION
#define BLOCKC_VERSION "unknown"
#endif

namespace po = boost::program_options;
using namespace blockc::cli;
using namespace blockc::tune;

namespace {

const char *kUsage =
    "usage: blockc-tune SPEC --target T --db FILE [--budget MINUTES | --trials N] [--seed S]\n"
    "                   [--batch B] [--jobs J] [--kernel NAME] [options]\n"
    "       blockc-tune report FILE [--png P]\n"
    "\n"
    "Autotunes the schedules of the kernels of the block spec SPEC for target T and records\n"
    "the best schedule of each kernel in the tuning database FILE (JSON lines), which\n"
    "`blockc compile SPEC --tuning FILE` applies. Every trial is logged to FILE.trials; run\n"
    "the same command again to resume an interrupted or finished run (logged trials are not\n"
    "measured again). The same seed gives the same candidates. `report` prints the\n"
    "database's default-versus-tuned table and draws the tuning curve into a PNG.\n"
    "Exit codes: 0 done, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).\n\n";

/// "crash@2,hang@4,compile-crash@3" -> {2: crash, 4: hang, 3: compile-crash}.
std::map<int64_t, std::string> parseFaults(const std::string &text) {
  std::map<int64_t, std::string> faults;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty())
      continue;
    const size_t at = item.find('@');
    const std::string kind = item.substr(0, at);
    if (at == std::string::npos ||
        (kind != "crash" && kind != "hang" && kind != "compile-crash" && kind != "compile-hang"))
      throw UsageError{"--inject-fault: expected KIND@TRIAL with KIND crash, hang, "
                       "compile-crash or compile-hang, got '" + item + "'"};
    try {
      size_t used = 0;
      const long long trial = std::stoll(item.substr(at + 1), &used);
      if (used != item.size() - at - 1 || trial < 0)
        throw std::invalid_argument("");
      faults[trial] = kind;
    } catch (const std::exception &) {
      throw UsageError{"--inject-fault: bad trial number in '" + item + "'"};
    }
  }
  return faults;
}

int cmdTune(const std::vector<std::string> &args) {
  TuneOptions options;
  options.toolVersion = BLOCKC_VERSION;
  double budget = 0;
  int64_t trials = 0;
  int64_t seed = 0;
  std::string faults, list;
  po::options_description desc("Options");
  desc.add_options()
      ("help,h", "print this help")
      ("version", "print the version")
      ("spec", po::value<std::string>(&options.specPath), "the block spec file (positional)")
      ("target", po::value<std::string>(&options.target)->default_value("host")->value_name("T"),
       "host, x86-64-avx2, x86-64-avx512, arm64..., cuda... or a Halide target string "
       "(as blockc compile)")
      ("db", po::value<std::string>(&options.dbPath)->value_name("FILE"),
       "the tuning database to update (created if missing); trials go to FILE.trials")
      ("budget", po::value<double>(&budget)->value_name("MINUTES"),
       "wall time for the whole run, shared by the kernels by weight (default time x uses)")
      ("trials", po::value<int64_t>(&trials)->value_name("N"),
       "candidates per kernel, counting those already logged (default: 32 if no --budget)")
      ("seed", po::value<int64_t>(&seed)->default_value(0)->value_name("S"),
       "seed of the search (>= 0)")
      ("batch", po::value<int64_t>(&options.batch)->default_value(1)->value_name("B"),
       "batch size to tune for")
      ("precision", po::value<std::string>(&options.precision)->value_name("P"),
       "every linear's number format, fp32, bf16 or int8, as blockc compile --precision "
       "(default: as the spec's 'precision' settings say)")
      ("jobs,j", po::value<int>(&options.jobs)->default_value(2)->value_name("J"),
       "compile workers at once")
      ("kernel", po::value<std::string>(&options.kernel)->value_name("NAME"),
       "tune only this kernel (a name --list prints)")
      ("list", po::value<std::string>(&list)->implicit_value("text")->value_name("json"),
       "print the kernels and their schedule spaces, and exit (no --db needed); "
       "--list=json: one JSON object per kernel and line")
      ("threads", po::value<int>(&options.threads)->default_value(0)->value_name("T"),
       "Halide threads when timing (0: Halide's default, HL_NUM_THREADS or the cores)")
      ("compile-timeout",
       po::value<double>(&options.compileTimeoutS)->default_value(180)->value_name("S"),
       "seconds a candidate may take to compile")
      ("run-timeout", po::value<double>(&options.runTimeoutS)->default_value(60)->value_name("S"),
       "seconds a candidate's check and timing may take")
      ("keep-work", po::bool_switch(&options.keepWork),
       "keep the work directory FILE.work (candidates' builds and logs), for debugging")
      ("inject-fault", po::value<std::string>(&faults)->value_name("KIND@TRIAL,..."),
       "for tests only: make the worker of those trial numbers (of every kernel) fail; "
       "KIND is crash or hang (the timing worker aborts or never returns), compile-crash "
       "or compile-hang (the compile worker)");
  po::variables_map vm;
  const Positional spec{"spec", "SPEC"};
  if (!parseArguments(args, desc, spec, kUsage, vm))
    return kExitOk;
  if (vm.count("version")) {
    std::cout << "blockc-tune " << BLOCKC_VERSION << "\n";
    return kExitOk;
  }
  requireArguments(vm, spec, {});
  if (!options.precision.empty() && !blockc::symbolizePrecision(options.precision))
    throw UsageError{"unknown precision '" + options.precision +
                     "' (expected fp32, bf16 or int8)"};
  if (vm.count("list")) {
    if (list != "text" && list != "json")
      throw UsageError{"--list takes no value or 'json'"};
    requireFile("spec", options.specPath);
    return listKernels(options.specPath, options.target, options.precision, list == "json");
  }
  requireArguments(vm, spec, {"db"});
  if (vm.count("budget") && vm.count("trials"))
    throw UsageError{"give --budget or --trials, not both"};
  if (vm.count("budget")) {
    if (!(budget > 0) || !std::isfinite(budget))
      throw UsageError{"--budget must be a positive number of minutes"};
    options.budgetMinutes = budget;
  } else {
    if (vm.count("trials") && trials < 1)
      throw UsageError{"--trials must be >= 1"};
    options.trials = vm.count("trials") ? trials : 32;
  }
  if (seed < 0)
    throw UsageError{"--seed must be >= 0"};
  options.seed = static_cast<uint64_t>(seed);
  if (options.batch < 1)
    throw UsageError{"--batch must be >= 1"};
  if (options.jobs < 1)
    throw UsageError{"--jobs must be >= 1"};
  if (options.threads < 0)
    throw UsageError{"--threads must be >= 0"};
  if (!(options.compileTimeoutS > 0) || !(options.runTimeoutS > 0))
    throw UsageError{"--compile-timeout and --run-timeout must be positive"};
  options.faults = parseFaults(faults);
  requireFile("spec", options.specPath);
  return runTuner(options);
}

int cmdReport(const std::vector<std::string> &args) {
  std::string db, png;
  po::options_description desc("Options");
  desc.add_options()
      ("help,h", "print this help")
      ("db", po::value<std::string>(&db), "the tuning database (positional)")
      ("png", po::value<std::string>(&png)->value_name("P"),
       "where to draw the tuning curve (default: FILE.png)");
  po::variables_map vm;
  const Positional file{"db", "FILE"};
  if (!parseArguments(args, desc, file,
                      "usage: blockc-tune report FILE [--png P]\n\nPrints the tuning database "
                      "FILE's kernels, default versus tuned time, and draws\nthe tuning curve "
                      "(best time against trials, from FILE.trials) into a PNG.\n\n",
                      vm))
    return kExitOk;
  requireArguments(vm, file, {});
  requireFile("database", db);
  return blockc::runReport(db, png);
}

} // namespace

int main(int argc, char **argv) {
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty()) {
    std::cerr << kUsage << "Run 'blockc-tune --help' for the options.\n";
    return kExitUsage;
  }
  const std::string &first = all.front();
  const std::vector<std::string> rest(all.begin() + 1, all.end());
  if (first == kCompileMode || first == kTimeMode || first == kRuntimeMode) {
    becomeWorker();
    try {
      if (first == kCompileMode)
        return runCompileWorker(parseCompileRequest(rest));
      if (first == kTimeMode)
        return runHarness(parseTimeRequest(rest));
      const RuntimeRequest request = parseRuntimeRequest(rest);
      return compileRuntime(request.target, request.objectPath);
    } catch (const std::exception &e) {
      std::cerr << "blockc-tune " << first << ": " << e.what() << "\n";
      return kExitUsage;
    }
  }
  const bool report = first == "report";
  return runCommand(report ? "blockc-tune report" : "blockc-tune",
                    [&] { return report ? cmdReport(rest) : cmdTune(all); });
}
