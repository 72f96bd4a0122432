//===- PlanBuffers.cpp - reuse arena slots for intermediate activations ---===//
#include "blockc/Transforms/Passes.h"

namespace blockc {
#define GEN_PASS_DEF_PLANBUFFERS
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

/// The float32 elements of an activation [B, ...] per sample, or per token where the tokens
/// are chosen at run time ([B, ?, C]); a slot needs the largest of each it holds.
struct SlotSize {
  int64_t perSample = 0, perToken = 0;

  static SlotSize of(Value value) {
    SlotSize size;
    int64_t elements = 1;
    for (int64_t d : cast<RankedTensorType>(value.getType()).getShape().drop_front())
      elements *= ShapedType::isDynamic(d) ? 1 : d;
    (cast<RankedTensorType>(value.getType()).isDynamicDim(1) ? size.perToken : size.perSample) =
        elements;
    return size;
  }
  /// Per sample at the largest token count: how best fit compares slots.
  int64_t atMost(int64_t maxTokens) const { return perSample + perToken * maxTokens; }
  bool holds(SlotSize other) const {
    return perSample >= other.perSample && perToken >= other.perToken;
  }
  void grow(SlotSize other) {
    perSample = std::max(perSample, other.perSample);
    perToken = std::max(perToken, other.perToken);
  }
};

struct PlanBuffersPass : blockc::impl::PlanBuffersBase<PlanBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<KernelOp> kernels;
    func.walk([&](KernelOp kernel) { kernels.push_back(kernel); });

    // Constants: every prepare kernel result, in order.
    int64_t constants = 0;
    for (KernelOp kernel : kernels)
      if (kernel.getKind() == KernelKind::Prepare) {
        SmallVector<int64_t> ids;
        for (size_t i = 0; i < kernel.getNumResults(); ++i)
          ids.push_back(constants++);
        kernel.setConstants(ids);
      }

    // Index of the last run-time kernel reading each value.
    llvm::DenseMap<Value, size_t> lastUse;
    SmallVector<KernelOp> run;
    for (KernelOp kernel : kernels)
      if (kernel.getKind() != KernelKind::Prepare)
        run.push_back(kernel);
    for (auto [index, kernel] : llvm::enumerate(run))
      for (Value input : kernel.getInputs())
        lastUse[input] = index;

    // Outputs are the caller's buffers.
    llvm::SmallPtrSet<Value, 4> outputs;
    for (Value v : func.getBody().front().getTerminator()->getOperands())
      outputs.insert(v);
    IntegerAttr maxTokensAttr = BlockcDialect::MaxTokensAttrHelper(&getContext()).getAttr(func);
    const int64_t maxTokens = maxTokensAttr ? maxTokensAttr.getInt() : 1;
    SmallVector<SlotSize> slotSizes;
    SmallVector<bool> slotFree;
    llvm::DenseMap<Value, int64_t> slotOf;
    for (auto [index, kernel] : llvm::enumerate(run)) {
      SmallVector<int64_t> slots;
      for (Value result : kernel.getResults()) {
        if (outputs.contains(result)) {
          slots.push_back(-1);
          continue;
        }
        // Best fit among free slots; else grow the largest free one; else a new slot.
        SlotSize need = SlotSize::of(result);
        int64_t best = -1;
        auto size = [&](int64_t s) { return slotSizes[s].atMost(maxTokens); };
        for (size_t s = 0; s < slotSizes.size(); ++s) {
          if (!slotFree[s])
            continue;
          bool fits = slotSizes[s].holds(need);
          bool bestFits = best >= 0 && slotSizes[best].holds(need);
          if (best < 0 || (fits && (!bestFits || size(s) < size(best))) ||
              (!fits && !bestFits && size(s) > size(best)))
            best = s;
        }
        if (best < 0) {
          best = slotSizes.size();
          slotSizes.push_back(need);
          slotFree.push_back(false);
        }
        slotSizes[best].grow(need);
        slotFree[best] = false;
        slotOf[result] = best;
        slots.push_back(best);
      }
      kernel.setSlots(slots);
      // Free the slots whose last reader was this kernel (results never alias inputs).
      for (Value input : kernel.getInputs())
        if (lastUse.lookup(input) == index && slotOf.count(input))
          slotFree[slotOf[input]] = true;
    }
    SmallVector<int64_t> perSample, perToken;
    for (SlotSize size : slotSizes) {
      perSample.push_back(size.perSample);
      perToken.push_back(size.perToken);
    }
    BlockcDialect::SlotSizesAttrHelper(&getContext())
        .setAttr(func, DenseI64ArrayAttr::get(&getContext(), perSample));
    if (maxTokensAttr)
      BlockcDialect::SlotTokenSizesAttrHelper(&getContext())
          .setAttr(func, DenseI64ArrayAttr::get(&getContext(), perToken));
  }
};
} // namespace
