//===- KernelIO.cpp - kernel arguments and their views --------------------===//
#include "KernelIO.h"
#include "Matmul.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace blockc;
using namespace Halide;

static llvm::ArrayRef<int64_t> shapeOf(mlir::Value value) {
  return mlir::cast<mlir::RankedTensorType>(value.getType()).getShape();
}

int64_t blockc::channelsOf(mlir::Value activation) { return shapeOf(activation).back(); }
int64_t blockc::tokensOf(mlir::Value activation) {
  return shapeOf(activation).size() == 3 ? shapeOf(activation)[1] : 1;
}

/// The function's blockc.max_tokens, for a value inside it.
static int64_t maxTokensOf(mlir::Value value) {
  mlir::Operation *scope = value.getParentRegion()->getParentOp();
  auto func = mlir::isa<mlir::func::FuncOp>(scope) ? mlir::cast<mlir::func::FuncOp>(scope)
                                                   : scope->getParentOfType<mlir::func::FuncOp>();
  mlir::IntegerAttr max = func ? BlockcDialect::MaxTokensAttrHelper(func.getContext()).getAttr(func)
                               : mlir::IntegerAttr();
  if (!max)
    throw CompileError("blockc: a tensor with run-time tokens outside a function with "
                       "blockc.max_tokens");
  return max.getInt();
}

int64_t blockc::plannedTokens(mlir::Value activation) {
  int64_t n = tokensOf(activation);
  return mlir::ShapedType::isDynamic(n) ? maxTokensOf(activation) : n;
}

Expr blockc::tokenCount(mlir::Value activation, LoweredKernel &kernel) {
  auto type = mlir::cast<mlir::RankedTensorType>(activation.getType());
  // Integers [B, N] (ids, positions, a mask) have their tokens in dimension 1 too.
  int64_t n = type.getElementType().isSignlessInteger() ? type.getDimSize(1) : tokensOf(activation);
  if (!mlir::ShapedType::isDynamic(n))
    return Expr(int(n));
  if (!kernel.tokens) {
    kernel.tokens.emplace("tokens");
    kernel.tokens->set_range(1, int(maxTokensOf(activation)));
    kernel.tokens->set_estimate(int(maxTokensOf(activation)));
    kernel.arguments.push_back(*kernel.tokens);
    ArgView view;
    view.isTokens = true;
    kernel.inputs.push_back(view);
  }
  return *kernel.tokens;
}

/// [B, N, C] seen as rows: shape [B*N, C] (written -N, or B*S for run-time tokens),
/// strides [C, 1]; [B, C] as [B, C].
static ArgView rowsView(mlir::Value value) {
  int64_t n = tokensOf(value), c = channelsOf(value);
  if (mlir::ShapedType::isDynamic(n))
    return ArgView{value, 0, {-1, c}, {c, 1}, {}, /*tokensShape=*/1};
  return ArgView{value, 0, {-n, c}, {c, 1}};
}

ImageParam blockc::activationParam(mlir::Value operand, const std::string &name,
                                   LoweredKernel &kernel) {
  ImageParam p(Float(32), 2, name);
  int c = int(channelsOf(operand));
  p.dim(0).set_bounds(0, c).set_stride(1);
  p.dim(1).set_min(0).set_stride(c);
  kernel.arguments.push_back(p);
  kernel.inputs.push_back(rowsView(operand));
  kernel.inputs.back().buffer = p;
  return p;
}

Type blockc::elementTypeOf(mlir::Value value) {
  mlir::Type element = mlir::cast<mlir::RankedTensorType>(value.getType()).getElementType();
  if (element.isBF16())
    return BFloat(16);
  if (element.isSignlessInteger())
    return Int(int(element.getIntOrFloatBitWidth()));
  return Float(32);
}

ImageParam blockc::weightParam(mlir::Value operand, const std::string &name,
                               LoweredKernel &kernel) {
  llvm::ArrayRef<int64_t> shape = shapeOf(operand);
  ImageParam p(elementTypeOf(operand), int(shape.size()), name);
  ArgView view{operand, 0, {shape.begin(), shape.end()}, std::vector<int64_t>(shape.size()), p};
  int64_t stride = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    view.strides[i] = stride;
    // Halide dimension 0 is the innermost, row-major dimension rank - 1.
    p.dim(int(shape.size()) - 1 - i).set_bounds(0, int(shape[i])).set_stride(int(stride));
    stride *= shape[i];
  }
  kernel.arguments.push_back(p);
  kernel.inputs.push_back(view);
  return p;
}

void blockc::activationOutput(mlir::Value result, Func out, LoweredKernel &kernel) {
  int c = int(channelsOf(result));
  out.output_buffer().dim(0).set_bounds(0, c).set_stride(1);
  out.output_buffer().dim(1).set_min(0).set_stride(c);
  kernel.outputs.push_back(rowsView(result));
  kernel.outputs.back().buffer = out.output_buffer();
}

