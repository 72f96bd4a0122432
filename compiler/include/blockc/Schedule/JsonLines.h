//===- JsonLines.h - JSON-lines files: lines, fields, numbers -------*- C++ -*-===//
//
// The tuning database and blockc-tune's trial log are JSON-lines files, one object per
// line (docs/tuning.md). One place for walking their lines, reading their fields with
// errors that name the key, and writing numbers exactly. What a bad line means (an error,
// a line skipped, a last line cut short) is each reader's own policy.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_SCHEDULE_JSONLINES_H
#define BLOCKC_SCHEDULE_JSONLINES_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace blockc::jsonl {

/// An llvm::Error with `message`.
llvm::Error error(const llvm::Twine &message);

/// One non-blank line of a JSON-lines text.
struct Line {
  unsigned number = 0;       ///< 1-based
  size_t offset = 0;         ///< of its first byte in the text
  bool unterminated = false; ///< the text's last line, with no newline after it
};

/// Calls `fn` with each non-blank line and its JSON, parsed, in order. The first error
/// `fn` returns ends the walk and is returned.
llvm::Error
forEachLine(llvm::StringRef text,
            llvm::function_ref<llvm::Error(const Line &, llvm::Expected<llvm::json::Value>)> fn);

/// Whether a field must be there. An optional field that is absent or null leaves the
/// reader's `out` unchanged; a required one is an error then.
enum class Need { Required, Optional };

llvm::Error readString(const llvm::json::Object &object, llvm::StringRef key, Need need,
                       std::string &out);
llvm::Error readInteger(const llvm::json::Object &object, llvm::StringRef key, Need need,
                        int64_t &out,
                        int64_t minimum = std::numeric_limits<int64_t>::min());
/// A finite number >= 0.
llvm::Error readTime(const llvm::json::Object &object, llvm::StringRef key, Need need,
                     double &out);
/// A number, or null (or absent) for none.
llvm::Error readNumberOrNull(const llvm::json::Object &object, llvm::StringRef key,
                             std::optional<double> &out);

/// The shortest decimal text that reads back as exactly `value` (llvm::json prints 17
/// significant digits: 12.3 would come out as 12.300000000000001).
std::string shortestDecimal(double value);

} // namespace blockc::jsonl

#endif // BLOCKC_SCHEDULE_JSONLINES_H
