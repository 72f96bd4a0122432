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
/// A sample's tokens N of [B, N, C] (1 for [B, C]); ShapedType::kDynamic where they are
/// chosen at run time.
int64_t tokensOf(mlir::Value activation);
/// The tokens a schedule plans for: N, or for run-time tokens the function's
/// blockc.max_tokens (a run may take fewer: the schedules guard their row splits then).
int64_t plannedTokens(mlir::Value activation);
/// N of an activation (or of integers [B, N]) as a Halide expression: a constant, or for
/// run-time tokens the kernel's `tokens` argument (created on first use, in
/// [1, max_tokens]).
Halide::Expr tokenCount(mlir::Value activation, LoweredKernel &kernel);
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
/// static (a matmul's weight panel-major on the CPU: weightPanelWidth in Matmul.h).
ValueFuncs bindInputs(KernelOp kernel, LoweredKernel &lowered, const TargetInfo &target);
/// The Halide type of a tensor's elements: float32, bfloat16, or the integers' own.
Halide::Type elementTypeOf(mlir::Value value);
/// A 2-D constant [in, out] stored panel-major ([out / panel][in][panel], or with `group`
/// > 1 [out / panel][in / group][panel][group]: Matmul.h) as the function w(o, i) of its
/// logical layout, its elements of weightStorageType (Matmul.h).
Halide::Func panelWeightParam(mlir::Value operand, int64_t panel, int64_t group,
                              const std::string &name, LoweredKernel &kernel,
                              const TargetInfo &target);
/// The view of a constant [in, out] stored panel-major, its bounds set on `buffer`.
ArgView panelView(mlir::Value constant, int64_t panel, int64_t group,
                  Halide::OutputImageParam buffer);

/// A JSON array of integers (shapes and strides in manifests and kernel descriptions).
llvm::json::Array toJsonArray(llvm::ArrayRef<int64_t> values);

/// The manifest's name of a buffer element type (docs/module-format.md): "F32", "BF16",
/// "I8", "I16", "I32" or "I64".
const char *dtypeName(Halide::Type type);
/// A view's shape or strides as manifests write them: integers (-k for k * B), and the
/// entries whose bit is set in `tokensBits` as strings with S ("B*S", "64*S").
llvm::json::Array viewJson(llvm::ArrayRef<int64_t> entries, uint32_t tokensBits);
/// A kernel argument's "offset", "shape" and "strides" into `arg`, or "source": "tokens"
/// (with `tokensKey` "source") for the scalar S.
void addViewJson(const ArgView &view, llvm::json::Object &arg);

} // namespace blockc

#endif // BLOCKC_LOWERING_KERNELIO_H
