//===- FuseKernels.cpp - group ops into blockc.kernel ops -----------------===//
#include "blockc/Transforms/Passes.h"

#include "llvm/ADT/SetVector.h"
#include "mlir/IR/IRMapping.h"

namespace blockc {
#define GEN_PASS_DEF_FUSEKERNELS
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

bool isNorm(Operation *op) { return isa<LayerNormOp, RMSNormOp, BatchNormOp>(op); }

/// Ops computed independently per element (or per channel), which an epilogue can absorb.
/// (A positions op's only user is its embedding, which follows it into its group.)
bool isElementwise(Operation *op) {
  return isa<GeluOp, GeluTanhOp, ReluOp, SiluOp, AddOp, MulOp, ScaleOp, BatchNormOp,
             EmbeddingOp, PositionsOp>(op);
}

/// The single user of `op`'s single result, if there is exactly one.
Operation *soleUser(Operation *op) {
  if (op->getNumResults() != 1 || !op->getResult(0).hasOneUse())
    return nullptr;
  return *op->getResult(0).getUsers().begin();
}

class Fuser {
public:
  explicit Fuser(func::FuncOp func) : func(func) {}

  void run() {
    for (Operation &op : func.getBody().front())
      if (!isa<WeightOp, func::ReturnOp>(op))
        order.push_back(&op);
    // Prepare kernels first, then the anchors in order of how much a group saves.
    // Ops that depend on weights alone run once, at weight-binding time.
    llvm::SmallPtrSet<Operation *, 16> weightOnly;
    for (Operation *op : order)
      if (llvm::all_of(op->getOperands(), [&](Value v) {
            Operation *def = v.getDefiningOp();
            return def && (isa<WeightOp>(def) || weightOnly.contains(def));
          })) {
        weightOnly.insert(op);
        // A weight is rounded in the kernel that computes it, so only the rounded copy is
        // stored.
        if (isa<ToBF16Op, QuantizeOp>(op)) {
          Value weight = op->getOperand(0);
          Operation *producer = weight.getDefiningOp();
          if (grouped(producer) && weight.hasOneUse()) {
            groupOf[op] = groupOf[producer];
            groups[groupOf[op]].second.push_back(op);
            continue;
          }
        }
        // Weights joined only to be transposed are joined inside the transpose's kernel, so
        // the joined copy is never stored.
        if (isa<ConcatOp>(op) && isa_and_nonnull<TransposeOp>(soleUser(op)))
          continue;
        SmallVector<Operation *> ops;
        if (auto concat = isa<TransposeOp>(op) ? op->getOperand(0).getDefiningOp<ConcatOp>()
                                               : ConcatOp();
            concat && concat->hasOneUse())
          ops.push_back(concat);
        ops.push_back(op);
        addGroup(KernelKind::Prepare, ops);
      }
    for (Operation *op : order)
      if (auto linear = dyn_cast<LinearOp>(op); linear && !grouped(op))
        formMatmul(linear);
    for (Operation *op : order)
      if (auto mha = dyn_cast<MHAOp>(op); mha && !grouped(op))
        formAttention(mha);
    for (Operation *op : order)
      if (isa<ConcatTokensOp, TakeTokenOp, MeanTokensOp>(op) && !grouped(op)) {
        SmallVector<Operation *> ops = {op};
        extendEpilogue(ops);
        addGroup(KernelKind::Tokens, ops);
      }
    for (Operation *op : order)
      if (isa<LayerNormOp, RMSNormOp, L2NormalizeOp>(op) && !grouped(op))
        formNorm(op);
    for (Operation *op : order)
      if (!grouped(op)) {
        SmallVector<Operation *> ops = {op};
        extendEpilogue(ops);
        addGroup(KernelKind::Elementwise, ops);
      }
    for (auto &[kind, ops] : groups)
      outline(kind, ops);
    // Name kernels in execution order: p0_transpose, ..., k0_matmul, k1_attention, ...,
    // with the number format of a kernel that reads or writes bf16 or int8, or of its
    // attention core: k0_matmul_bf16, k1_attention_bf16.
    int prepared = 0, ran = 0;
    func.walk([&](KernelOp kernel) {
      bool prepare = kernel.getKind() == KernelKind::Prepare;
      // A prepare kernel is named after its last op but the rounding (a transpose, of
      // joined weights too).
      Operation *last = kernel.getBody().front().getTerminator()->getPrevNode();
      while (isa<ToBF16Op, QuantizeOp>(last) && last->getPrevNode())
        last = last->getPrevNode();
      std::string name = prepare ? last->getName().stripDialect().str()
                                 : stringifyKernelKind(kernel.getKind()).str();
      SmallVector<Type> types(kernel->getOperandTypes());
      llvm::append_range(types, kernel->getResultTypes());
      StringRef format;
      for (Type type : types)
        if (format.empty())
          format = reducedPrecisionOf(cast<RankedTensorType>(type).getElementType());
      kernel.getBody().walk([&](MHAOp mha) {
        if (std::optional<Precision> precision = mha.getPrecision();
            format.empty() && precision && *precision != Precision::FP32)
          format = stringifyPrecision(*precision);
      });
      if (!format.empty())
        name += "_" + format.str();
      kernel.setSymName((prepare ? "p" + std::to_string(prepared++)
                                 : "k" + std::to_string(ran++)) + "_" + name);
    });
  }

private:
  bool grouped(Operation *op) const { return groupOf.count(op); }

