//===- AST.cpp - Names and printing of the block spec AST -----------------===//

#include "blockc/Frontend/AST.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/Format.h"

using namespace blockc::ast;
using llvm::cast;

using Builtin = BuiltinCallExprAST::Builtin;

llvm::StringRef blockc::ast::getBuiltinName(Builtin builtin) {
  switch (builtin) {
  case Builtin::Gelu:
    return "gelu";
  case Builtin::GeluTanh:
    return "gelu_tanh";
  case Builtin::Relu:
    return "relu";
  case Builtin::Silu:
    return "silu";
  case Builtin::MHA:
    return "mha";
  case Builtin::Concat:
    return "concat";
  case Builtin::Take:
    return "take";
  case Builtin::Mean:
    return "mean";
  case Builtin::Positions:
    return "positions";
  case Builtin::L2Normalize:
    return "l2normalize";
  }
  llvm_unreachable("unknown builtin");
}

std::optional<Builtin> blockc::ast::lookupBuiltin(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<Builtin>>(name)
      .Case("gelu", Builtin::Gelu)
      .Case("gelu_tanh", Builtin::GeluTanh)
      .Case("relu", Builtin::Relu)
      .Case("silu", Builtin::Silu)
      .Case("mha", Builtin::MHA)
      .Case("concat", Builtin::Concat)
      .Case("take", Builtin::Take)
      .Case("mean", Builtin::Mean)
      .Case("positions", Builtin::Positions)
      .Case("l2normalize", Builtin::L2Normalize)
      .Default(std::nullopt);
}

static void printNumber(double value, llvm::raw_ostream &os) {
  os << llvm::format("%g", value);
}

template <typename T> static void printShape(llvm::ArrayRef<T> shape, llvm::raw_ostream &os) {
  os << '[';
  llvm::ListSeparator sep;
  for (T d : shape) {
    os << sep;
    printNumber(d, os);
  }
  os << ']';
}

static void printArgument(const Argument &arg, llvm::raw_ostream &os) {
  if (arg.kind == Argument::Kind::Shape) {
    printShape(llvm::ArrayRef<double>(arg.shape), os);
    return;
  }
  if (arg.kind == Argument::Kind::Arrow) {
    printNumber(arg.number, os);
    os << " -> ";
    printNumber(arg.out, os);
    return;
  }
  os << arg.key << " = ";
  switch (arg.kind) {
  case Argument::Kind::Number:
    printNumber(arg.number, os);
    break;
  case Argument::Kind::Bool:
    os << (arg.boolean ? "true" : "false");
    break;
  case Argument::Kind::Name:
    os << arg.name;
    break;
  case Argument::Kind::Shape:
  case Argument::Kind::Arrow:
    llvm_unreachable("handled above");
  }
}

static void printArgs(const std::vector<std::unique_ptr<ExprAST>> &args,
                      llvm::ListSeparator &sep, llvm::raw_ostream &os) {
  for (const auto &arg : args) {
    os << sep;
    dump(*arg, os);
  }
}

void blockc::ast::dump(const ExprAST &expr, llvm::raw_ostream &os) {
  switch (expr.getKind()) {
  case ExprAST::Kind::Number:
    printNumber(cast<NumberExprAST>(expr).value, os);
    break;
  case ExprAST::Kind::Var:
    os << cast<VarExprAST>(expr).name;
    break;
  case ExprAST::Kind::Binary: {
    const auto &binary = cast<BinaryExprAST>(expr);
    os << '(';
    dump(*binary.lhs, os);
    os << ' ' << binary.op << ' ';
    dump(*binary.rhs, os);
    os << ')';
    break;
  }
  case ExprAST::Kind::Call: {
    const auto &call = cast<CallExprAST>(expr);
    os << call.callee << '(';
    llvm::ListSeparator sep;
    printArgs(call.args, sep, os);
    for (const Argument &option : call.options) {
      os << sep;
      printArgument(option, os);
    }
    os << ')';
    break;
  }
  case ExprAST::Kind::LayerCall: {
    const auto &call = cast<LayerCallExprAST>(expr);
    os << call.callee << '(';
    dump(*call.arg, os);
    os << ')';
    break;
  }
  case ExprAST::Kind::BuiltinCall: {
    const auto &call = cast<BuiltinCallExprAST>(expr);
    os << getBuiltinName(call.builtin) << '(';
    llvm::ListSeparator sep;
    printArgs(call.args, sep, os);
    if (call.builtin == Builtin::MHA)
      os << sep << "heads = " << call.heads;
    else if (call.builtin == Builtin::Take)
      os << sep << call.index;
    else if (call.builtin == Builtin::Mean)
      os << sep << "from = " << call.index;
    if (!call.mask.empty())
      os << sep << "mask = " << call.mask;
    os << ')';
    break;
  }
  case ExprAST::Kind::InstanceCall: {
    const auto &call = cast<InstanceCallExprAST>(expr);
    os << call.callee << '(';
    dump(*call.arg, os);
    if (!call.mask.empty())
      os << ", mask = " << call.mask;
    os << ')';
    break;
  }
  }
  if (expr.features)
    os << ':' << expr.features;
}

