//===- Passes.td - blockc graph passes ---------------------*- tablegen -*-===//
#ifndef BLOCKC_TRANSFORMS_PASSES_TD
#define BLOCKC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def VerifyBlock : Pass<"blockc-verify", "mlir::func::FuncOp"> {
  let summary = "Check block-level invariants the op verifiers cannot see";
  let description = [{
    Inputs and outputs [B, ...] with only the batch dynamic, at least one of each; every
    output computed (no input, no value twice); every weight name bound to one shape; no
    weight left unused.
  }];
}

def SinkNorms : Pass<"blockc-sink-norms", "mlir::func::FuncOp"> {
  let summary = "Move norms read only by poolings below them";
  let description = [{
    A norm whose every user is a pooling is applied after it instead: a per-token norm
    (LayerNorm, RMSNorm) commutes with taking one token, a BatchNorm (per-channel affine)
    also with averaging tokens. The norm then maps one row per sample, not all tokens, and
    fuses into the head's matmul (a prologue) or, a BatchNorm, folds into the head.
  }];
}

def FoldBatchNorm : Pass<"blockc-fold-batchnorm", "mlir::func::FuncOp"> {
  let summary = "Fold inference BatchNorms into adjacent linears";
  let description = [{
    A BatchNorm whose every user is a linear (norm before the FFN or the qkv projection) is
    folded into those linears' weights and biases; one that is the only user of a linear's
    result (BatchNorm between the FFN linears) is folded into that linear (after
    blockc-sink-norms, ViTBN's final norm feeds the head). The folding runs
    at weight-binding time as `prepare` kernels. Other BatchNorms stay (they are per-channel
    affine maps the fusion pass puts into a neighbouring kernel's epilogue).
  }];
  let dependentDialects = ["blockc::BlockcDialect"];
}

def MergeLinears : Pass<"blockc-merge-linears", "mlir::func::FuncOp"> {
  let summary = "Join linears that read the same input into one matmul";
  let description = [{
    Linears of one input read only by attentions (BERT's query, key and value), each with a
    PyTorch [out, in] weight and all with a bias or none, become one linear over their
    weights and biases concatenated at weight-binding time (`concat`, in `prepare`
    kernels), whose result the attentions read as slices, as they read a packed qkv.
    Skipped where a result is read before the last of the linears.
  }];
  let dependentDialects = ["blockc::BlockcDialect"];
}

def ReducePrecision : Pass<"blockc-reduce-precision", "mlir::func::FuncOp"> {
  let summary = "Convert linears' weights and attention cores to a narrower number format";
  let description = [{
    Each linear and attention core is converted to the format its `precision` attribute
    asks for (the spec's `precision = ...`; float32 without one), or, with the option
    `precision=fp32|bf16|int8`, every one to that format (`blockc compile --precision`
    overrides the spec). A linear's attribute is dropped. bf16: the weight, after BatchNorm
    folding and joining, is rounded to bf16 (`to_bf16`, computed in the `prepare` kernel
    that produces the weight): the matmul then reads its input rounded to bf16 too and
    accumulates in float32. int8: the weight is quantized per output channel (`quantize`:
    int8 values, scales, group sums) and the linear takes the scales and sums: the matmul
    quantizes each row's input per group and accumulates in int32. An attention core asked
    for bf16 or int8 is left `in bf16` (its products in bf16, summed in float32), one asked
    for float32 without the attribute. Norms, softmax, the residual stream and the outputs
    stay float32.
  }];
  let options = [Option<"precision", "precision", "std::string", "\"\"",
                        "every linear's and attention core's number format (fp32, bf16 or "
                        "int8), instead of what each one's `precision` attribute asks for">];
  let dependentDialects = ["blockc::BlockcDialect"];
}

def FuseKernels : Pass<"blockc-fuse-kernels", "mlir::func::FuncOp"> {
  let summary = "Group ops into kernels (blockc.kernel), each lowered to one Halide pipeline";
  let description = [{
    matmul: a linear, the norm that feeds only it (prologue), and the single-use chain of
    elementwise ops after it (bias is part of the linear; activation, residual add,
    LayerScale, scale, unfolded BatchNorm). attention: mha with the slices that feed it, so
    the score matrix stays inside the kernel. norm: a LayerNorm/RMSNorm with the residual add
    that feeds only it (post-norm "Add & Norm") and its elementwise epilogue. Weight-only
    computations become `prepare` kernels; what is left becomes `elementwise` kernels.
  }];
  let dependentDialects = ["blockc::BlockcDialect"];
}

def PlanBuffers : Pass<"blockc-plan-buffers", "mlir::func::FuncOp"> {
  let summary = "Assign intermediate activations to reusable arena slots";
  let description = [{
    Walks the run-time kernels in order and gives every result a slot of the activation
    arena, reusing a slot once the last reader of its previous tensor has run (best fit by
    size). The block's result is written straight to the caller's output (slot -1). Records
    each kernel's `slots` and the function's `blockc.slot_sizes` (float32 elements per batch
    sample); `prepare` kernels get `constants` ids instead.
  }];
}

#endif // BLOCKC_TRANSFORMS_PASSES_TD
