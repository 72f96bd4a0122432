//===- AST.cpp - Names and printing of the block spec AST -----------------===//

#include "blockc/Frontend/AST.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/Format.h"

using namespace blockc::ast;
using llvm::cast;

llvm::StringRef blockc::ast::getLayerKindName(LayerKind kind) {
  switch (kind) {
  case LayerKind::LayerNorm:
    return "layernorm";
  case LayerKind::RMSNorm:
    return "rmsnorm";
  case LayerKind::BatchNorm:
    return "batchnorm";
  case LayerKind::Linear:
    return "linear";
  case LayerKind::Attention:
    return "attention";
  case LayerKind::LayerScale:
    return "layerscale";
  }
  llvm_unreachable("unknown layer kind");
}

std::optional<LayerKind> blockc::ast::lookupLayerKind(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<LayerKind>>(name)
      .Case("layernorm", LayerKind::LayerNorm)
      .Case("rmsnorm", LayerKind::RMSNorm)
      .Case("batchnorm", LayerKind::BatchNorm)
      .Case("linear", LayerKind::Linear)
      .Case("attention", LayerKind::Attention)
      .Case("layerscale", LayerKind::LayerScale)
      .Default(std::nullopt);
}

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
      .Default(std::nullopt);
}

static void printNumber(double value, llvm::raw_ostream &os) {
  os << llvm::format("%g", value);
}

static void printArgument(const Argument &arg, llvm::raw_ostream &os) {
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
    os << ')';
    break;
  }
  }
  if (expr.features)
    os << ':' << expr.features;
}

static void printBool(llvm::StringRef key, bool value, llvm::raw_ostream &os) {
  os << ", " << key << " = " << (value ? "true" : "false");
}

void blockc::ast::dump(const BlockAST &block, llvm::raw_ostream &os) {
  os << "block " << block.name << " (tokens = " << block.tokens
     << ", dim = " << block.dim << ")\n";
  for (const auto &layer : block.layers) {
    os << "  " << layer->name << " = " << getLayerKindName(layer->kind) << '(';
    switch (layer->kind) {
    case LayerKind::LayerNorm:
    case LayerKind::RMSNorm:
    case LayerKind::BatchNorm:
      os << "eps = ";
      printNumber(layer->eps, os);
      break;
    case LayerKind::Linear:
      os << layer->inFeatures << " -> " << layer->outFeatures;
      printBool("bias", layer->bias, os);
      break;
    case LayerKind::Attention:
      os << "heads = " << layer->heads;
      printBool("qkv_bias", layer->qkvBias, os);
      printBool("proj_bias", layer->projBias, os);
      break;
    case LayerKind::LayerScale:
      break;
    }
    os << "):" << layer->features << '\n';
  }
  for (const Assignment &stmt : block.statements) {
    os << "  " << stmt.target << " = ";
    dump(*stmt.value, os);
    os << '\n';
  }
}

std::vector<std::string> blockc::ast::stateDictKeys(const LayerDecl &layer) {
  std::vector<std::string> keys;
  auto add = [&](llvm::StringRef suffix) { keys.push_back(layer.name + "." + suffix.str()); };
  switch (layer.kind) {
  case LayerKind::LayerNorm:
    add("weight");
    add("bias");
    break;
  case LayerKind::RMSNorm:
    add("weight");
    break;
  case LayerKind::BatchNorm:
    for (llvm::StringRef key : {"weight", "bias", "running_mean", "running_var",
                                "num_batches_tracked"})
      add(key);
    break;
  case LayerKind::Linear:
    add("weight");
    if (layer.bias)
      add("bias");
    break;
  case LayerKind::Attention:
    add("qkv.weight");
    if (layer.qkvBias)
      add("qkv.bias");
    add("proj.weight");
    if (layer.projBias)
      add("proj.bias");
    break;
  case LayerKind::LayerScale:
    add("gamma");
    break;
  }
  return keys;
}
