//===- HalideErrors.h - the messages of a failing Halide call ----*- C++ -*-===//
//
// A kernel library's Halide runtime reports errors through halide_set_error_handler's
// handler, on the calling thread or on one of its worker threads (inside parallel loops).
// captureHalideErrors installs the handler below in a library; callHalide collects what a
// call raises, so a failing call's code comes with its messages.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_KERNELCALL_HALIDEERRORS_H
#define BLOCKC_KERNELCALL_HALIDEERRORS_H

#include <cstdint>
#include <string>

/// The handler installed in every kernel library: appends the message to the capture of
/// this thread's call, else keeps it as the latest worker-thread error.
extern "C" void blockcRuntimeHalideErrorHandler(void *user_context, const char *message);

namespace blockc {
namespace rt {
namespace halide_errors {

/// How many errors Halide worker threads have raised so far.
uint64_t workerErrorCount();
/// The latest error raised on a Halide worker thread if any was raised since there were
/// `countBefore`; else "".
std::string workerErrorSince(uint64_t countBefore);
/// Sends this thread's Halide errors to `messages` (null: none); returns the previous target.
std::string *captureInto(std::string *messages);

} // namespace halide_errors

/// Calls `f` (a kernel or a Halide runtime function returning a Halide error code) with
/// the Halide errors it raises collected in `messages`: those of this thread, else (on a
/// failure) the latest one raised on a Halide worker thread meanwhile.
template <class F> int callHalide(F &&f, std::string &messages) {
  const uint64_t workerErrorsBefore = halide_errors::workerErrorCount();
  std::string *outer = halide_errors::captureInto(&messages);
  const int rc = f();
  halide_errors::captureInto(outer);
  if (rc != 0 && messages.empty())
    messages = halide_errors::workerErrorSince(workerErrorsBefore);
  return rc;
}

} // namespace rt
} // namespace blockc

#endif // BLOCKC_KERNELCALL_HALIDEERRORS_H
