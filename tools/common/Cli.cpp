//===- Cli.cpp - what blockc's command-line tools share -------------------===//
#include "Cli.h"

#include <iostream>
#include <new>
#include <sys/stat.h>

namespace po = boost::program_options;
using namespace blockc::cli;

bool blockc::cli::parseArguments(const std::vector<std::string> &args,
                                 const po::options_description &options,
                                 const Positional &positional, const std::string &usage,
                                 po::variables_map &vm) {
  po::positional_options_description pos;
  pos.add(positional.option.c_str(), 1);
  try {
    po::store(po::command_line_parser(args).options(options).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << options;
      return false;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError{e.what()};
  }
  return true;
}

void blockc::cli::requireArguments(const po::variables_map &vm, const Positional &positional,
                                   const std::vector<std::string> &required) {
  if (!vm.count(positional.option))
    throw UsageError{"missing " + positional.metavar + " argument"};
  for (const std::string &option : required)
    if (!vm.count(option))
      throw UsageError{"the option '--" + option + "' is required"};
}

bool blockc::cli::fileExists(const std::string &path, bool allowDirectory) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return false;
  return S_ISREG(st.st_mode) || (allowDirectory && S_ISDIR(st.st_mode));
}

void blockc::cli::requireFile(const std::string &what, const std::string &path,
                              bool allowDirectory) {
  if (!fileExists(path, allowDirectory))
    throw Failure{what + " '" + path + "' does not exist or is not a " +
                  (allowDirectory ? "file or directory" : "file")};
}

int blockc::cli::runCommand(const std::string &name, const std::function<int()> &command) {
  try {
    return command();
  } catch (const UsageError &e) {
    std::cerr << name << ": " << e.message << "\nTry '" << name << " --help'.\n";
    return kExitUsage;
  } catch (const Failure &e) {
    std::cerr << name << ": error: " << e.message << "\n";
    return kExitFailure;
  } catch (const std::bad_alloc &) {
    std::cerr << name << ": error: out of memory\n";
    return kExitFailure;
  } catch (const std::exception &e) {
    std::cerr << name << ": error: " << e.what() << "\n";
    return kExitFailure;
  }
}
