//===- Search.h - the candidates of one kernel's schedule search --*- C++ -*-===//
//
// One Search per kernel task. Round 0 is the hand-written default (the empty choice), each
// Halide autoscheduler, and a few random points of the knob space. Every later round is
// evolutionary: many proposals made by mutating one or two knobs of the best measured
// points (to a neighbouring or a random legal value), by crossing two of them over, and a
// few random points, ranked by a cost model fitted to the measurements so far (CostModel);
// the round is the best-ranked few plus one random proposal for exploration. A key is
// never proposed again once measured.
//
// Every random choice comes from one std::mt19937_64 seeded with the run's seed and the
// kernel's signature, drawn without implementation-defined distributions, so the same
// seed and the same measurements give the same candidates; a round's candidates do not
// depend on how many of them the caller then measures.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_SEARCH_H
#define BLOCKC_TUNE_SEARCH_H

#include "CostModel.h"

#include "blockc/Schedule/ScheduleChoice.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace blockc::tune {

/// One schedule to measure and where it came from.
struct Candidate {
  /// Canonical: the knobs whose values differ from their defaults (the default is the
  /// empty choice), or an autoscheduler with no knobs.
  ScheduleChoice schedule;
  /// "default", an autoscheduler's name, "random" or "evolved".
  std::string origin;
};

/// 64-bit FNV-1a of `text`: the same on every platform (std::hash is not).
uint64_t stableHash(const std::string &text);

struct SearchOptions {
  size_t randomInFirstRound = 3; // random points in round 0
  size_t roundSize = 6;          // candidates in each later round
  size_t proposals = 256;        // proposals ranked per later round
  size_t parents = 4;            // best measured points that proposals start from
  double ridgeLambda = 1.0;
};

class Search {
public:
  Search(ScheduleSpace space, std::vector<std::string> autoschedulers, uint64_t seed,
         const std::string &signature, SearchOptions options = {});

  /// The next round's candidates, in the order to measure them (the first round starts
  /// with the default). Empty once every point of the space has been measured. Calling it
  /// again before recording results proposes a new round from the same measurements.
  std::vector<Candidate> nextRound();
  /// Records the result of a candidate: `ok` with its median time, or not ok (wrong,
  /// failed to compile, crashed, timed out). Measured keys are never proposed again.
  void record(const Candidate &candidate, bool ok, double timeUs);

  /// The number of rounds proposed so far.
  int rounds() const { return roundCount; }
  bool exhausted() const { return isExhausted; }
  bool measured(const ScheduleChoice &choice) const;
  const ScheduleSpace &space() const { return knobs; }
  /// The points of the space, at most `limit` (saturating).
  uint64_t spaceSize(uint64_t limit = UINT64_MAX) const;

  /// The choice of a point, naming every knob, and the point of a (knob) choice.
  ScheduleChoice choiceOf(const Point &point) const;
  /// The hand-written default, naming every knob.
  ScheduleChoice defaultChoice() const;
  Point pointOf(const ScheduleChoice &choice) const;
  /// Every value of `point` is one of its knob's choices.
  bool legal(const Point &point) const;

private:
  // Deterministic draws (no std::uniform_*_distribution: their results differ between
  // standard libraries).
  uint64_t below(uint64_t n);
  double unit();

  Point defaultPoint() const;
  Point randomPoint();
  Point mutate(const Point &parent, int knobsToChange);
  Point crossover(const Point &a, const Point &b);
  std::vector<Candidate> firstRound();
  std::vector<Candidate> laterRound();
  /// The best measured ok knob points, fastest first.
  std::vector<Point> bestPoints(size_t count) const;

  ScheduleSpace knobs;
  std::vector<size_t> freeKnobs; // knobs with more than one choice
  std::vector<std::string> autoschedulers;
  SearchOptions options;
  std::mt19937_64 rng;
  CostModel model;
  int roundCount = 0;
  bool isExhausted = false;
  std::set<std::string> measuredKeys;
  /// Measured ok knob points and their times, in the order measured.
  std::vector<Point> okPoints;
  std::vector<double> okTimes;
};

} // namespace blockc::tune

#endif // BLOCKC_TUNE_SEARCH_H
