//===- CostModel.h - predicted kernel time from knob values -------*- C++ -*-===//
//
// A ridge regression of log(time) on features of the knob values (for each knob with more
// than one choice: x = log2(value), or log2(value + 1) when 0 is a choice, and x^2), fitted
// to the candidates measured so far and used to rank proposals (docs/tuning.md). The normal
// equations are solved with Boost uBLAS's LU factorization.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_COSTMODEL_H
#define BLOCKC_TUNE_COSTMODEL_H

#include "blockc/Schedule/ScheduleChoice.h"

#include <cstdint>
#include <vector>

namespace blockc::tune {

/// A point of a schedule space: one value per knob, in the space's order.
using Point = std::vector<int64_t>;

class CostModel {
public:
  explicit CostModel(const ScheduleSpace &space, double lambda = 1.0);

  /// Fits the model to `points` measured at `timesUs` (> 0). Needs at least
  /// `minimumSamples()` points; with fewer, or if the system is singular, the model stays
  /// unfitted. Returns fitted().
  bool fit(const std::vector<Point> &points, const std::vector<double> &timesUs);
  bool fitted() const { return isFitted; }
  /// The predicted log(time in us) of `point`; only when fitted().
  double predictLogTime(const Point &point) const;
  /// The raw features of a point (before standardization), for tests.
  std::vector<double> features(const Point &point) const;
  static constexpr size_t minimumSamples() { return 3; }

private:
  ScheduleSpace space;
  double lambda;
  std::vector<bool> zeroChoice; // per knob: 0 is among its choices (log2(v + 1))
  bool isFitted = false;
  double meanY = 0;
  std::vector<double> mean, scale, beta; // per feature
};

} // namespace blockc::tune

#endif // BLOCKC_TUNE_COSTMODEL_H
