//===- PrepareAlgorithm.cpp - weight transformations at bind time ---------===//
//
// Run once per weight file: the transpose of a PyTorch [out, in] weight to [in, out] (of
// several joined along `out`: a merged query/key/value), biases joined, and BatchNorm folded
// into a linear's weight and bias, and a weight rounded to bf16 or quantized to int8
// (--precision). With s and t the BatchNorm's scale and
// shift over its channels (batchNormScaleShift):
//   input side  (BN before the linear): W'[i, o] = s[i] W[i, o], b'[o] = b[o] + sum_i t[i] W[i, o]
//   output side (BN after the linear):  W'[i, o] = W[i, o] s[o], b'[o] = b[o] s[o] + t[o]
//
//===----------------------------------------------------------------------===//
#include "Matmul.h"
#include "OpSemantics.h"
#include "Prepare.h"

using namespace blockc;
using namespace Halide;

namespace {
/// The rows (dimension 0) of `concat`'s inputs one after another. Each input is read at a
/// clamped row, so that bounds inference asks no input for rows it does not have.
Func joinRows(ConcatOp concat, const ValueFuncs &funcs) {
  const int rank = int(mlir::cast<mlir::RankedTensorType>(concat.getType()).getRank());
  std::vector<Var> vars(rank);
  Expr row = vars.back(); // Halide's last dimension is the tensor's dimension 0
  Expr value;
  int64_t start = 0;
  for (mlir::Value input : concat.getInputs()) {
    int64_t rows = mlir::cast<mlir::RankedTensorType>(input.getType()).getDimSize(0);
    std::vector<Expr> at(vars.begin(), vars.end());
    at.back() = clamp(row - int(start), 0, int(rows - 1));
    Expr part = funcs.lookup(input)(at);
    value = start == 0 ? part : select(row < int(start), value, part);
    start += rows;
  }
  Func joined("joined");
  joined(vars) = value;
  return joined;
}
} // namespace