/// Prints a layer's settings as its arguments would be written, in its row's order.
static void printSettings(const LayerDecl &layer, llvm::raw_ostream &os) {
  llvm::ListSeparator sep;
  for (const LayerArgument &argument : layer.getInfo().arguments) {
    if (argument.type == ArgumentType::Precision && (layer.*argument.text).empty())
      continue; // the block's or model's
    os << sep;
    switch (argument.type) {
    case ArgumentType::Sizes:
      os << layer.*argument.size << " -> " << layer.*argument.out;
      break;
    case ArgumentType::Number:
      os << argument.key << " = ";
      printNumber(layer.*argument.number, os);
      break;
    case ArgumentType::Bool:
      os << argument.key << " = " << (layer.*argument.boolean ? "true" : "false");
      break;
    case ArgumentType::Size:
      os << argument.key << " = " << layer.*argument.size;
      break;
    case ArgumentType::Shape:
      printShape(llvm::ArrayRef<int64_t>(layer.*argument.shape), os);
      break;
    case ArgumentType::Precision:
      os << argument.key << " = " << layer.*argument.text;
      break;
    }
  }
}

void blockc::ast::dump(const BlockAST &block, llvm::raw_ostream &os) {
  const std::string precision =
      block.precision.empty() ? "" : "precision = " + block.precision;
  if (block.isModel)
    os << "model " << block.name << (precision.empty() ? "" : " (" + precision + ")") << "\n";
  else
    os << "block " << block.name << " (tokens = " << block.tokens << ", dim = " << block.dim
       << (precision.empty() ? "" : ", " + precision) << ")\n";
  for (const InputDecl &input : block.inputs) {
    os << "  input " << input.name << ": " << (input.dtype == "float32" ? "" : input.dtype)
       << "[B";
    for (int64_t d : input.shape)
      os << ", " << d;
    os << "]\n";
  }
  for (const auto &layer : block.layers) {
    os << "  " << layer->name << " = " << getLayerKindName(layer->kind) << '(';
    printSettings(*layer, os);
    os << "):" << layer->features << '\n';
  }
  for (const InstanceDecl &instance : block.instances) {
    os << "  " << instance.group;
    if (instance.ranged)
      os << ".{" << instance.first << ".." << instance.last << "}";
    os << " = " << instance.blockName << '\n';
  }
  for (const Assignment &stmt : block.statements) {
    os << "  " << (stmt.output ? "output " : "") << stmt.target << " = ";
    dump(*stmt.value, os);
    os << '\n';
  }
}

llvm::SmallVector<int64_t, 4> LayerDecl::getShape(const LayerTensor &tensor) const {
  if (tensor.shape.given)
    return shape;
  llvm::SmallVector<int64_t, 4> shape;
  for (unsigned i = 0; i < tensor.shape.rank; ++i)
    shape.push_back(getDimSize(tensor.shape.dims[i], *this, features));
  return shape;
}

std::string blockc::ast::tensorKey(llvm::StringRef layer, const LayerTensor &tensor) {
  return tensor.suffix.empty() ? layer.str() : (layer + "." + tensor.suffix).str();
}

std::vector<std::string> blockc::ast::stateDictKeys(const LayerDecl &layer) {
  std::vector<std::string> keys;
  for (const LayerTensor &tensor : layer.getInfo().tensors)
    if (hasTensor(layer.getInfo(), tensor, layer))
      keys.push_back(tensorKey(layer.name, tensor));
  return keys;
}

std::vector<std::string> InstanceDecl::names() const {
  if (!ranged)
    return {group};
  std::vector<std::string> result;
  for (int64_t i = first; i <= last; ++i)
    result.push_back(group + "." + std::to_string(i));
  return result;
}
