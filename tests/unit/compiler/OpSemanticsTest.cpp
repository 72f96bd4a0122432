//===- OpSemanticsTest.cpp - the maths of ops as Halide expressions --------===//
//
// Evaluates expressions of OpSemantics.h with Halide's JIT against the C library.
//
//===----------------------------------------------------------------------===//

#include "OpSemantics.h"

#include <gtest/gtest.h>

#include <cmath>

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