LoweredKernel blockc::lowerPrepare(KernelOp kernel, const TargetInfo &target) {
  LoweredKernel lowered;
  ValueFuncs funcs = bindInputs(kernel, lowered, target);
  mlir::Block &body = kernel.getBody().front();
  auto in = [&](mlir::Value value) { return funcs.lookup(value); };
  Var o("o"), i("i");
  std::vector<Func> perChannel;
  // Each op in order: a transpose may read joined weights, a rounding any of them.
  for (mlir::Operation &op : body.without_terminator()) {
    if (auto concat = mlir::dyn_cast<ConcatOp>(op)) {
      funcs[concat.getResult()] = joinRows(concat, funcs);
    } else if (auto transpose = mlir::dyn_cast<TransposeOp>(op)) {
      // t(i, o) is row i of the [in, out] result, dimension 0 first (LoweredKernel.h): here
      // Halide's (o, i). A [out, d1, ..., dk] input is read as [out, d1 ... dk], its
      // dimensions (dk, ..., d1, out) indexed by the row-major index i over d1..dk.
      llvm::ArrayRef<int64_t> shape =
          mlir::cast<mlir::RankedTensorType>(transpose.getInput().getType()).getShape();
      std::vector<Expr> at;
      Expr rest = o;
      for (int64_t d : llvm::reverse(shape.drop_front())) {
        at.push_back(shape.size() == 2 ? rest : rest % int(d));
        rest = rest / int(d);
      }
      at.push_back(i);
      Func t("transposed");
      t(i, o) = in(transpose.getInput())(at);
      funcs[transpose.getResult()] = t;
    } else if (auto toBF16 = mlir::dyn_cast<ToBF16Op>(op)) {
      Func rounded("rounded");
      rounded(o, i) = cast(BFloat(16), in(toBF16.getInput())(o, i));
      funcs[toBF16.getResult()] = rounded;
    } else if (auto quantize = mlir::dyn_cast<QuantizeOp>(op)) {
      // Per output channel o: scale = max_i |W| / 127, q = round(W / scale), and the sums
      // of q over each group of inputs.
      Func weight = in(quantize.getInput());
      const int group = int(quantize.getGroup());
      RDom k(0, int(mlir::cast<mlir::RankedTensorType>(quantize.getInput().getType()).getDimSize(0)),
             "k");
      RDom inGroup(0, group, "kg");
      Func scales("scales"), values("quantized"), sums("sums");
      scales(o) = maximum(abs(weight(o, k))) * (1.f / 127.f);
      values(o, i) = cast<int8_t>(clamp(round(weight(o, i) / max(scales(o), 1e-30f)), -127.f, 127.f));
      sums(o, i) = sum(cast<int32_t>(values(o, i * group + inGroup)));
      perChannel.push_back(scales); // computed once, not per value
      funcs[quantize.getValues()] = values;
      funcs[quantize.getScales()] = scales;
      funcs[quantize.getSums()] = sums;
    } else {
      bool inputSide = mlir::isa<FoldBatchNormInputOp>(op);
      auto fold = [&](auto foldOp) {
        auto [s, t] = batchNormScaleShift(foldOp, funcs, Var("ch"));
        Func w("folded_weight"), b("folded_bias");
        perChannel.insert(perChannel.end(), {s, t});
        Func weight = in(foldOp.getWeight());
        Expr bias = foldOp.getBias() ? in(foldOp.getBias())(o) : Expr(0.f);
        int64_t inFeatures =
            mlir::cast<mlir::RankedTensorType>(foldOp.getWeight().getType()).getDimSize(0);
        if (inputSide) {
          RDom k(0, int(inFeatures), "k");
          w(o, i) = weight(o, i) * s(i);
          b(o) = bias + sum(t(k) * weight(o, k));
        } else {
          w(o, i) = weight(o, i) * s(o);
          b(o) = bias * s(o) + t(o);
        }
        funcs[foldOp.getFoldedWeight()] = w;
        funcs[foldOp.getFoldedBias()] = b;
      };
      if (inputSide)
        fold(mlir::cast<FoldBatchNormInputOp>(op));
      else
        fold(mlir::cast<FoldBatchNormOutputOp>(op));
    }
  }
  std::vector<Func> outputs;
  for (auto [index, result] : llvm::enumerate(kernel.getResults())) {
    Func value = in(body.getTerminator()->getOperand(index));
    // A CPU matmul's weight is written panel-major (Matmul.h: weightPanelWidth).
    if (int64_t panel = weightPanelWidth(result, target)) {
      const int n = int(panel), m = int(weightGroup(result, target));
      Func packed(kernel.getSymName().str() + "_panels");
      Var p("p"), k("k"), kp("kp"), c("c");
      const Type stored = weightStorageType(result, target);
      if (m > 1)
        packed(kp, p, k, c) = cast(stored, value(c * n + p, k * m + kp));
      else
        packed(p, k, c) = cast(stored, value(c * n + p, k));
      outputs.push_back(packed);
      lowered.outputs.push_back(panelView(result, panel, m, packed.output_buffer()));
      continue;
    }
    // Each output a Func of its own (a joined weight's rows are also another's input).
    Func out(kernel.getSymName().str() + "_" + std::to_string(index));
    out(value.args()) = value(value.args());
    outputs.push_back(out);
    llvm::ArrayRef<int64_t> shape = mlir::cast<mlir::RankedTensorType>(result.getType()).getShape();
    ArgView view{result, 0, {shape.begin(), shape.end()}, {}, out.output_buffer()};
    view.strides = shape.size() == 2 ? std::vector<int64_t>{shape[1], 1} : std::vector<int64_t>{1};
    lowered.outputs.push_back(view);
    OutputImageParam buffer = out.output_buffer();
    for (int d = 0; d < int(shape.size()); ++d)
      buffer.dim(d).set_bounds(0, int(shape[shape.size() - 1 - d]));
  }
  lowered.schedule = [outputs, perChannel, target](const KnobValues &) mutable {
    if (target.isGpu())
      schedulePrepareGpu(outputs, perChannel);
    else
      schedulePrepareCpu(outputs, perChannel, target);
  };
  lowered.pipeline = Pipeline(outputs);
  return lowered;
}
