//===- Search.cpp - candidate generation for one kernel -------------------===//
#include "Search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace blockc;
using namespace blockc::tune;

uint64_t blockc::tune::stableHash(const std::string &text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {
/// splitmix64's finalizer: spreads nearby seeds apart.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
} // namespace

Search::Search(ScheduleSpace space, std::vector<std::string> autoschedulers, uint64_t seed,
               const std::string &signature, SearchOptions options)
    : knobs(std::move(space)), autoschedulers(std::move(autoschedulers)), options(options),
      rng(mix(mix(seed) ^ stableHash(signature))), model(knobs, options.ridgeLambda) {
  for (size_t i = 0; i < knobs.size(); ++i)
    if (knobs[i].choices.size() > 1)
      freeKnobs.push_back(i);
}

uint64_t Search::below(uint64_t n) {
  if (n <= 1)
    return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    uint64_t r = rng();
    if (r < limit)
      return r % n;
  }
}

double Search::unit() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

uint64_t Search::spaceSize(uint64_t limit) const {
  uint64_t size = 1;
  for (const Knob &knob : knobs) {
    const uint64_t n = std::max<size_t>(1, knob.choices.size());
    if (size > limit / n)
      return limit;
    size *= n;
  }
  return std::min(size, limit);
}

Point Search::defaultPoint() const {
  Point p;
  for (const Knob &knob : knobs)
    p.push_back(knob.defaultValue);
  return p;
}

ScheduleChoice Search::choiceOf(const Point &point) const {
  // Every knob, defaults included: a logged trial or a record keeps meaning what was
  // measured when a later compiler changes a default.
  ScheduleChoice choice;
  for (size_t i = 0; i < knobs.size(); ++i)
    choice.knobs[knobs[i].name] = point[i];
  return choice;
}

ScheduleChoice Search::defaultChoice() const { return choiceOf(defaultPoint()); }

Point Search::pointOf(const ScheduleChoice &choice) const {
  Point p = defaultPoint();
  for (size_t i = 0; i < knobs.size(); ++i) {
    auto it = choice.knobs.find(knobs[i].name);
    if (it != choice.knobs.end())
      p[i] = it->second;
  }
  return p;
}

bool Search::legal(const Point &point) const {
  if (point.size() != knobs.size())
    return false;
  for (size_t i = 0; i < knobs.size(); ++i)
    if (std::find(knobs[i].choices.begin(), knobs[i].choices.end(), point[i]) ==
        knobs[i].choices.end())
      return false;
  return true;
}

bool Search::measured(const ScheduleChoice &choice) const {
  return measuredKeys.count(choice.key()) != 0;
}

Point Search::randomPoint() {
  Point p = defaultPoint();
  for (size_t i : freeKnobs)
    p[i] = knobs[i].choices[below(knobs[i].choices.size())];
  return p;
}

Point Search::mutate(const Point &parent, int knobsToChange) {
  Point p = parent;
  std::vector<size_t> pool = freeKnobs;
  const size_t count = std::min<size_t>(std::max(knobsToChange, 1), pool.size());
  for (size_t c = 0; c < count; ++c) {
    const size_t pick = below(pool.size());
    const size_t k = pool[pick];
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
    const std::vector<int64_t> &choices = knobs[k].choices;
    const size_t n = choices.size();
    auto at = std::find(choices.begin(), choices.end(), p[k]);
    if (at == choices.end()) { // not a legal value (cannot happen for measured points)
      p[k] = choices[below(n)];
      continue;
    }
    size_t index = static_cast<size_t>(at - choices.begin());
    if (unit() < 0.6) { // a neighbouring value
      const bool up = below(2) == 1;
      if (up)
        index = index + 1 < n ? index + 1 : index - 1;
      else
        index = index > 0 ? index - 1 : index + 1;
    } else { // any other value
      size_t other = below(n - 1);
      index = other >= index ? other + 1 : other;
    }
    p[k] = choices[index];
  }
  return p;
}

Point Search::crossover(const Point &a, const Point &b) {
  Point p = a;
  for (size_t i : freeKnobs)
    p[i] = unit() < 0.5 ? a[i] : b[i];
  if (p == a || p == b)
    p = mutate(p, 1);
  return p;
}

std::vector<Point> Search::bestPoints(size_t count) const {
  std::vector<size_t> order(okPoints.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return okTimes[x] < okTimes[y]; });
  std::vector<Point> best;
  for (size_t i : order) {
    if (best.size() >= count)
      break;
    if (std::find(best.begin(), best.end(), okPoints[i]) == best.end())
      best.push_back(okPoints[i]);
  }
  return best;
}

