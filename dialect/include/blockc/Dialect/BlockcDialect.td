//===- BlockcDialect.td - the blockc dialect ---------------*- tablegen -*-===//
#ifndef BLOCKC_DIALECT_TD
#define BLOCKC_DIALECT_TD

include "mlir/IR/OpBase.td"

def Blockc_Dialect : Dialect {
  let name = "blockc";
  let cppNamespace = "::blockc";
  let summary = "Transformer encoder blocks: norms, linears, attention and fused kernels";
  let description = [{
    Activations are `tensor<BxNxCxf32>` with a dynamic batch B; weights are static tensors
    produced by `blockc.weight`. Linear weights are laid out [in, out] (the transpose of
    PyTorch's [out, in]): MLIRGen inserts `blockc.transpose` on the loaded weight, and that
    transpose runs once at weight-binding time.
  }];
  // What the compiler leaves on a block's function for the lowering. The function is a
  // func.func, an op this dialect does not own, so these are discardable attributes named
  // `blockc.<name>`, declared here for typed helpers (BlockcDialect::SlotSizesAttrHelper,
  // ...) and checked by verifyOperationAttribute. (A kernel's own slots and constants are
  // inherent attributes of blockc.kernel.)
  // - slot_sizes (blockc-plan-buffers): float32 elements per batch sample of each arena slot;
  // - ignored_weights (MLIRGen): the state-dict names no kernel reads (BatchNorm's
  //   num_batches_tracked), which a weight file may hold.
  let discardableAttrs = (ins
    "::mlir::DenseI64ArrayAttr":$slot_sizes,
    "::mlir::ArrayAttr":$ignored_weights
  );
  let hasOperationAttrVerify = 1;
}

class Blockc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Blockc_Dialect, mnemonic, traits>;

#endif // BLOCKC_DIALECT_TD
