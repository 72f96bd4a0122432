//===- CliLibraryTest.cpp - blockc_cli ------------------------------------===//
#include "Cli.h"

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

namespace po = boost::program_options;
using namespace blockc::cli;

namespace {

/// Captures what `stream` receives while alive.
class Capture {
public:
  explicit Capture(std::ostream &stream) : stream(stream), old(stream.rdbuf(text.rdbuf())) {}
  ~Capture() { stream.rdbuf(old); }
  std::string str() const { return text.str(); }

private:
  std::ostream &stream;
  std::ostringstream text;
  std::streambuf *old;
};

struct Command {
  std::string spec, db;
  po::options_description options{"Options"};
  po::variables_map vm;
  Command() {
    options.add_options()("help,h", "print this help")(
        "spec", po::value<std::string>(&spec), "the spec")("db", po::value<std::string>(&db),
                                                            "the database");
  }
};

const Positional kSpec{"spec", "SPEC"};

TEST(CliLibrary, TheFirstBareArgumentIsThePositional) {
  Command c;
  ASSERT_TRUE(parseArguments({"a.block", "--db", "db.jsonl"}, c.options, kSpec, "usage\n", c.vm));
  EXPECT_EQ(c.spec, "a.block");
  EXPECT_EQ(c.db, "db.jsonl");
  EXPECT_NO_THROW(requireArguments(c.vm, kSpec, {"db"}));
}

TEST(CliLibrary, HelpPrintsTheUsageAndTheOptions) {
  Command c;
  Capture out(std::cout);
  EXPECT_FALSE(parseArguments({"--help"}, c.options, kSpec, "usage: tool SPEC\n\n", c.vm));
  EXPECT_EQ(out.str().rfind("usage: tool SPEC\n\nOptions:\n", 0), 0u) << out.str();
  EXPECT_NE(out.str().find("--db"), std::string::npos);
}

TEST(CliLibrary, BadAndMissingArgumentsAreUsageErrors) {
  Command c;
  try {
    parseArguments({"--bogus"}, c.options, kSpec, "", c.vm);
    FAIL() << "no UsageError";
  } catch (const UsageError &e) {
    EXPECT_NE(e.message.find("bogus"), std::string::npos) << e.message;
  }
  Command none;
  ASSERT_TRUE(parseArguments({}, none.options, kSpec, "", none.vm));
  try {
    requireArguments(none.vm, kSpec, {"db"});
    FAIL() << "no UsageError";
  } catch (const UsageError &e) {
    EXPECT_EQ(e.message, "missing SPEC argument");
  }
  Command noDb;
  ASSERT_TRUE(parseArguments({"a.block"}, noDb.options, kSpec, "", noDb.vm));
  try {
    requireArguments(noDb.vm, kSpec, {"db"});
    FAIL() << "no UsageError";
  } catch (const UsageError &e) {
    EXPECT_EQ(e.message, "the option '--db' is required");
  }
}

TEST(CliLibrary, RequireFileNamesWhatIsMissing) {
  const std::string dir = testing::TempDir();
  EXPECT_TRUE(fileExists(dir, /*allowDirectory=*/true));
  EXPECT_FALSE(fileExists(dir));
  EXPECT_NO_THROW(requireFile("module", dir, /*allowDirectory=*/true));
  try {
    requireFile("spec", dir + "/no-such.block");
    FAIL() << "no Failure";
  } catch (const Failure &e) {
    EXPECT_EQ(e.message, "spec '" + dir + "/no-such.block' does not exist or is not a file");
  }
  try {
    requireFile("module", dir + "/none", /*allowDirectory=*/true);
    FAIL() << "no Failure";
  } catch (const Failure &e) {
    EXPECT_EQ(e.message, "module '" + dir + "/none' does not exist or is not a file or directory");
  }
}

TEST(CliLibrary, RunCommandTurnsWhatIsThrownIntoMessagesAndExitCodes) {
  Capture err(std::cerr);
  EXPECT_EQ(runCommand("tool cmd", [] { return 7; }), 7);
  EXPECT_EQ(runCommand("tool cmd", []() -> int { throw UsageError{"bad"}; }), kExitUsage);
  EXPECT_EQ(runCommand("tool cmd", []() -> int { throw Failure{"broken"}; }), kExitFailure);
  EXPECT_EQ(runCommand("tool cmd", []() -> int { throw std::runtime_error("oops"); }),
            kExitFailure);
  EXPECT_EQ(err.str(), "tool cmd: bad\nTry 'tool cmd --help'.\n"
                       "tool cmd: error: broken\n"
                       "tool cmd: error: oops\n");
}

} // namespace
