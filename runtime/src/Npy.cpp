//===- Npy.cpp - .npy reader and writer (float32) -------------------------===//

#include "blockc/Npy.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

namespace blockc {
namespace npy {
namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

[[noreturn]] void fail(const std::string &name, const std::string &what) {
  throw Error(name + ": " + what, BLOCKC_ERROR_INVALID_ARGUMENT);
}

/// A value of the header dict: a string, a bool or a tuple of integers.
struct Value {
  enum Kind { String, Bool, Tuple } kind = String;
  std::string str;
  bool boolean = false;
  std::vector<int64_t> tuple;
};

/// Parses the Python dict literal of a .npy header.
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &name) : s_(text), name_(name) {}

  std::vector<std::pair<std::string, Value>> parseDict() {
    std::vector<std::pair<std::string, Value>> entries;
    skipSpace();
    expect('{');
    skipSpace();
    while (peek() != '}') {
      std::string key = parseString();
      skipSpace();
      expect(':');
      skipSpace();
      Value value = parseValue();
      entries.emplace_back(std::move(key), std::move(value));
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        skipSpace();
      } else if (peek() != '}') {
        error("expected ',' or '}'");
      }
    }
    ++pos_;
    skipSpace();
    if (pos_ != s_.size())
      error("unexpected text after the header dict");
    return entries;
  }

private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c)
      error(std::string("expected '") + c + "'");
    ++pos_;
  }
  [[noreturn]] void error(const std::string &what) const {
    fail(name_, "malformed .npy header (" + what + " at offset " + std::to_string(pos_) +
                    "): " + s_);
  }
  std::string parseString() {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      error("expected a quoted string");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\')
        error("escapes are not supported");
      out += s_[pos_++];
    }
    if (pos_ >= s_.size())
      error("unterminated string");
    ++pos_;
    return out;
  }
  Value parseValue() {
    Value v;
    char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = Value::String;
      v.str = parseString();
    } else if (s_.compare(pos_, 4, "True") == 0) {
      v.kind = Value::Bool;
      v.boolean = true;
      pos_ += 4;
    } else if (s_.compare(pos_, 5, "False") == 0) {
      v.kind = Value::Bool;
      v.boolean = false;
      pos_ += 5;
    } else if (c == '(') {
      v.kind = Value::Tuple;
      ++pos_;
      skipSpace();
      while (peek() != ')') {
        if (!std::isdigit(static_cast<unsigned char>(peek())))
          error("expected a non-negative integer in the shape tuple");
        int64_t n = 0;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
          int digit = peek() - '0';
          if (n > (std::numeric_limits<int64_t>::max() - digit) / 10)
            error("shape entry too large");
          n = n * 10 + digit;
          ++pos_;
        }
        if (peek() == 'L') // Python 2 long suffix
          ++pos_;
        v.tuple.push_back(n);
        skipSpace();
        if (peek() == ',') {
          ++pos_;
          skipSpace();
        } else if (peek() != ')') {
          error("expected ',' or ')' in the shape tuple");
        }
      }
      ++pos_;
    } else {
      error("expected a string, True, False or a tuple");
    }
    return v;
  }

  const std::string &s_;
  const std::string &name_;
  size_t pos_ = 0;
};

