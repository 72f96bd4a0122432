//===- AST.h - AST of the block spec language ---------------------*- C++ -*-===//
//
// The tree the parser builds from a `*.block` file (docs/language.md). The parser
// leaves calls unresolved (CallExprAST) and layer arguments as written; Sema resolves
// every call into a LayerCallExprAST or BuiltinCallExprAST, interprets the arguments
// and fills in the feature sizes, so MLIRGen only ever sees a checked tree.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_AST_H
#define BLOCKC_FRONTEND_AST_H

#include "blockc/Frontend/LayerKinds.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace blockc::ast {

/// A position in the source; line and column are 1-based (columns count bytes). `at`
/// points into the parsed buffer, for diagnostics: llvm::SourceMgr cannot always turn
/// line and column back into a pointer (it counts a lone '\r' as a line break in columns,
/// not in lines).
struct Location {
  std::string file;
  int line = 0, col = 0;
  llvm::SMLoc at;
};

/// An argument as written: `key = value`, `IN -> OUT` or a shape `[1, 1, 768]`. Sema interprets it for the
/// layer kind or builtin it is given to.
/// The token count of a tensor whose tokens are chosen at run time (up to a declared
/// maximum): MLIR's dynamic size, so that MLIRGen writes it as `?`.
constexpr int64_t kRunTimeTokens = std::numeric_limits<int64_t>::min();
/// The largest such maximum: the runtime's limit on a manifest's "max_tokens".
constexpr int64_t kMaxTokens = int64_t(1) << 20;

struct Argument {
  enum class Kind { Number, Bool, Name, Arrow, Shape };
  Kind kind = Kind::Number;
  std::string key;      // empty for Arrow
  double number = 0;    // Number; IN of Arrow
  double out = 0;       // OUT of Arrow
  bool boolean = false; // Bool
  std::string name;     // Name
  std::vector<double> shape; // Shape: `[1, 197, 768]`
  bool upTo = false;    // `tokens <= 512`, `S <= 512`: the number is a run-time maximum
  Location loc;         // of the key, or of IN
  Location valueLoc;    // of the value, or of OUT
};

/// `name = kind(args)`: a layer with weights under the state-dict prefix `name`. Sema
/// fills in its settings from `args` and the defaults of its kind's row (LayerKinds.h).
struct LayerDecl : LayerSettings {
  std::string name; // state-dict prefix, e.g. "mlp.fc1"
  LayerKind kind;
  Location loc;
  std::vector<Argument> args; // as written
  int64_t features = 0; // C of the tensor the layer is applied to, resolved by Sema

  const LayerKindInfo &getInfo() const { return getLayerKindInfo(kind); }
  /// The shape of one of its kind's tensors, once Sema has resolved the layer.
  llvm::SmallVector<int64_t, 4> getShape(const LayerTensor &tensor) const;
};

/// The state-dict key of `tensor` of the layer named `layer`: `layer.suffix`, or `layer`.
std::string tensorKey(llvm::StringRef layer, const LayerTensor &tensor);
/// The state-dict keys of a layer's tensors (`NAME.weight`, ...), per its kind's row.
std::vector<std::string> stateDictKeys(const LayerDecl &layer);

/// Base of all expressions, with LLVM-style RTTI (isa/cast/dyn_cast).
struct ExprAST {
  enum class Kind { Number, Var, Binary, Call, LayerCall, InstanceCall, BuiltinCall };

  ExprAST(Kind kind, Location loc) : loc(std::move(loc)), kind(kind) {}
  virtual ~ExprAST() = default;
  Kind getKind() const { return kind; }

  Location loc;
  /// Last-dim size of the tensor value, set by Sema; 0 for a number.
  int64_t features = 0;
  /// Tokens of a [B, tokens, features] value, set by Sema; 0 for a pooled [B, features]
  /// value, an image, a parameter or a number.
  int64_t tokens = 0;

private:
  const Kind kind;
};

struct NumberExprAST : ExprAST {
  NumberExprAST(Location loc, double value)
      : ExprAST(Kind::Number, std::move(loc)), value(value) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Number; }

  double value;
};

