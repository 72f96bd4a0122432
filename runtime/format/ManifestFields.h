//===- ManifestFields.h - located, checked fields of a JSON document -*- C++ -*-===//
//
// What the manifest parser (and the standalone kernel description's) reads fields with:
// each reader checks a field's presence, type and range and fails with
// RtError(BLOCKC_ERROR_LOAD) "manifest: WHERE: WHAT", WHERE naming the field's path
// ("run[2].args[0].shape"). Private to runtime/format.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_MANIFESTFIELDS_H
#define BLOCKC_RUNTIME_MANIFESTFIELDS_H

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace blockc {
namespace rt {
namespace fields {

namespace json = boost::json;

/// Values above this are rejected, so sums and products of a few stay in int64.
constexpr int64_t kMaxValue = int64_t(1) << 40;
/// The most entries a shape or strides array may have.
constexpr size_t kMaxRank = 16;

/// Fails with "manifest: WHERE: WHAT" (no ": " after an empty WHERE).
[[noreturn]] void bad(const std::string &where, const std::string &what);
/// The path of field `name` of the object at `where` ("'name'" at the top level).
std::string field(const std::string &where, const char *name);

const json::value &need(const json::object &o, const std::string &where, const char *name);
const json::array &needArray(const json::object &o, const std::string &where, const char *name);
std::string needString(const json::object &o, const std::string &where, const char *name);
/// A non-negative finite number.
double needCount(const json::object &o, const std::string &where, const char *name);
/// `v` as an int64 no larger than kMaxValue, if it is an integer.
bool toInt(const json::value &v, int64_t &out);
/// An integer in [lo, hi].
int64_t needInt(const json::object &o, const std::string &where, const char *name, int64_t lo,
                int64_t hi = kMaxValue);
/// An array of at most kMaxRank integers, each in [lo, kMaxValue] (or, with allowNegative,
/// any negative down to -kMaxValue).
std::vector<int64_t> intArray(const json::value &v, const std::string &where, int64_t lo,
                              bool allowNegative);
/// The product of a shape's entries; fails naming `where` beyond kMaxValue.
int64_t product(const std::vector<int64_t> &shape, const std::string &where);
/// Letters, digits and '_', not starting with a digit: a C identifier.
bool isIdentifier(const std::string &s);

} // namespace fields
} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_MANIFESTFIELDS_H