uint32_t readLE(const std::string &bytes, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

bool hostIsLittleEndian() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

namespace {

/// A parsed .npy file: its shape, dtype and where its data starts in the bytes.
struct Parsed {
  std::vector<int64_t> shape;
  std::string descr;
  size_t dataOffset = 0;
  uint64_t count = 0;
};

/// Parses the header of `bytes` and checks the data holds `count` elements of its dtype,
/// which must be one of `descrs` (`wanted` says which in messages).
Parsed parseArray(const std::string &bytes, const std::string &name,
                  std::initializer_list<const char *> descrs, const std::string &wanted) {
  if (!hostIsLittleEndian())
    fail(name, "only little-endian hosts are supported");
  if (bytes.size() < kMagicSize + 2 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0)
    fail(name, "not a .npy file (bad magic; expected \\x93NUMPY)");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  size_t lengthBytes;
  if (major == 1 && minor == 0)
    lengthBytes = 2;
  else if ((major == 2 || major == 3) && minor == 0)
    lengthBytes = 4;
  else
    fail(name, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  const size_t prefix = kMagicSize + 2 + lengthBytes;
  if (bytes.size() < prefix)
    fail(name, "truncated .npy header");
  const size_t headerLength = readLE(bytes, kMagicSize + 2, lengthBytes);
  if (headerLength > bytes.size() - prefix)
    fail(name, "truncated .npy header (header length " + std::to_string(headerLength) +
                   " goes past the end of the " + std::to_string(bytes.size()) + "-byte file)");
  const std::string header = bytes.substr(prefix, headerLength);

  bool haveDescr = false, haveFortran = false, haveShape = false, fortran = false;
  Parsed array;
  for (auto &entry : HeaderParser(header, name).parseDict()) {
    const std::string &key = entry.first;
    const Value &v = entry.second;
    if (key == "descr") {
      if (v.kind != Value::String)
        fail(name, "malformed .npy header: 'descr' is not a string");
      array.descr = v.str;
      haveDescr = true;
    } else if (key == "fortran_order") {
      if (v.kind != Value::Bool)
        fail(name, "malformed .npy header: 'fortran_order' is not True or False");
      fortran = v.boolean;
      haveFortran = true;
    } else if (key == "shape") {
      if (v.kind != Value::Tuple)
        fail(name, "malformed .npy header: 'shape' is not a tuple");
      array.shape = v.tuple;
      haveShape = true;
    } else {
      fail(name, "malformed .npy header: unexpected key '" + key + "'");
    }
  }
  if (!haveDescr || !haveFortran || !haveShape)
    fail(name, "malformed .npy header: it needs 'descr', 'fortran_order' and 'shape'");
  if (std::none_of(descrs.begin(), descrs.end(), [&](const char *d) { return array.descr == d; }))
    fail(name, "dtype '" + array.descr + "' is not supported (only " + wanted + ")");
  if (fortran)
    fail(name, "fortran_order arrays are not supported (save a C-contiguous array)");

  const uint64_t size = array.descr == "<i8" ? 8 : 4;
  uint64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / size / static_cast<uint64_t>(d))
      fail(name, "shape " + shapeString(array.shape) + " is too large");
    count *= static_cast<uint64_t>(d);
  }
  const size_t dataBytes = bytes.size() - prefix - headerLength;
  if (dataBytes < count * size)
    fail(name, "truncated data: shape " + shapeString(array.shape) + " needs " +
                   std::to_string(count * size) + " bytes, the file holds " +
                   std::to_string(dataBytes));
  if (dataBytes > count * size)
    fail(name, std::to_string(dataBytes - count * size) +
                   " unexpected bytes after the data of shape " + shapeString(array.shape));
  array.dataOffset = prefix + headerLength;
  array.count = count;
  return array;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    fail(path, "read error");
  return ss.str();
}

} // namespace

ArrayF32 parseF32(const std::string &bytes, const std::string &name) {
  Parsed parsed = parseArray(bytes, name, {"<f4"}, "little-endian float32 '<f4'");
  ArrayF32 array;
  array.shape = std::move(parsed.shape);
  array.data.resize(parsed.count);
  if (parsed.count)
    std::memcpy(array.data.data(), bytes.data() + parsed.dataOffset, parsed.count * 4);
  return array;
}

ArrayI64 parseInts(const std::string &bytes, const std::string &name) {
  Parsed parsed = parseArray(bytes, name, {"<i8", "<i4"},
                             "little-endian int64 '<i8' or int32 '<i4': token ids and masks "
                             "are integers");
  ArrayI64 array;
  array.shape = std::move(parsed.shape);
  array.data.resize(parsed.count);
  const char *data = bytes.data() + parsed.dataOffset;
  for (uint64_t i = 0; i < parsed.count; ++i)
    if (parsed.descr == "<i8") {
      std::memcpy(&array.data[i], data + 8 * i, 8);
    } else {
      int32_t v;
      std::memcpy(&v, data + 4 * i, 4);
      array.data[i] = v;
    }
  return array;
}

ArrayI64 readInts(const std::string &path) { return parseInts(readFile(path), path); }

ArrayF32 readF32(const std::string &path) { return parseF32(readFile(path), path); }

std::string serializeF32(const std::vector<int64_t> &shape, const float *data) {
  if (!hostIsLittleEndian())
    throw Error("npy: only little-endian hosts are supported");
  uint64_t count = 1;
  std::string shapeText = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      throw Error("npy: negative shape entry " + std::to_string(shape[i]));
    count *= static_cast<uint64_t>(shape[i]);
    shapeText += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  }
  shapeText += ")";
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
  // Pad with spaces and end with '\n' so the data starts 64-byte aligned.
  size_t lengthBytes = 2;
  int major = 1;
  if (dict.size() + 1 + kMagicSize + 2 + 2 + 64 > 65535) {
    lengthBytes = 4;
    major = 2;
  }
  const size_t prefix = kMagicSize + 2 + lengthBytes;
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  const size_t headerLength = total - prefix;
  dict.append(headerLength - dict.size() - 1, ' ');
  dict += '\n';

  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < lengthBytes; ++i)
    out += static_cast<char>((headerLength >> (8 * i)) & 0xff);
  out += dict;
  out.append(reinterpret_cast<const char *>(data), count * 4);
  return out;
}

void writeF32(const std::string &path, const std::vector<int64_t> &shape, const float *data) {
  std::string bytes = serializeF32(shape, data);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    fail(path, "write error");
}

} // namespace npy
} // namespace blockc
