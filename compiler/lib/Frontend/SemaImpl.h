//===- SemaImpl.h - The semantic checker, shared by its source files -*- C++ -*-===//
//
// Sema.cpp checks sizes, statements, expressions and results; SemaBuiltins.cpp the built-in
// functions; SemaModel.cpp a model's inputs and block instances, and the whole file;
// SemaLayers.cpp layer declarations and uses against the table of layer kinds
// (LayerKinds.h).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_FRONTEND_SEMAIMPL_H
#define BLOCKC_FRONTEND_SEMAIMPL_H

#include "blockc/Frontend/AST.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/SourceMgr.h"

namespace blockc::sema {

using namespace blockc::ast;
using Builtin = BuiltinCallExprAST::Builtin;

/// The type of an expression's value.
struct ValueType {
  enum class Kind {
    Number,
    Tokens,    // [B, tokens, features]
    Pooled,    // [B, features]: one vector per sample (a pooled class token, logits)
    Image,     // [B, C, H, W]: shape is [C, H, W]
    Parameter, // a learned tensor of a fixed shape, without B
    Ids,       // [B, tokens] integers: token ids or a mask (an integer input)
    Positions, // [B, tokens] ids, token n holding n: positions(ids)
  };
  Kind kind = Kind::Number;
  int64_t tokens = 0, features = 0;
  llvm::SmallVector<int64_t, 4> shape;

  static ValueType number() { return {}; }
  static ValueType tokensOf(int64_t tokens, int64_t features) {
    return {Kind::Tokens, tokens, features, {}};
  }
  static ValueType pooled(int64_t features) { return {Kind::Pooled, 0, features, {}}; }
  static ValueType ids(int64_t tokens) { return {Kind::Ids, tokens, 0, {}}; }
  bool isNumber() const { return kind == Kind::Number; }
  /// An activation, which layers and builtins apply to: tokens or pooled.
  bool isActivation() const { return kind == Kind::Tokens || kind == Kind::Pooled; }
  /// Rows of one sample: its tokens, or 1 when pooled.
  int64_t rows() const { return kind == Kind::Tokens ? tokens : 1; }
  /// "[B, 197, 768]", "[1, 197, 768]", "a number".
  std::string describe() const;
  bool operator==(const ValueType &other) const {
    return kind == other.kind && tokens == other.tokens && features == other.features &&
           shape == other.shape;
  }
};

/// What an expression evaluates to, or std::nullopt when an error was reported inside
/// it, so that one mistake gives one message.
using Value = std::optional<ValueType>;

/// How messages name an argument: its key, or "IN -> OUT".
std::string spellKey(const Argument &arg);
/// A number as messages write it: `768`, `1e-06`.
std::string spellNumber(double value);
/// "; did you mean 'X'?" for the candidate closest to `name`, if one is close: a third of
/// its letters may differ (so none of a one-letter name).
std::string suggest(llvm::StringRef name, llvm::ArrayRef<llvm::StringRef> candidates);

/// The checks of one block or model (see checkSpec in Sema.h), reporting through
/// sourceMgr; a model's instances name the file's `blocks`.
class Sema {
public:
  Sema(BlockAST &block, llvm::SourceMgr &sourceMgr,
       const llvm::StringMap<const BlockAST *> *blocks = nullptr)
      : block(block), sourceMgr(sourceMgr), blocks(blocks ? *blocks : noBlocks) {}

  bool check();
  /// Blocks the model instantiates (after check).
  const llvm::DenseSet<const BlockAST *> &getUsedBlocks() const { return usedBlocks; }