struct VarExprAST : ExprAST {
  VarExprAST(Location loc, std::string name)
      : ExprAST(Kind::Var, std::move(loc)), name(std::move(name)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Var; }

  std::string name;
};

/// `lhs + rhs` or `lhs * rhs`; loc is the operator's.
struct BinaryExprAST : ExprAST {
  BinaryExprAST(Location loc, char op, std::unique_ptr<ExprAST> lhs,
                std::unique_ptr<ExprAST> rhs)
      : ExprAST(Kind::Binary, std::move(loc)), op(op), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Binary; }

  char op; // '+' or '*'
  std::unique_ptr<ExprAST> lhs, rhs;
};

/// A call as parsed, before Sema knows whether the callee is a layer or a builtin.
/// None is left after Sema succeeds.
struct CallExprAST : ExprAST {
  CallExprAST(Location loc, std::string callee,
              std::vector<std::unique_ptr<ExprAST>> args, std::vector<Argument> options)
      : ExprAST(Kind::Call, std::move(loc)), callee(std::move(callee)),
        args(std::move(args)), options(std::move(options)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Call; }

  std::string callee;
  std::vector<std::unique_ptr<ExprAST>> args; // the tensor (or number) arguments
  std::vector<Argument> options;              // `key = value` and `IN -> OUT`
};

/// `norm1(t)`: applies a declared layer.
struct LayerCallExprAST : ExprAST {
  LayerCallExprAST(Location loc, std::string callee, const LayerDecl *layer,
                   std::unique_ptr<ExprAST> arg)
      : ExprAST(Kind::LayerCall, std::move(loc)), callee(std::move(callee)),
        layer(layer), arg(std::move(arg)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::LayerCall; }

  std::string callee;
  const LayerDecl *layer;
  std::unique_ptr<ExprAST> arg;
};

struct BlockAST;
struct InstanceDecl;

/// `blocks(t)`: applies the instances of a block group, in index order.
struct InstanceCallExprAST : ExprAST {
  InstanceCallExprAST(Location loc, std::string callee, std::unique_ptr<ExprAST> arg)
      : ExprAST(Kind::InstanceCall, std::move(loc)), callee(std::move(callee)),
        arg(std::move(arg)) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::InstanceCall; }

  std::string callee;
  /// Each instance's name (its tensors' prefix) and block, in the order they apply.
  std::vector<std::pair<std::string, const BlockAST *>> instances;
  std::unique_ptr<ExprAST> arg;
  /// The variable given as `mask = NAME`, the blocks' `mask`; empty if none.
  std::string mask;
};

/// `gelu(t)`, `mha(qkv, heads = H)`, `mha(q, k, v, heads = H, mask = m)`,
/// `concat(cls_token, t)`, `take(t, 0)`, `mean(t, from = 1)`, `positions(ids)`, ...
struct BuiltinCallExprAST : ExprAST {
  enum class Builtin { Gelu, GeluTanh, Relu, Silu, MHA, Concat, Take, Mean, Positions, L2Normalize };

  BuiltinCallExprAST(Location loc, Builtin builtin,
                     std::vector<std::unique_ptr<ExprAST>> args, int64_t heads, int64_t index)
      : ExprAST(Kind::BuiltinCall, std::move(loc)), builtin(builtin),
        args(std::move(args)), heads(heads), index(index) {}
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::BuiltinCall; }

  Builtin builtin;
  std::vector<std::unique_ptr<ExprAST>> args; // take: the tensor only
  int64_t heads = 0; // mha
  int64_t index = 0; // take: the token; mean: the first token averaged
  std::string mask;  // mha, mean: the variable given as `mask = NAME`, if any
};

/// The spelling of a builtin in the language (`gelu`, ...).
llvm::StringRef getBuiltinName(BuiltinCallExprAST::Builtin builtin);
std::optional<BuiltinCallExprAST::Builtin> lookupBuiltin(llvm::StringRef name);

