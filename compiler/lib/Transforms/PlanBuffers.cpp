//===- PlanBuffers.cpp - reuse arena slots for intermediate activations ---===//
#include "blockc/Transforms/Passes.h"

namespace blockc {
#define GEN_PASS_DEF_PLANBUFFERS
#include "blockc/Transforms/Passes.h.inc"
} // namespace blockc

using namespace mlir;
using namespace blockc;

namespace {

/// float32 elements per batch sample of an activation [B, ...].
int64_t elementsPerSample(Value value) {
  int64_t elements = 1;
  for (int64_t d : cast<RankedTensorType>(value.getType()).getShape().drop_front())
    elements *= d;
  return elements;
}

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
    SmallVector<int64_t> slotSizes;
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
        int64_t need = elementsPerSample(result), best = -1;
        for (size_t s = 0; s < slotSizes.size(); ++s) {
          if (!slotFree[s])
            continue;
          bool fits = slotSizes[s] >= need;
          bool bestFits = best >= 0 && slotSizes[best] >= need;
          if (best < 0 || (fits && (!bestFits || slotSizes[s] < slotSizes[best])) ||
              (!fits && !bestFits && slotSizes[s] > slotSizes[best]))
            best = s;
        }
        if (best < 0) {
          best = slotSizes.size();
          slotSizes.push_back(need);
          slotFree.push_back(false);
        }
        slotSizes[best] = std::max(slotSizes[best], need);
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
    BlockcDialect::SlotSizesAttrHelper(&getContext())
        .setAttr(func, DenseI64ArrayAttr::get(&getContext(), slotSizes));
  }
};
} // namespace
