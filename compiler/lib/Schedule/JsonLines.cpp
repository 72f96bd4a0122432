//===- JsonLines.cpp - JSON-lines files: lines, fields, numbers -----------===//
#include "blockc/Schedule/JsonLines.h"

#include <charconv>
#include <cmath>

using namespace blockc;
namespace json = llvm::json;

llvm::Error jsonl::error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error jsonl::forEachLine(
    llvm::StringRef text,
    llvm::function_ref<llvm::Error(const Line &, llvm::Expected<json::Value>)> fn) {
  llvm::StringRef rest = text;
  for (unsigned number = 1; !rest.empty(); ++number) {
    Line line;
    line.number = number;
    line.offset = static_cast<size_t>(rest.data() - text.data());
    const size_t end = rest.find('\n');
    line.unterminated = end == llvm::StringRef::npos;
    llvm::StringRef content = rest.take_front(end).trim();
    rest = line.unterminated ? llvm::StringRef() : rest.drop_front(end + 1);
    if (content.empty())
      continue;
    if (llvm::Error err = fn(line, json::parse(content)))
      return err;
  }
  return llvm::Error::success();
}

namespace {
/// The value of `key`, or null when absent or JSON null; an error for a missing
/// required field.
llvm::Expected<const json::Value *> field(const json::Object &object, llvm::StringRef key,
                                          jsonl::Need need) {
  const json::Value *value = object.get(key);
  if (value && value->kind() != json::Value::Null)
    return value;
  if (need == jsonl::Need::Required)
    return jsonl::error("missing \"" + key + "\"");
  return nullptr;
}
} // namespace

llvm::Error jsonl::readString(const json::Object &object, llvm::StringRef key, Need need,
                              std::string &out) {
  llvm::Expected<const json::Value *> value = field(object, key, need);
  if (!value || !*value)
    return value.takeError();
  std::optional<llvm::StringRef> text = (*value)->getAsString();
  if (!text)
    return error("expected a string for \"" + key + "\"");
  out = text->str();
  return llvm::Error::success();
}

llvm::Error jsonl::readInteger(const json::Object &object, llvm::StringRef key, Need need,
                               int64_t &out, int64_t minimum) {
  llvm::Expected<const json::Value *> value = field(object, key, need);
  if (!value || !*value)
    return value.takeError();
  std::optional<int64_t> number = (*value)->getAsInteger();
  if (!number)
    return error("expected an integer for \"" + key + "\"");
  if (*number < minimum)
    return error("expected an integer >= " + llvm::Twine(minimum) + " for \"" + key + "\"");
  out = *number;
  return llvm::Error::success();
}

llvm::Error jsonl::readTime(const json::Object &object, llvm::StringRef key, Need need,
                            double &out) {
  llvm::Expected<const json::Value *> value = field(object, key, need);
  if (!value || !*value)
    return value.takeError();
  std::optional<double> number = (*value)->getAsNumber();
  if (!number)
    return error("expected a number for \"" + key + "\"");
  if (!std::isfinite(*number) || *number < 0)
    return error("expected a non-negative number for \"" + key + "\"");
  out = *number;
  return llvm::Error::success();
}

llvm::Error jsonl::readNumberOrNull(const json::Object &object, llvm::StringRef key,
                                    std::optional<double> &out) {
  llvm::Expected<const json::Value *> value = field(object, key, Need::Optional);
  if (!value)
    return value.takeError();
  out.reset();
  if (!*value)
    return llvm::Error::success();
  std::optional<double> number = (*value)->getAsNumber();
  if (!number)
    return error("expected a number or null for \"" + key + "\"");
  out = *number;
  return llvm::Error::success();
}

std::string jsonl::shortestDecimal(double value) {
  char buffer[64];
  std::to_chars_result result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}
