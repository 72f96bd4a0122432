//===- Schedule.cpp - knobs and JSON arrays -------------------------------===//
#include "Kernels.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace blockc;
namespace json = llvm::json;

Knob blockc::makeKnob(std::string name, std::vector<int64_t> candidates, int64_t limit,
                      int64_t defaultValue) {
  llvm::erase_if(candidates, [&](int64_t v) { return v < 0 || v > limit; });
  candidates.push_back(defaultValue);
  llvm::sort(candidates);
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  return Knob{std::move(name), std::move(candidates), defaultValue};
}

json::Array blockc::toJsonArray(llvm::ArrayRef<int64_t> values) {
  json::Array array;
  for (int64_t v : values)
    array.push_back(v);
  return array;
}
