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
  //   num_batches_tracked), which a weight file may hold;
  // - ignored_prefixes (MLIRGen): a model's `ignore NAME`: tensors named NAME or under
  //   `NAME.` that a weight file may hold and no kernel reads (Hugging Face's pooler);
  // - max_tokens (MLIRGen): where the tokens are chosen at run time (the token dimension
  //   of the tensors is dynamic), the largest count a run takes (an i64 IntegerAttr);
  // - slot_token_sizes (blockc-plan-buffers): with run-time tokens, float32 elements per
  //   token of each slot, beside slot_sizes' per sample.
  let discardableAttrs = (ins
    "::mlir::DenseI64ArrayAttr":$slot_sizes,
    "::mlir::DenseI64ArrayAttr":$slot_token_sizes,
    "::mlir::ArrayAttr":$ignored_weights,
    "::mlir::ArrayAttr":$ignored_prefixes,
    "::mlir::IntegerAttr":$max_tokens
  );
  let hasOperationAttrVerify = 1;
  // Attributes of a function's arguments and results, MLIRGen's for the lowering:
  // - name: a model's input or output name (a StringAttr);
  // - bound: an integer input's exclusive upper bound (an i64 IntegerAttr): the rows of the
  //   smallest embedding table its ids index, 2 for a mask. The runtime refuses values
  //   outside [0, bound) naming the input, the sample and the position;
  // - zero_default: an integer input a caller may omit (a UnitAttr): the runtime then
  //   passes zeros.
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    static constexpr llvm::StringLiteral kNameAttrName = "blockc.name";
    static constexpr llvm::StringLiteral kBoundAttrName = "blockc.bound";
    static constexpr llvm::StringLiteral kZeroDefaultAttrName = "blockc.zero_default";
  }];
}

class Blockc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Blockc_Dialect, mnemonic, traits>;

#endif // BLOCKC_DIALECT_TD
