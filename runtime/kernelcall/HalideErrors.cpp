//===- HalideErrors.cpp - the messages of a failing Halide call -----------===//

#include "blockc/KernelCall/HalideErrors.h"

#include <mutex>

namespace {

/// Set while this thread is inside a kernel call: Halide errors raised on this
/// thread are appended here.
thread_local std::string *tKernelMessages = nullptr;

/// Errors raised on Halide's worker threads (inside parallel loops) cannot be
/// matched to a call; the most recent one is kept here and used by a failing
/// kernel call that captured nothing on its own thread.
std::mutex gWorkerErrorMutex;
std::string gWorkerError;
uint64_t gWorkerErrorCount = 0;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

} // namespace

extern "C" void blockcRuntimeHalideErrorHandler(void * /*user_context*/, const char *message) {
  std::string text = trimmed(message ? message : "(null message)");
  if (tKernelMessages) {
    if (!tKernelMessages->empty())
      *tKernelMessages += "; ";
    *tKernelMessages += text;
    return;
  }
  std::lock_guard<std::mutex> lock(gWorkerErrorMutex);
  gWorkerError = std::move(text);
  ++gWorkerErrorCount;
}

namespace blockc {
namespace rt {
namespace halide_errors {

uint64_t workerErrorCount() {
  std::lock_guard<std::mutex> lock(gWorkerErrorMutex);
  return gWorkerErrorCount;
}

std::string workerErrorSince(uint64_t countBefore) {
  std::lock_guard<std::mutex> lock(gWorkerErrorMutex);
  return gWorkerErrorCount != countBefore ? gWorkerError : std::string();
}

std::string *captureInto(std::string *messages) {
  std::string *previous = tKernelMessages;
  tKernelMessages = messages;
  return previous;
}

} // namespace halide_errors
} // namespace rt
} // namespace blockc
