//===- ScheduleChoice.h - schedule spaces and schedule choices ----*- C++ -*-===//
//
// Each kernel kind's CPU and GPU schedules are written once (compiler/lib/Lowering/
// <Kind>CpuSchedule.cpp, <Kind>GpuSchedule.cpp) in terms of a few named knobs (tile sizes,
// loop order, where producers are computed, ...). For one kernel on one target, the kind's
// schedule space lists each knob's legal values and the hand-written default's value. A
// ScheduleChoice picks values for some knobs, or hands the whole pipeline to one of
// Halide's autoschedulers instead; the tuner searches choices and the tuning database
// stores them (docs/tuning.md). Plain data: no Halide here, so the tuner's search and the
// tuning database use it without the compiler.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_SCHEDULE_SCHEDULECHOICE_H
#define BLOCKC_SCHEDULE_SCHEDULECHOICE_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace blockc {

/// One decision of a schedule: its legal values for this kernel's shapes and target (in
/// increasing order), and the value the hand-written default takes.
struct Knob {
  std::string name;
  std::vector<int64_t> choices;
  int64_t defaultValue = 0;
};

/// Every knob of one kernel's schedule.
using ScheduleSpace = std::vector<Knob>;

/// How to schedule one kernel: values for its knobs (a knob left out takes its default),
/// or, when `autoscheduler` is set, that Halide autoscheduler on the whole pipeline.
struct ScheduleChoice {
  std::map<std::string, int64_t> knobs;
  std::string autoscheduler; // "Adams2019", "Mullapudi2016", "Anderson2021"; empty: knobs

  /// {"knobs": {...}} or {"autoscheduler": "Adams2019"}.
  llvm::json::Value toJson() const;
  static llvm::Expected<ScheduleChoice> fromJson(const llvm::json::Value &value);
  /// A canonical one-line text of the choice (equal choices, equal keys).
  std::string key() const;
  /// For people: "default", the autoscheduler's name, or "knob=value ...".
  std::string describe() const;
  bool operator==(const ScheduleChoice &other) const {
    return knobs == other.knobs && autoscheduler == other.autoscheduler;
  }
};

/// Checks `choice` against `space`: every knob it names exists and takes a legal value,
/// and an autoscheduler is one Halide has. Returns the knob values to apply, the defaults
/// filled in for knobs it leaves out.
llvm::Expected<std::map<std::string, int64_t>> resolveKnobs(const ScheduleSpace &space,
                                                           const ScheduleChoice &choice);

/// The Halide autoschedulers a candidate may name, for a CPU or a GPU target.
std::vector<std::string> autoschedulersFor(bool gpu);

} // namespace blockc

#endif // BLOCKC_SCHEDULE_SCHEDULECHOICE_H
