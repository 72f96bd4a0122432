//===- KernelIO.h - kernel arguments and their views --------------*- C++ -*-===//
//
// The Halide parameters and output constraints of each argument layout, and the views
// (offset, shape, strides) that manifests and kernel descriptions record for them.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_LOWERING_KERNELIO_H
#define BLOCKC_LOWERING_KERNELIO_H

#include "LoweredKernel.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/JSON.h"

namespace blockc {

/// Halide functions of the values inside a kernel body.
using ValueFuncs = llvm::DenseMap<mlir::Value, Halide::Func>;

int64_t channelsOf(mlir::Value activation);
int64_t tokensOf(mlir::Value activation);
/// An activation [B, N, C] as a 2-D function (c, r).
Halide::ImageParam activationParam(mlir::Value operand, const std::string &name,
                                   LoweredKernel &kernel);
/// A static weight or constant, all dimensions fixed.
Halide::ImageParam weightParam(mlir::Value operand, const std::string &name,
                               LoweredKernel &kernel);
/// Integers [B, N] (token ids, a mask) as a 1-D function of the row r = b * N + n.
Halide::ImageParam idsParam(mlir::Value operand, const std::string &name, LoweredKernel &kernel);
/// Binds `result` ([B, N, C]) as a 2-D output (c, r) of `out`.
void activationOutput(mlir::Value result, Halide::Func out, LoweredKernel &kernel);
/// Maps every block argument of `kernel` to a parameter: activations 2-D, ids 1-D, weights
/// static.
ValueFuncs bindInputs(KernelOp kernel, LoweredKernel &lowered);

/// A JSON array of integers (shapes and strides in manifests and kernel descriptions).
llvm::json::Array toJsonArray(llvm::ArrayRef<int64_t> values);

} // namespace blockc

#endif // BLOCKC_LOWERING_KERNELIO_H
