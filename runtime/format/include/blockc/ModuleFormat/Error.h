//===- Error.h - the runtime's error type and message helpers ---*- C++ -*-===//
#ifndef BLOCKC_RUNTIME_ERROR_H
#define BLOCKC_RUNTIME_ERROR_H

#include "blockc/runtime.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace blockc {
namespace rt {

/// What internal functions throw; the C API turns it into a status and message.
class RtError : public std::runtime_error {
public:
  RtError(blockc_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  blockc_status status() const noexcept { return status_; }

private:
  blockc_status status_;
};

[[noreturn]] inline void fail(blockc_status status, const std::string &message) {
  throw RtError(status, message);
}

/// "[2, 3]"
inline std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// "'path'", as messages name files.
inline std::string quoted(const std::string &s) { return "'" + s + "'"; }

/// "a, b, c"
inline std::string joinNames(const std::vector<std::string> &names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i ? ", " : "") + names[i];
  return s;
}

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_ERROR_H