/// An image [B, C, H, W] as a 4-D function (w, h, c, b).
static ImageParam imageParam(mlir::Value operand, const std::string &name,
                             LoweredKernel &kernel) {
  llvm::ArrayRef<int64_t> shape = shapeOf(operand);
  ImageParam p(Float(32), 4, name);
  ArgView view{operand, 0, {-1, shape[1], shape[2], shape[3]}, std::vector<int64_t>(4), p};
  int64_t stride = 1;
  for (int i = 3; i >= 1; --i) {
    view.strides[i] = stride;
    p.dim(3 - i).set_bounds(0, int(shape[i])).set_stride(int(stride));
    stride *= shape[i];
  }
  view.strides[0] = stride;
  p.dim(3).set_min(0).set_stride(int(stride));
  kernel.arguments.push_back(p);
  kernel.inputs.push_back(view);
  return p;
}

ImageParam blockc::idsParam(mlir::Value operand, const std::string &name, LoweredKernel &kernel) {
  auto type = mlir::cast<mlir::RankedTensorType>(operand.getType());
  ImageParam p(Int(int(type.getElementTypeBitWidth())), 1, name);
  p.dim(0).set_min(0).set_stride(1);
  kernel.arguments.push_back(p);
  int64_t n = type.getDimSize(1);
  if (type.isDynamicDim(1))
    kernel.inputs.push_back(ArgView{operand, 0, {-1}, {1}, p, /*tokensShape=*/1});
  else
    kernel.inputs.push_back(ArgView{operand, 0, {-n}, {1}, p});
  return p;
}

ArgView blockc::panelView(mlir::Value constant, int64_t panel, int64_t group,
                          OutputImageParam buffer) {
  llvm::ArrayRef<int64_t> shape = shapeOf(constant);
  const int64_t in = shape[0], out = shape[1];
  ArgView view{constant, 0, {out / panel, in, panel}, {in * panel, panel, 1}, buffer};
  if (group > 1)
    view = ArgView{constant, 0, {out / panel, in / group, panel, group},
                   {in * panel, panel * group, group, 1}, buffer};
  // Halide's dimension d is the view's rank - 1 - d.
  const int rank = int(view.shape.size());
  for (int d = 0; d < rank; ++d)
    buffer.dim(d).set_bounds(0, int(view.shape[rank - 1 - d])).set_stride(int(view.strides[rank - 1 - d]));
  view.panelWidth = panel;
  return view;
}

Func blockc::panelWeightParam(mlir::Value operand, int64_t panel, int64_t group,
                              const std::string &name, LoweredKernel &kernel,
                              const TargetInfo &target) {
  ImageParam p(weightStorageType(operand, target), group > 1 ? 4 : 3, name);
  kernel.arguments.push_back(p);
  kernel.inputs.push_back(panelView(operand, panel, group, p));
  Var o("o"), i("i");
  Func w(name + "_panels");
  const int n = int(panel), m = int(group);
  if (group > 1)
    w(o, i) = p(i % m, o % n, i / m, o / n);
  else
    w(o, i) = p(o % n, i, o / n);
  return w;
}

ValueFuncs blockc::bindInputs(KernelOp kernel, LoweredKernel &lowered, const TargetInfo &target) {
  ValueFuncs funcs;
  mlir::Block &body = kernel.getBody().front();
  for (auto [index, arg] : llvm::enumerate(body.getArguments())) {
    mlir::Value operand = kernel.getOperand(index);
    std::string name = "in" + std::to_string(index);
    auto type = mlir::cast<mlir::RankedTensorType>(arg.getType());
    if (type.getElementType().isSignlessInteger() && type.isDynamicDim(0))
      funcs[arg] = Func(idsParam(operand, name, lowered));
    else if (!type.isDynamicDim(0) && weightPanelWidth(operand, target))
      funcs[arg] = panelWeightParam(operand, weightPanelWidth(operand, target),
                                    weightGroup(operand, target), name, lowered, target);
    else if (!type.isDynamicDim(0))
      funcs[arg] = Func(weightParam(operand, name, lowered));
    else if (type.getRank() == 4)
      funcs[arg] = Func(imageParam(operand, name, lowered));
    else
      funcs[arg] = Func(activationParam(operand, name, lowered));
  }
  return funcs;
}

llvm::json::Array blockc::viewJson(llvm::ArrayRef<int64_t> entries, uint32_t tokensBits) {
  llvm::json::Array array;
  for (auto [d, v] : llvm::enumerate(entries)) {
    if (!(tokensBits >> d & 1)) {
      array.push_back(v);
      continue;
    }
    const int64_t k = v < 0 ? -v : v;
    array.push_back((k == 1 ? "" : std::to_string(k) + "*") + (v < 0 ? "B*S" : "S"));
  }
  return array;
}

void blockc::addViewJson(const ArgView &view, llvm::json::Object &arg) {
  if (view.isTokens) {
    arg["source"] = "tokens";
    return;
  }
  arg["offset"] = view.offset;
  arg["shape"] = viewJson(view.shape, view.tokensShape);
  arg["strides"] = viewJson(view.strides, view.tokensStrides);
}

const char *blockc::dtypeName(Halide::Type type) {
  if (type.is_bfloat())
    return "BF16";
  if (type.is_int())
    return type.bits() == 8 ? "I8" : type.bits() == 16 ? "I16" : type.bits() == 32 ? "I32" : "I64";
  return "F32";
}

llvm::json::Array blockc::toJsonArray(llvm::ArrayRef<int64_t> values) {
  llvm::json::Array array;
  for (int64_t v : values)
    array.push_back(v);
  return array;
}
