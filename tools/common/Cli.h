//===- Cli.h - what blockc's command-line tools share -------------*- C++ -*-===//
//
// blockc and blockc-tune parse their commands the same way (Boost.Program_options, one
// positional argument) and end them the same way: a usage error prints the message and a
// pointer to --help and exits 2; a failure prints "COMMAND: error: MESSAGE" and exits 1.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TOOLS_CLI_H
#define BLOCKC_TOOLS_CLI_H

#include <boost/program_options.hpp>

#include <functional>
#include <string>
#include <vector>

namespace blockc::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

/// A usage problem: message printed with a pointer to --help, exit code 2.
struct UsageError {
  std::string message;
};

/// A failure: message printed, exit code 1.
struct Failure {
  std::string message;
};

/// A command's positional argument: its option and how the usage names it ("spec", "SPEC").
struct Positional {
  std::string option, metavar;
};

/// Parses `args` against `options`; the first bare argument is `positional`. Returns false
/// if --help was given (`usage` and the options printed to stdout). Throws UsageError for
/// an unknown or malformed option.
bool parseArguments(const std::vector<std::string> &args,
                    const boost::program_options::options_description &options,
                    const Positional &positional, const std::string &usage,
                    boost::program_options::variables_map &vm);

/// Throws UsageError unless the positional argument and each option of `required` were
/// given ("missing SPEC argument", "the option '--db' is required").
void requireArguments(const boost::program_options::variables_map &vm,
                      const Positional &positional, const std::vector<std::string> &required);

/// Whether `path` is a regular file (or, with `allowDirectory`, a directory).
bool fileExists(const std::string &path, bool allowDirectory = false);

/// Throws Failure ("spec 'x.block' does not exist or is not a file") unless fileExists.
void requireFile(const std::string &what, const std::string &path, bool allowDirectory = false);

/// Runs `command` (the tool and its command, as messages name it: "blockc compile") and
/// turns what it throws into a message on stderr and an exit code.
int runCommand(const std::string &name, const std::function<int()> &command);

} // namespace blockc::cli

#endif // BLOCKC_TOOLS_CLI_H
