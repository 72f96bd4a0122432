//===- OpSemanticsTest.cpp - the maths of ops as Halide expressions --------===//
//
// Evaluates expressions of OpSemantics.h with Halide's JIT against the C library.
//
//===----------------------------------------------------------------------===//

#include "OpSemantics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

using namespace Halide;

namespace {
/// The largest |rationalErf(x) - erf(x)| over x in [-6, 6] on a grid of 2^-12.
double maxErfError(blockc::ErfAccuracy accuracy) {
  const int points = 12 * 4096 + 1;
  Var i("i");
  Func f("erf");
  f(i) = blockc::rationalErf(-6.f + cast<float>(i) / 4096.f, accuracy);
  Buffer<float> out = f.realize({points});
  double worst = 0;
  for (int k = 0; k < points; ++k)
    worst = std::max(worst, std::abs(double(out(k)) - std::erf(-6.0 + k / 4096.0)));
  return worst;
}
} // namespace

TEST(OpSemantics, Float32ErfIsWithinFourTenMillionths) {
  EXPECT_LT(maxErfError(blockc::ErfAccuracy::Float32), 4.5e-7);
}

TEST(OpSemantics, ReducedErfIsWithinOnePointThreeHundredThousandths) {
  const double error = maxErfError(blockc::ErfAccuracy::Reduced);
  EXPECT_LT(error, 1.4e-5);
  EXPECT_GT(error, 1e-6); // it is the shorter one
}

TEST(OpSemantics, Exp2OfNonPositiveIsWithinTwoTenMillionthsAndZeroBelowItsRange) {
  // x = -i / 256 for i in [0, 128 * 256]: from 0 down to -128.
  const int points = 128 * 256 + 1;
  Var i("i");
  Func f("exp2");
  f(i) = blockc::exp2OfNonPositive(-cast<float>(i) / 256.f);
  Buffer<float> out = f.realize({points});
  double worst = 0;
  for (int k = 0; k <= 126 * 256; ++k)
    worst = std::max(worst, std::abs(double(out(k)) / std::exp2(-k / 256.0) - 1));
  EXPECT_LT(worst, 2.5e-7);
  for (int k = 127 * 256 + 128; k < points; ++k) // k nearest x is -128: 0
    ASSERT_EQ(out(k), 0.f) << "x = " << -k / 256.0;
}

TEST(OpSemantics, RoundToBFloat16IsToNearestWithTiesTowardZero) {
  // Every float32 of a few exponents' mantissas (steps of 2^-23 * 37) and their ties.
  std::vector<uint32_t> inputs;
  for (uint32_t sign : {0u, 0x80000000u})
    for (uint32_t exponent : {1u, 100u, 127u, 130u, 254u})
      for (uint32_t mantissa = 0; mantissa < (1u << 23); mantissa += 37) {
        inputs.push_back(sign | exponent << 23 | mantissa);
        inputs.push_back(sign | exponent << 23 | (mantissa & ~0xffffu) | 0x8000u);
      }
  Buffer<uint32_t> bits(int(inputs.size()));
  std::memcpy(bits.data(), inputs.data(), inputs.size() * sizeof(uint32_t));
  Var i("i");
  Func f("rounded");
  f(i) = reinterpret<uint16_t>(blockc::roundToBFloat16(reinterpret<float>(bits(i))));
  Buffer<uint16_t> out = f.realize({int(inputs.size())});
  auto value = [](uint32_t b) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    return double(v);
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    // Magnitudes: the bf16 below and the one above (one bf16 step up; past the largest
    // finite one, 2^128: infinity's bits).
    const uint32_t in = inputs[k], below = in & 0xffff0000u, above = below + 0x10000u;
    const int exponent = int(in >> 23 & 0xff);
    const double x = std::abs(value(in)), low = std::abs(value(below));
    const double high = low + std::ldexp(1.0, exponent - 127 - 7);
    const uint32_t expected = (high - x < x - low ? above : below) >> 16; // a tie: the lower
    ASSERT_EQ(out(int(k)), expected) << std::hex << "input 0x" << in;
  }
}
