//===- SearchTest.cpp - blockc-tune's search, without the compiler --------===//
//
// A synthetic schedule space and a deterministic "measurement" (a smooth function of the
// knobs' log2 values, failing for one corner of the space) stand in for compiling and
// timing: the same seed must give the same candidates, a different seed different ones,
// no key twice, only legal knob values, and the cost model must rank by the measurements.
//
//===----------------------------------------------------------------------===//
#include "CostModel.h"
#include "Search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace blockc;
using namespace blockc::tune;

namespace {

ScheduleSpace syntheticSpace() {
  return {
      Knob{"tile_x", {1, 2, 4, 8, 16, 32, 64}, 8},
      Knob{"tile_y", {1, 2, 4, 8}, 4},
      Knob{"order", {0, 1, 2}, 0},
      Knob{"vector", {4, 8, 16}, 8},
      Knob{"unroll", {0, 1}, 0},
      Knob{"fixed", {3}, 3},
  };
}

int64_t knobValue(const ScheduleSpace &space, const ScheduleChoice &choice,
                  const std::string &name) {
  auto it = choice.knobs.find(name);
  if (it != choice.knobs.end())
    return it->second;
  for (const Knob &k : space)
    if (k.name == name)
      return k.defaultValue;
  ADD_FAILURE() << "no knob " << name;
  return 0;
}

/// A made-up kernel: fastest at tile_x 32, tile_y 2, order 1, vector 16, unroll 1;
/// "fails" (not ok) at tile_x 64 with tile_y 8. Autoschedulers take a fixed time.
bool measure(const ScheduleSpace &space, const Candidate &c, double &timeUs) {
  if (!c.schedule.autoscheduler.empty()) {
    timeUs = c.schedule.autoscheduler == "Adams2019" ? 80.0 : 120.0;
    return true;
  }
  const double x = std::log2(double(knobValue(space, c.schedule, "tile_x")));
  const double y = std::log2(double(knobValue(space, c.schedule, "tile_y")));
  const int64_t order = knobValue(space, c.schedule, "order");
  const double v = std::log2(double(knobValue(space, c.schedule, "vector")));
  const int64_t unroll = knobValue(space, c.schedule, "unroll");
  if (x == 6 && y == 3)
    return false;
  timeUs = 20.0 * std::exp(0.15 * (x - 5) * (x - 5) + 0.2 * (y - 1) * (y - 1) +
                           (order == 1 ? 0.0 : 0.3) + 0.25 * (4 - v) +
                           (unroll ? 0.0 : 0.1));
  return true;
}

struct Trial {
  std::string key, origin;
  int round;
};

/// Runs `rounds` rounds (or until exhausted), measuring every candidate.
std::vector<Trial> runSearch(uint64_t seed, int rounds, ScheduleSpace space = syntheticSpace(),
                             const std::string &signature = "sig-a",
                             double *bestTime = nullptr) {
  Search search(space, {"Adams2019", "Mullapudi2016"}, seed, signature);
  std::vector<Trial> trials;
  double best = INFINITY;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Candidate> round = search.nextRound();
    if (round.empty()) {
      EXPECT_TRUE(search.exhausted());
      break;
    }
    for (const Candidate &c : round) {
      double t = 0;
      bool ok = measure(space, c, t);
      search.record(c, ok, t);
      if (ok)
        best = std::min(best, t);
      trials.push_back(Trial{c.schedule.key(), c.origin, r});
    }
  }
  if (bestTime)
    *bestTime = best;
  return trials;
}

std::vector<std::string> keysOf(const std::vector<Trial> &trials) {
  std::vector<std::string> keys;
  for (const Trial &t : trials)
    keys.push_back(t.key);
  return keys;
}

TEST(Search, SameSeedSameCandidates) {
  std::vector<Trial> a = runSearch(7, 12), b = runSearch(7, 12);
  ASSERT_GT(a.size(), 40u);
  EXPECT_EQ(keysOf(a), keysOf(b));
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].origin, b[i].origin);
}

TEST(Search, DifferentSeedOrSignatureDifferentCandidates) {
  std::vector<std::string> a = keysOf(runSearch(7, 12));
  EXPECT_NE(a, keysOf(runSearch(8, 12)));
  EXPECT_NE(a, keysOf(runSearch(7, 12, syntheticSpace(), "sig-b")));
}

