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
#include "CompileWorker.h"
#include "Harness.h"
#include "Report.h"
#include "Tuner.h"
#include "Workers.h"

#include <boost/program_options.hpp>

#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#ifndef BLOCKC_VERSION
#define BLOCKC_VERSION "unknown"
#endif

namespace po = boost::program_options;
using namespace blockc::tune;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct UsageError {
  std::string message;
};

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

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

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
  po::positional_options_description pos;
  pos.add("spec", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << kUsage << desc;
      return kExitOk;
    }
    if (vm.count("version")) {
      std::cout << "blockc-tune " << BLOCKC_VERSION << "\n";
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError{e.what()};
  }
  if (!vm.count("spec"))
    throw UsageError{"missing SPEC argument"};
  if (vm.count("list")) {
    if (list != "text" && list != "json")
      throw UsageError{"--list takes no value or 'json'"};
    if (!fileExists(options.specPath)) {
      std::cerr << "blockc-tune: error: spec '" << options.specPath
                << "' does not exist or is not a file\n";
      return kExitFailure;
    }
    return listKernels(options.specPath, options.target, list == "json");
  }
  if (!vm.count("db"))
    throw UsageError{"the option '--db' is required"};
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
  if (!fileExists(options.specPath)) {
    std::cerr << "blockc-tune: error: spec '" << options.specPath
              << "' does not exist or is not a file\n";
    return kExitFailure;
  }
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
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: blockc-tune report FILE [--png P]\n\nPrints the tuning database "
                   "FILE's kernels, default versus tuned time, and draws\nthe tuning curve "
                   "(best time against trials, from FILE.trials) into a PNG.\n\n"
                << desc;
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError{e.what()};
  }
  if (db.empty())
    throw UsageError{"missing FILE argument"};
  if (!fileExists(db)) {
    std::cerr << "blockc-tune report: error: database '" << db
              << "' does not exist or is not a file\n";
    return kExitFailure;
  }
  return blockc::runReport(db, png);
}

/// `__compile`: one candidate's compile worker.
int workerCompile(const std::vector<std::string> &args) {
  CompileWorkerOptions o;
  po::options_description desc;
  desc.add_options()
      ("spec", po::value<std::string>(&o.specPath)->required())
      ("target", po::value<std::string>(&o.target)->required())
      ("kernel", po::value<std::string>(&o.kernel)->required())
      ("schedule", po::value<std::string>(&o.scheduleJson)->required())
      ("out", po::value<std::string>(&o.outputDir)->required())
      ("runtime", po::value<std::string>(&o.runtimeObject)->default_value(""))
      ("batch", po::value<int64_t>(&o.batch)->default_value(1))
      ("inject", po::value<std::string>(&o.inject)->default_value(""));
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  return runCompileWorker(o);
}

/// `__time`: one candidate's timing worker.
int workerTime(const std::vector<std::string> &args) {
  HarnessOptions o;
  bool noTime = false;
  po::options_description desc;
  desc.add_options()
      ("dir", po::value<std::string>(&o.kernelDir)->required())
      ("batch", po::value<int64_t>(&o.batch)->default_value(1))
      ("reference", po::value<std::string>(&o.referencePath)->required())
      ("result", po::value<std::string>(&o.resultPath)->required())
      ("write-reference", po::bool_switch(&o.writeReference))
      ("no-time", po::bool_switch(&noTime))
      ("threads", po::value<int>(&o.threads)->default_value(0))
      ("inject", po::value<std::string>(&o.inject)->default_value(""));
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  o.time = !noTime;
  return runHarness(o);
}

/// `__runtime`: compiles Halide's runtime for a target (the tests' compile workers share it).
int workerRuntime(const std::vector<std::string> &args) {
  std::string target, out;
  po::options_description desc;
  desc.add_options()
      ("target", po::value<std::string>(&target)->required())
      ("out", po::value<std::string>(&out)->required());
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  return compileRuntime(target, out);
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
  if (first == "__compile" || first == "__time" || first == "__runtime") {
    becomeWorker();
    try {
      return first == "__compile" ? workerCompile(rest)
             : first == "__time"  ? workerTime(rest)
                                  : workerRuntime(rest);
    } catch (const std::exception &e) {
      std::cerr << "blockc-tune " << first << ": " << e.what() << "\n";
      return kExitUsage;
    }
  }
  const bool report = first == "report";
  const std::string command = report ? "blockc-tune report" : "blockc-tune";
  try {
    return report ? cmdReport(rest) : cmdTune(all);
  } catch (const UsageError &e) {
    std::cerr << command << ": " << e.message << "\nTry '" << command << " --help'.\n";
    return kExitUsage;
  } catch (const std::bad_alloc &) {
    std::cerr << command << ": error: out of memory\n";
    return kExitFailure;
  } catch (const std::exception &e) {
    std::cerr << command << ": error: " << e.what() << "\n";
    return kExitFailure;
  }
}