std::vector<Candidate> Search::firstRound() {
  std::vector<Candidate> round;
  std::set<std::string> keys;
  auto add = [&](ScheduleChoice choice, const std::string &origin) {
    std::string key = choice.key();
    if (measuredKeys.count(key) || !keys.insert(key).second)
      return false;
    round.push_back(Candidate{std::move(choice), origin});
    return true;
  };
  add(defaultChoice(), "default");
  for (const std::string &name : autoschedulers) {
    ScheduleChoice choice;
    choice.autoscheduler = name;
    add(choice, name);
  }
  size_t added = 0;
  for (size_t tries = 0; added < options.randomInFirstRound &&
                         tries < 50 * std::max<size_t>(1, options.randomInFirstRound);
       ++tries)
    if (add(choiceOf(randomPoint()), "random"))
      ++added;
  return round;
}

std::vector<Candidate> Search::laterRound() {
  if (freeKnobs.empty())
    return {};
  std::vector<Point> parents = bestPoints(options.parents);
  if (parents.empty())
    parents.push_back(defaultPoint());
  model.fit(okPoints, okTimes);

  struct Proposal {
    Point point;
    std::string key;
    const char *origin;
    double predicted = 0;
  };
  std::vector<Proposal> pool;
  std::set<std::string> poolKeys;
  auto add = [&](Point p, const char *origin) {
    std::string key = choiceOf(p).key();
    if (measuredKeys.count(key) || !poolKeys.insert(key).second)
      return;
    pool.push_back(Proposal{std::move(p), std::move(key), origin});
  };
  const size_t tries = 8 * options.proposals;
  for (size_t t = 0; t < tries && pool.size() < options.proposals; ++t) {
    const double r = unit();
    if (r < 0.1) {
      add(randomPoint(), "random");
    } else if (r < 0.3 && parents.size() >= 2) {
      const size_t i = below(parents.size());
      size_t j = below(parents.size() - 1);
      if (j >= i)
        ++j;
      add(crossover(parents[i], parents[j]), "evolved");
    } else {
      const double u = unit();
      const size_t i = std::min(parents.size() - 1,
                                static_cast<size_t>(u * u * static_cast<double>(parents.size())));
      add(mutate(parents[i], 1 + static_cast<int>(below(2))), "evolved");
    }
  }
  // A small or nearly measured space: the proposals found few new points, so list the
  // unmeasured ones in order (this is also how the search knows it is exhausted).
  if (pool.size() < options.roundSize) {
    constexpr uint64_t kEnumerationLimit = 200000;
    const uint64_t size = spaceSize(kEnumerationLimit + 1);
    if (size <= kEnumerationLimit) {
      std::vector<size_t> index(knobs.size(), 0);
      Point p = defaultPoint();
      for (uint64_t n = 0; n < size && pool.size() < options.proposals; ++n) {
        for (size_t i : freeKnobs)
          p[i] = knobs[i].choices[index[i]];
        add(p, "random");
        for (size_t i : freeKnobs) { // odometer over the free knobs
          if (++index[i] < knobs[i].choices.size())
            break;
          index[i] = 0;
        }
      }
    }
  }
  if (pool.empty())
    return {};

  if (model.fitted()) {
    for (Proposal &p : pool)
      p.predicted = model.predictLogTime(p.point);
    std::stable_sort(pool.begin(), pool.end(), [](const Proposal &a, const Proposal &b) {
      return a.predicted != b.predicted ? a.predicted < b.predicted : a.key < b.key;
    });
  } else {
    for (size_t i = pool.size(); i > 1; --i)
      std::swap(pool[i - 1], pool[below(i)]);
  }
  std::vector<Candidate> round;
  const size_t take = std::min(options.roundSize, pool.size());
  const bool explore = take >= 2 && pool.size() > take;
  for (size_t i = 0; i < take - (explore ? 1 : 0); ++i)
    round.push_back(Candidate{choiceOf(pool[i].point), pool[i].origin});
  if (explore) {
    const size_t i = take - 1 + below(pool.size() - (take - 1));
    round.push_back(Candidate{choiceOf(pool[i].point), pool[i].origin});
  }
  return round;
}

std::vector<Candidate> Search::nextRound() {
  std::vector<Candidate> round = roundCount == 0 ? firstRound() : laterRound();
  ++roundCount;
  if (round.empty())
    isExhausted = true;
  return round;
}

void Search::record(const Candidate &candidate, bool ok, double timeUs) {
  measuredKeys.insert(candidate.schedule.key());
  if (ok && candidate.schedule.autoscheduler.empty() && timeUs > 0) {
    okPoints.push_back(pointOf(candidate.schedule));
    okTimes.push_back(timeUs);
  }
}