TEST(Search, FirstRoundIsDefaultThenAutoschedulersThenRandom) {
  std::vector<Trial> t = runSearch(1, 1);
  ASSERT_EQ(t.size(), 6u);
  std::map<std::string, int64_t> defaults; // a choice names every knob, in name order
  for (const Knob &k : syntheticSpace())
    defaults[k.name] = k.defaultValue;
  std::string defaultKey = "knobs";
  for (const auto &[name, value] : defaults)
    defaultKey += " " + name + "=" + std::to_string(value);
  EXPECT_EQ(t[0].key, defaultKey);
  EXPECT_EQ(t[0].origin, "default");
  EXPECT_EQ(t[1].key, "Adams2019");
  EXPECT_EQ(t[1].origin, "Adams2019");
  EXPECT_EQ(t[2].key, "Mullapudi2016");
  for (size_t i = 3; i < 6; ++i)
    EXPECT_EQ(t[i].origin, "random");
}

TEST(Search, NeverTheSameKeyTwice) {
  std::vector<std::string> keys = keysOf(runSearch(3, 30));
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size());
}

TEST(Search, EveryProposalIsLegal) {
  const ScheduleSpace space = syntheticSpace();
  Search search(space, {"Adams2019"}, 11, "sig");
  for (int r = 0; r < 25; ++r) {
    for (const Candidate &c : search.nextRound()) {
      if (!c.schedule.autoscheduler.empty()) {
        EXPECT_EQ(r, 0) << "autoschedulers are proposed in round 0 only";
        EXPECT_EQ(c.schedule.autoscheduler, "Adams2019");
        EXPECT_TRUE(c.schedule.knobs.empty());
      } else {
        for (const auto &[name, value] : c.schedule.knobs) {
          auto knob = std::find_if(space.begin(), space.end(),
                                   [&](const Knob &k) { return k.name == name; });
          ASSERT_NE(knob, space.end()) << name;
          EXPECT_NE(std::find(knob->choices.begin(), knob->choices.end(), value),
                    knob->choices.end())
              << name << "=" << value;
        }
        EXPECT_EQ(c.schedule.knobs.size(), space.size()) << "a choice names every knob";
        EXPECT_TRUE(search.legal(search.pointOf(c.schedule)));
      }
      double t = 0;
      bool ok = measure(space, c, t);
      search.record(c, ok, t);
    }
  }
}

TEST(Search, SmallSpaceIsExhaustedExactly) {
  ScheduleSpace space = {Knob{"a", {1, 2}, 1}, Knob{"b", {0, 4, 8}, 4}};
  Search search(space, {"Adams2019"}, 5, "small");
  std::set<std::string> keys;
  size_t count = 0;
  for (int r = 0; r < 20 && !search.exhausted(); ++r)
    for (const Candidate &c : search.nextRound()) {
      keys.insert(c.schedule.key());
      ++count;
      search.record(c, true, 10.0 + double(count));
    }
  EXPECT_TRUE(search.exhausted());
  EXPECT_EQ(count, 2u * 3u + 1u); // every point, the autoscheduler, nothing twice
  EXPECT_EQ(keys.size(), count);
}

TEST(Search, FindsBetterThanTheDefault) {
  double best = 0;
  runSearch(2, 15, syntheticSpace(), "sig-a", &best);
  double defaultTime = 0;
  ASSERT_TRUE(measure(syntheticSpace(), Candidate{}, defaultTime));
  EXPECT_LT(best, 0.75 * defaultTime);
}

TEST(CostModel, RanksByTheMeasurements) {
  const ScheduleSpace space = syntheticSpace();
  Search search(space, {}, 1, "m");
  std::vector<Point> points;
  std::vector<double> times;
  // Measure a spread of points, then check the model orders unseen ones sensibly.
  for (int64_t x : {1, 4, 16, 64})
    for (int64_t y : {1, 2, 8}) {
      Candidate c;
      c.schedule.knobs = {{"tile_x", x}, {"tile_y", y}, {"vector", x == 16 ? 16 : 4}};
      double t = 0;
      if (!measure(space, c, t))
        continue;
      points.push_back(search.pointOf(c.schedule));
      times.push_back(t);
    }
  CostModel model(space, 0.1);
  ASSERT_TRUE(model.fit(points, times));
  Candidate good, bad;
  good.schedule.knobs = {{"tile_x", 32}, {"tile_y", 2}, {"vector", 16}};
  bad.schedule.knobs = {{"tile_x", 2}, {"tile_y", 8}, {"vector", 4}};
  EXPECT_LT(model.predictLogTime(search.pointOf(good.schedule)),
            model.predictLogTime(search.pointOf(bad.schedule)));
  CostModel tooFew(space);
  EXPECT_FALSE(tooFew.fit({points[0], points[1]}, {times[0], times[1]}));
}

} // namespace
