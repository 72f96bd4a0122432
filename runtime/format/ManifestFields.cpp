//===- ManifestFields.cpp - located, checked fields of a JSON document ----===//

#include "ManifestFields.h"

#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/Safetensors.h"

#include <cctype>
#include <cmath>

namespace blockc {
namespace rt {
namespace fields {

void bad(const std::string &where, const std::string &what) {
  fail(BLOCKC_ERROR_LOAD, "manifest: " + where + (where.empty() ? "" : ": ") + what);
}

std::string field(const std::string &where, const char *name) {
  return where.empty() ? std::string("'") + name + "'" : where + "." + name;
}

const json::value &need(const json::object &o, const std::string &where, const char *name) {
  const json::value *v = o.if_contains(name);
  if (!v)
    bad(where, std::string("field '") + name + "' is missing");
  return *v;
}

const json::array &needArray(const json::object &o, const std::string &where, const char *name) {
  const json::value &v = need(o, where, name);
  if (!v.is_array())
    bad(field(where, name), "must be an array");
  return v.as_array();
}

std::string needString(const json::object &o, const std::string &where, const char *name) {
  const json::value &v = need(o, where, name);
  if (!v.is_string())
    bad(field(where, name), "must be a string");
  return std::string(v.as_string());
}

double needCount(const json::object &o, const std::string &where, const char *name) {
  const json::value &v = need(o, where, name);
  if (!v.is_number())
    bad(field(where, name), "must be a number");
  const double x = v.to_number<double>();
  if (!std::isfinite(x) || x < 0)
    bad(field(where, name), "must be a non-negative finite number");
  return x;
}

bool toInt(const json::value &v, int64_t &out) {
  if (v.is_int64()) {
    out = v.get_int64();
    return true;
  }
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(kMaxValue)) {
    out = static_cast<int64_t>(v.get_uint64());
    return true;
  }
  return false;
}

int64_t needInt(const json::object &o, const std::string &where, const char *name, int64_t lo,
                int64_t hi) {
  const json::value &v = need(o, where, name);
  int64_t n;
  if (!toInt(v, n))
    bad(field(where, name), "must be an integer");
  if (n < lo || n > hi)
    bad(field(where, name), "value " + std::to_string(n) + " is out of range [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return n;
}

std::vector<int64_t> intArray(const json::value &v, const std::string &where, int64_t lo,
                              bool allowNegative) {
  if (!v.is_array())
    bad(where, "must be an array of integers");
  if (v.as_array().size() > kMaxRank)
    bad(where, "has more than " + std::to_string(kMaxRank) + " entries");
  std::vector<int64_t> out;
  for (const json::value &e : v.as_array()) {
    int64_t n;
    if (!toInt(e, n))
      bad(where, "must be an array of integers");
    if (allowNegative && n < 0) {
      if (n < -kMaxValue)
        bad(where, "entry " + std::to_string(n) + " is out of range");
    } else if (n < lo || n > kMaxValue) {
      bad(where, "entry " + std::to_string(n) + " is out of range (at least " +
                     std::to_string(lo) + ")");
    }
    out.push_back(n);
  }
  return out;
}

int64_t product(const std::vector<int64_t> &shape, const std::string &where) {
  int64_t p = 1;
  for (int64_t d : shape) {
    if (d != 0 && p > kMaxValue / d)
      bad(where, "shape " + shapeToString(shape) + " is too large");
    p *= d;
  }
  return p;
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

} // namespace fields
} // namespace rt
} // namespace blockc
