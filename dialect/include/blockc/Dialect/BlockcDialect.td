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
}

class Blockc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Blockc_Dialect, mnemonic, traits>;

#endif // BLOCKC_DIALECT_TD