/// `target = value`, or `output target = value` in a model; loc is the target's.
struct Assignment {
  std::string target;
  std::unique_ptr<ExprAST> value;
  Location loc;
  bool output = false;
};

/// `input NAME: [B, d1, ..., dk]` of a model, or `input NAME: int64[B, N]` (token ids or a
/// mask; also int32): `dims` are d1..dk as written.
struct InputDecl {
  std::string name;
  Location loc;
  std::string dtype = "float32"; // as written; Sema checks it
  Location dtypeLoc;
  Location batchLoc; // of the first entry, which must be `B`
  std::string batch; // as written
  /// Number arguments, or a Name (`S`, `S <= 512`: the tokens, chosen at run time); Sema
  /// checks them.
  std::vector<Argument> dims;
  std::vector<int64_t> shape; // d1..dk, set by Sema
  /// `= 0` after the shape: a caller may omit the input, which is then all zeros
  /// (token_type_ids); Sema allows it for integer inputs.
  bool zeroDefault = false;
  Location defaultLoc;
};

struct BlockAST;

/// `blocks.{0..11} = vit_b16` (twelve instances, `blocks.0` ... `blocks.11`) or
/// `encoder = vit_b16` (one): instances of a block whose tensors are named under each
/// instance's name. Calling `blocks(x)` applies every instance of the group in index order.
struct InstanceDecl {
  std::string group;
  bool ranged = false;
  int64_t first = 0, last = 0; // inclusive, when ranged
  std::string blockName;
  Location loc, rangeLoc, blockLoc;
  const BlockAST *block = nullptr; // resolved by Sema

  /// The instances' names: `blocks.0`, ... or the group's name alone.
  std::vector<std::string> names() const;
};

/// A block, or the model of a file (isModel): a model has declared inputs, instances of
/// blocks and `output` statements instead of a block's sizes and implicit `x`.
struct BlockAST {
  std::string name;
  Location loc;
  bool isModel = false;
  /// A block's sizes and a model's settings, as written: Sema sets tokens, dim and
  /// precision from them.
  std::vector<Argument> sizes;
  int64_t tokens = 0, dim = 0;
  /// `precision = ...` in the header: its layers' number format where they name none
  /// (kPrecisions); empty: the model's (a block's), float32 (a model's).
  std::string precision;
  /// Set by Sema where the tokens are chosen at run time (a block's `tokens <= N`, a model's
  /// input `[B, S <= N]`; `tokens` is then kRunTimeTokens): the largest count a run takes.
  int64_t maxTokens = 0;
  /// A block that reads its predefined `mask` [B, tokens] (set by Sema): its instances are
  /// called with `mask = NAME`, and the block alone compiles to a module with a second
  /// input, `mask`.
  bool readsMask = false;
  std::vector<InputDecl> inputs;       // models
  std::vector<InstanceDecl> instances; // models
  /// Models: `ignore NAME, ...`, the state-dict tensors (NAME, or under `NAME.`) the weight
  /// file may hold that inference never reads.
  std::vector<std::pair<std::string, Location>> ignored;
  std::vector<std::unique_ptr<LayerDecl>> layers;
  std::vector<Assignment> statements;
};

/// A spec file: its blocks and at most one model (docs/language.md).
struct SpecAST {
  std::vector<std::unique_ptr<BlockAST>> blocks;
  std::unique_ptr<BlockAST> model;

  /// What the file compiles to: its model, or else its one block.
  const BlockAST &top() const { return model ? *model : *blocks.front(); }
  BlockAST &top() { return model ? *model : *blocks.front(); }
};

/// Prints an expression in source syntax with every binary operation parenthesized,
/// each tensor value followed by `:features` once Sema has set it.
void dump(const ExprAST &expr, llvm::raw_ostream &os);
/// Prints a checked block or model: its sizes or inputs, its layers with all their
/// settings, its instances, its statements.
void dump(const BlockAST &block, llvm::raw_ostream &os);

} // namespace blockc::ast

#endif // BLOCKC_FRONTEND_AST_H