  void addGroup(KernelKind kind, ArrayRef<Operation *> ops) {
    for (Operation *op : ops)
      groupOf[op] = groups.size();
    groups.push_back({kind, SmallVector<Operation *>(ops)});
  }

  /// A residual add whose only user is a LayerNorm/RMSNorm belongs to that norm's group
  /// (post-norm "Add & Norm"), not to the matmul before it.
  static bool feedsAddAndNorm(Operation *op) {
    Operation *user = soleUser(op);
    return isa<AddOp>(op) && user && isa<LayerNormOp, RMSNormOp>(user);
  }

  /// Appends the single-use chain of elementwise ops that follows `ops.back()`.
  void extendEpilogue(SmallVector<Operation *> &ops) {
    while (Operation *user = soleUser(ops.back())) {
      if (!isElementwise(user) || grouped(user) || feedsAddAndNorm(user))
        break;
      ops.push_back(user);
    }
  }

  /// A linear with its prologue: the norm of its input, or the patches of an image (a
  /// conv2d patch embedding, whose im2col is folded into the matmul's input).
  void formMatmul(LinearOp linear) {
    SmallVector<Operation *> ops;
    Operation *producer = linear.getInput().getDefiningOp();
    if (producer && (isNorm(producer) || isa<PatchesOp>(producer)) && producer->hasOneUse() &&
        !grouped(producer))
      ops.push_back(producer);
    ops.push_back(linear);
    extendEpilogue(ops);
    addGroup(KernelKind::Matmul, ops);
  }

  void formAttention(MHAOp mha) {
    // A slice may feed several operands (mha(q, q, v)): take each once.
    llvm::SetVector<Operation *> ops;
    for (Value operand : mha->getOperands())
      if (auto slice = operand.getDefiningOp<SliceOp>())
        if (!grouped(slice) && llvm::all_of(slice->getUsers(),
                                            [&](Operation *u) { return u == mha; }))
          ops.insert(slice);
    ops.insert(mha);
    addGroup(KernelKind::Attention, ops.getArrayRef());
  }

  /// The ops that compute `value` for the norm reading it alone: a residual add (post-norm
  /// "Add & Norm"), or BERT's sum of token, position and segment embeddings.
  void collectNormPrologue(Value value, SmallVector<Operation *> &ops) {
    Operation *producer = value.getDefiningOp();
    if (!producer || !isa<AddOp, EmbeddingOp, PositionsOp>(producer) || !producer->hasOneUse() ||
        grouped(producer))
      return;
    for (Value operand : producer->getOperands())
      collectNormPrologue(operand, ops);
    ops.push_back(producer);
  }

  void formNorm(Operation *norm) {
    SmallVector<Operation *> ops;
    collectNormPrologue(norm->getOperand(0), ops);
    ops.push_back(norm);
    extendEpilogue(ops);
    addGroup(KernelKind::Norm, ops);
  }

  /// Replaces `ops` by one blockc.kernel placed where the last of them was.
  void outline(KernelKind kind, ArrayRef<Operation *> ops) {
    llvm::SmallPtrSet<Operation *, 8> inGroup(ops.begin(), ops.end());
    llvm::SetVector<Value> inputs, outputs;
    for (Operation *op : ops) {
      for (Value operand : op->getOperands())
        if (!inGroup.contains(operand.getDefiningOp()))
          inputs.insert(operand);
      for (Value result : op->getResults())
        if (llvm::any_of(result.getUsers(),
                         [&](Operation *user) { return !inGroup.contains(user); }))
          outputs.insert(result);
    }
    // Ops of a group may be spread out (a prologue norm early, its linear later): place the
    // kernel at the latest op so every input dominates it.
    Operation *last = ops.front();
    for (Operation *op : ops)
      if (last->isBeforeInBlock(op))
        last = op;
    OpBuilder builder(last);
    auto kernel = builder.create<KernelOp>(last->getLoc(), TypeRange(outputs.getArrayRef()),
                                           inputs.getArrayRef(), kind,
                                           stringifyKernelKind(kind));
    Block &body = kernel.getBody().front();
    IRMapping mapping;
    mapping.map(inputs.getArrayRef(), body.getArguments());
    OpBuilder inner = OpBuilder::atBlockEnd(&body);
    // Clone in block order so operands are defined before use.
    SmallVector<Operation *> sorted(ops.begin(), ops.end());
    llvm::sort(sorted, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    for (Operation *op : sorted)
      inner.clone(*op, mapping);
    SmallVector<Value> yielded;
    for (Value output : outputs)
      yielded.push_back(mapping.lookup(output));
    inner.create<YieldOp>(last->getLoc(), yielded);
    for (auto [index, output] : llvm::enumerate(outputs.takeVector()))
      output.replaceAllUsesWith(kernel.getResult(index));
    for (Operation *op : llvm::reverse(sorted))
      op->erase();
  }

  func::FuncOp func;
  SmallVector<Operation *> order;
  llvm::DenseMap<Operation *, size_t> groupOf;
  SmallVector<std::pair<KernelKind, SmallVector<Operation *>>> groups;
};

struct FuseKernelsPass : blockc::impl::FuseKernelsBase<FuseKernelsPass> {
  void runOnOperation() override { Fuser(getOperation()).run(); }
};
} // namespace
