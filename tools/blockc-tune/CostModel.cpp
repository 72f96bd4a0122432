//===- CostModel.cpp - ridge regression of log time on knob features ------===//
//
// Features are standardized (mean 0, standard deviation 1 over the measured points; a
// feature that does not vary is left out), the target is centered, and
// (X^T X + lambda I) beta = X^T y is solved by LU factorization (boost::numeric::ublas).
//
//===----------------------------------------------------------------------===//
#include "CostModel.h"

#include <boost/numeric/ublas/lu.hpp>
#include <boost/numeric/ublas/matrix.hpp>
#include <boost/numeric/ublas/vector.hpp>

#include <cmath>

using namespace blockc;
using namespace blockc::tune;
namespace ublas = boost::numeric::ublas;

CostModel::CostModel(const ScheduleSpace &space, double lambda) : space(space), lambda(lambda) {
  for (const Knob &knob : space) {
    bool zero = false;
    for (int64_t c : knob.choices)
      zero |= c <= 0;
    zeroChoice.push_back(zero);
  }
}

std::vector<double> CostModel::features(const Point &point) const {
  std::vector<double> f;
  for (size_t i = 0; i < space.size(); ++i) {
    if (space[i].choices.size() < 2)
      continue;
    const double v = static_cast<double>(point[i]);
    const double x = zeroChoice[i] ? std::log2(std::max(0.0, v) + 1.0) : std::log2(v);
    f.push_back(x);
    f.push_back(x * x);
  }
  return f;
}

bool CostModel::fit(const std::vector<Point> &points, const std::vector<double> &timesUs) {
  isFitted = false;
  const size_t n = points.size();
  if (n < minimumSamples() || n != timesUs.size())
    return false;
  std::vector<std::vector<double>> rows;
  for (const Point &p : points)
    rows.push_back(features(p));
  const size_t m = rows.empty() ? 0 : rows.front().size();
  std::vector<double> y(n);
  meanY = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!(timesUs[i] > 0))
      return false;
    y[i] = std::log(timesUs[i]);
    meanY += y[i] / n;
  }
  mean.assign(m, 0);
  scale.assign(m, 0);
  for (size_t j = 0; j < m; ++j) {
    for (size_t i = 0; i < n; ++i)
      mean[j] += rows[i][j] / n;
    double var = 0;
    for (size_t i = 0; i < n; ++i)
      var += (rows[i][j] - mean[j]) * (rows[i][j] - mean[j]) / n;
    scale[j] = var > 1e-12 ? 1.0 / std::sqrt(var) : 0.0; // 0: the feature is left out
  }

  ublas::matrix<double> a(m, m);
  ublas::vector<double> b(m);
  for (size_t j = 0; j < m; ++j) {
    b(j) = 0;
    for (size_t k = 0; k < m; ++k)
      a(j, k) = 0;
  }
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> x(m);
    for (size_t j = 0; j < m; ++j)
      x[j] = (rows[i][j] - mean[j]) * scale[j];
    for (size_t j = 0; j < m; ++j) {
      b(j) += x[j] * (y[i] - meanY);
      for (size_t k = 0; k < m; ++k)
        a(j, k) += x[j] * x[k];
    }
  }
  for (size_t j = 0; j < m; ++j)
    a(j, j) += lambda;
  beta.assign(m, 0);
  if (m > 0) {
    ublas::permutation_matrix<size_t> pivots(m);
    if (ublas::lu_factorize(a, pivots) != 0)
      return false;
    ublas::lu_substitute(a, pivots, b);
    for (size_t j = 0; j < m; ++j) {
      if (!std::isfinite(b(j)))
        return false;
      beta[j] = b(j);
    }
  }
  isFitted = true;
  return true;
}

double CostModel::predictLogTime(const Point &point) const {
  std::vector<double> x = features(point);
  double y = meanY;
  for (size_t j = 0; j < x.size() && j < beta.size(); ++j)
    y += beta[j] * (x[j] - mean[j]) * scale[j];
  return y;
}