  void error(const Location &loc, const llvm::Twine &message);
  void note(const Location &loc, const llvm::Twine &message);

private:
  void checkSettings();
  void checkInputs();
  /// A declared maximum of run-time tokens: at most kMaxTokens (the runtime's limit).
  bool checkMaxTokens(int64_t max, const Location &loc);
  /// The run-time tokens `S` or `S <= N` of a model's input (the first sets the maximum).
  bool checkRunTimeTokens(const Argument &dim);
  /// A token count, with the declared maximum for run-time tokens.
  int64_t atMost(int64_t tokens) const {
    return tokens == kRunTimeTokens ? block.maxTokens : tokens;
  }
  void checkInstances();
  void checkResult();
  Value checkInstanceCall(std::unique_ptr<ExprAST> &expr, llvm::StringRef group, Value arg,
                          const Argument *mask);
  bool checkMask(const Argument &mask, int64_t tokens, llvm::StringRef callee);
  Value checkConcat(const CallExprAST &call, llvm::ArrayRef<Value> args);
  Value checkPooling(CallExprAST &call, Builtin builtin, llvm::ArrayRef<Value> args,
                     int64_t &index);
  void checkLayer(LayerDecl &layer);
  void checkStateDictKeys();
  bool applyLayerArgument(LayerDecl &layer, const Argument &arg);
  bool tensorsWithinIndexing(const LayerDecl &layer, int64_t features,
                             const Location &loc);
  void checkStatement(Assignment &stmt);
  Value checkExpr(std::unique_ptr<ExprAST> &expr, bool isStatementValue);
  Value checkVar(const VarExprAST &var);
  Value checkBinary(BinaryExprAST &binary);
  Value checkCall(std::unique_ptr<ExprAST> &expr, bool isStatementValue);
  Value checkLayerCall(std::unique_ptr<ExprAST> &expr, LayerDecl &layer, Value arg);
  Value checkBuiltin(std::unique_ptr<ExprAST> &expr, Builtin builtin,
                     llvm::ArrayRef<Value> args);
  Value applyLayer(LayerDecl &layer, const ValueType &input, const Location &loc);
  Value applyConv2d(LayerDecl &layer, const ValueType &input, const Location &loc);
  Value applyEmbedding(LayerDecl &layer, const ValueType &input, const Location &loc);

  std::optional<int64_t> getSize(double value, const Location &loc,
                                 const llvm::Twine &what);
  std::optional<int64_t> getSize(const Argument &arg, const llvm::Twine &what);
  bool withinIndexing(const Location &loc, const llvm::Twine &what, int64_t rows,
                      int64_t cols);
  bool getBool(const Argument &arg, bool &field);
  bool getNumber(const Argument &arg, double &field);
  /// `precision = fp32 | bf16 | int8` (kPrecisions) into `field`.
  bool getPrecision(const Argument &arg, std::string &field);

  BlockAST &block;
  /// A model's run-time tokens: their name (`S`) and where their maximum was declared.
  std::string tokensName;
  Location tokensLoc;
  llvm::SourceMgr &sourceMgr;
  const llvm::StringMap<const BlockAST *> noBlocks;
  const llvm::StringMap<const BlockAST *> &blocks;
  bool failed = false;

  /// A model's instance groups: each instance's index (-1 if unranged), declaration.
  llvm::StringMap<std::vector<std::pair<int64_t, const InstanceDecl *>>> groups;
  llvm::DenseSet<const BlockAST *> usedBlocks;
  llvm::StringSet<> usedGroups;

  llvm::StringMap<LayerDecl *> layers;
  /// Layers whose declaration had an error: their uses are not checked further.
  llvm::DenseSet<const LayerDecl *> invalidLayers;
  llvm::DenseSet<const LayerDecl *> usedLayers;
  /// Where each layer (but linear) was first applied, which fixed its features.
  llvm::DenseMap<const LayerDecl *, Location> firstApplied;
  llvm::StringMap<Value> variables;
  /// The statement whose value each variable holds (none for the input), and the
  /// statements whose value is read.
  llvm::StringMap<const Assignment *> assignedBy;
  llvm::DenseSet<const Assignment *> read;
};

} // namespace blockc::sema

#endif // BLOCKC_FRONTEND_SEMAIMPL_H
