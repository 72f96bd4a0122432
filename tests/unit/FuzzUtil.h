//===- FuzzUtil.h - seeded random edits for the fuzz tests -------*- C++ -*-===//
//
// The compiler's and the runtime's fuzz tests draw their edits from here. A given seed
// gives the same edits everywhere: std::mt19937's output is fixed by the standard, and
// numbers are drawn from it with plain arithmetic (std::uniform_int_distribution's
// algorithm differs between standard libraries).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TESTS_UNIT_FUZZUTIL_H
#define BLOCKC_TESTS_UNIT_FUZZUTIL_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace blockc::fuzz {

class Random {
public:
  explicit Random(uint32_t seed) : engine(seed) {}

  /// A number in [0, n); n > 0. (The modulo bias does not matter here.)
  size_t below(size_t n) { return engine() % n; }
  bool oneIn(size_t n) { return below(n) == 0; }
  template <typename T>
  const T &pick(const std::vector<T> &items) {
    return items[below(items.size())];
  }

private:
  std::mt19937 engine;
};

/// One random edit of `bytes`: delete, insert, duplicate or replace a byte, flip a bit,
/// or truncate. Half the bytes put in come from `alphabet` (the format's own punctuation
/// goes further into a parser than noise), the others are any of the 256 values.
inline void mutateBytes(Random &random, std::string &bytes, const std::string &alphabet) {
  auto newByte = [&] {
    return !alphabet.empty() && random.oneIn(2) ? alphabet[random.below(alphabet.size())]
                                                : static_cast<char>(random.below(256));
  };
  const size_t at = random.below(bytes.size() + 1); // a byte, or the end
  const bool atByte = at < bytes.size();
  switch (random.below(6)) {
  case 0:
    if (atByte)
      bytes.erase(at, 1);
    break;
  case 1:
    bytes.insert(at, 1, newByte());
    break;
  case 2:
    if (atByte)
      bytes.insert(at, bytes.substr(at, 1 + random.below(8)));
    break;
  case 3:
    if (atByte)
      bytes[at] = newByte();
    break;
  case 4:
    if (atByte)
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << random.below(8)));
    break;
  default:
    bytes.resize(at);
    break;
  }
}

} // namespace blockc::fuzz

#endif // BLOCKC_TESTS_UNIT_FUZZUTIL_H
