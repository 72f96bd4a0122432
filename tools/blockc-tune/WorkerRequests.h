//===- WorkerRequests.h - what the tuner asks of its workers ------*- C++ -*-===//
//
// The tuner starts this executable in a hidden worker mode with one request on the
// command line: `__compile` a candidate (CompileWorkerOptions), `__time` it
// (HarnessOptions), or `__runtime`, compile Halide's runtime (RuntimeRequest; the tests
// start that one). Each request's options are listed once, in WorkerRequests.cpp: the
// tuner writes a request's command line from that list and the worker parses it back
// with the same list.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_WORKERREQUESTS_H
#define BLOCKC_TUNE_WORKERREQUESTS_H

#include "CompileWorker.h"
#include "Harness.h"

#include <string>
#include <vector>

namespace blockc::tune {

/// The worker modes (argv[1]).
inline constexpr const char *kCompileMode = "__compile";
inline constexpr const char *kTimeMode = "__time";
inline constexpr const char *kRuntimeMode = "__runtime";

/// `__runtime`: Halide's runtime for `target`, compiled into `objectPath`.
struct RuntimeRequest {
  std::string target, objectPath;
};

/// The command line that starts `self` as the worker of `request`.
std::vector<std::string> workerCommand(const std::string &self,
                                       const CompileWorkerOptions &request);
std::vector<std::string> workerCommand(const std::string &self, const HarnessOptions &request);

/// A worker's request, read back from its arguments (after the mode). Throws a
/// boost::program_options error for a missing, unknown or malformed option.
CompileWorkerOptions parseCompileRequest(const std::vector<std::string> &args);
HarnessOptions parseTimeRequest(const std::vector<std::string> &args);
RuntimeRequest parseRuntimeRequest(const std::vector<std::string> &args);

} // namespace blockc::tune

#endif // BLOCKC_TUNE_WORKERREQUESTS_H
