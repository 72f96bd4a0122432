//===- BlockcOps.td - blockc operations --------------------*- tablegen -*-===//
#ifndef BLOCKC_OPS_TD
#define BLOCKC_OPS_TD

include "blockc/Dialect/BlockcDialect.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/RegionKindInterface.td"

def Blockc_F32Tensor : RankedTensorOf<[F32]>;
// Integers per token [B, N]: token ids, or an attention mask (1 = token, 0 = padding).
def Blockc_IdsTensor : RankedTensorOf<[I64, I32]>;
// A linear's weight in a narrower format, made at bind time: rounded to bf16 (--precision
// bf16), or quantized to int8 with its per-output scales and column sums (--precision int8).
def Blockc_BF16Tensor : RankedTensorOf<[BF16]>;
def Blockc_I8Tensor : RankedTensorOf<[I8]>;
def Blockc_I32Tensor : RankedTensorOf<[I32]>;
def Blockc_LinearWeight : AnyTypeOf<[Blockc_F32Tensor, Blockc_BF16Tensor, Blockc_I8Tensor]>;
// What a kernel may take or give: activations, ids, and bind-time constants of any format.
def Blockc_AnyTensor : AnyTypeOf<[Blockc_F32Tensor, Blockc_IdsTensor, Blockc_BF16Tensor,
                                  Blockc_I8Tensor]>;
def Blockc_KernelValue : AnyTypeOf<[Blockc_F32Tensor, Blockc_BF16Tensor, Blockc_I8Tensor,
                                    Blockc_I32Tensor]>;

//===----------------------------------------------------------------------===//
// Weights and their bind-time transformations
//===----------------------------------------------------------------------===//

def Blockc_WeightOp : Blockc_Op<"weight", [Pure]> {
  let summary = "a tensor of the weight file, by its state-dict name";
  let arguments = (ins StrAttr:$name);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Blockc_TransposeOp : Blockc_Op<"transpose", [Pure]> {
  let summary = "PyTorch [out, in] weight to [in, out]; a [out, C, K, K] conv weight flattened to [C K K, out]";
  let arguments = (ins Blockc_F32Tensor:$input);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_ConcatOp : Blockc_Op<"concat", [Pure]> {
  let summary = "weights joined along dimension 0 at bind time (query, key and value into one)";
  let arguments = (ins Variadic<Blockc_F32Tensor>:$inputs);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_ToBF16Op : Blockc_Op<"to_bf16", [Pure]> {
  let summary = "a weight rounded to bfloat16 (to nearest, ties to even) at bind time";
  let description = [{
    What `--precision bf16` does to a linear's weight, after every other bind-time
    transformation (BatchNorm folding, joining): the matmul reads the rounded weight and
    its input rounded the same way, and accumulates in float32.
  }];
  let arguments = (ins Blockc_F32Tensor:$input);
  let results = (outs Blockc_BF16Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_QuantizeOp : Blockc_Op<"quantize", [Pure]> {
  let summary = "a weight [in, out] quantized to int8 per output channel at bind time";
  let description = [{
    What `--precision int8` does to a linear's weight, after every other bind-time
    transformation: symmetric scales per output channel, scale[o] = max_i |W[i, o]| / 127,
    values q[i, o] = round(W[i, o] / scale[o]) in [-127, 127] (ties to even), and the sums
    of q over each `group` of consecutive inputs, sums[g, o] = sum_{i in group g} q[i, o]:
    the linear quantizes its input in groups of that many inputs, each with its own zero
    point, which these sums turn into a correction of the group's dot product.
  }];
  let arguments = (ins Blockc_F32Tensor:$input, I64Attr:$group);
  let results = (outs Blockc_I8Tensor:$values, Blockc_F32Tensor:$scales, Blockc_I32Tensor:$sums);
  let assemblyFormat = [{
    $input `in` `groups` `of` $group attr-dict `:` type($input) `->` type($values) `,`
    type($scales) `,` type($sums)
  }];
  let hasVerifier = 1;
}

class Blockc_FoldBatchNormOp<string mnemonic, string where> : Blockc_Op<mnemonic, [Pure,
    AllTypesMatch<["gamma", "beta", "running_mean", "running_var"]>]> {
  let summary = "fold an inference BatchNorm into the " # where # " of a linear";
  let description = [{
    With s = gamma / sqrt(running_var + eps) and t = beta - running_mean * s, the BatchNorm
    is the per-channel affine map y = x * s + t, which a linear absorbs. Computed once, when
    weights are bound (the weights are not known at compile time).
  }];
  let arguments = (ins Blockc_F32Tensor:$weight, Blockc_F32Tensor:$gamma, Blockc_F32Tensor:$beta,
                       Blockc_F32Tensor:$running_mean, Blockc_F32Tensor:$running_var,
                       Optional<Blockc_F32Tensor>:$bias, F64Attr:$epsilon);
  let results = (outs Blockc_F32Tensor:$folded_weight, Blockc_F32Tensor:$folded_bias);
  let assemblyFormat = [{
    $weight `,` $gamma `,` $beta `,` $running_mean `,` $running_var (`,` $bias^)? attr-dict
    `:` type($weight) `,` type($gamma) (`,` type($bias)^)? `->` type($folded_weight) `,` type($folded_bias)
  }];
  let hasVerifier = 1;
}

def Blockc_FoldBatchNormInputOp : Blockc_FoldBatchNormOp<"fold_bn_input", "input">;
def Blockc_FoldBatchNormOutputOp : Blockc_FoldBatchNormOp<"fold_bn_output", "output">;

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

def Blockc_LayerNormOp : Blockc_Op<"layer_norm", [Pure, AllTypesMatch<["input", "result"]>,
    AllTypesMatch<["gamma", "beta"]>]> {
  let summary = "LayerNorm over the last dimension";
  let arguments = (ins Blockc_F32Tensor:$input, Blockc_F32Tensor:$gamma, Blockc_F32Tensor:$beta, F64Attr:$epsilon);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input `,` $gamma `,` $beta attr-dict `:` type($input) `,` type($gamma)";
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "mlir::Value":$input, "mlir::Value":$gamma,
      "mlir::Value":$beta, "double":$epsilon), [{
    build($_builder, $_state, input.getType(), input, gamma, beta, $_builder.getF64FloatAttr(epsilon));
  }]>];
}

def Blockc_RMSNormOp : Blockc_Op<"rms_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the last dimension";
  let arguments = (ins Blockc_F32Tensor:$input, Blockc_F32Tensor:$gamma, F64Attr:$epsilon);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input `,` $gamma attr-dict `:` type($input) `,` type($gamma)";
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "mlir::Value":$input, "mlir::Value":$gamma, "double":$epsilon), [{
    build($_builder, $_state, input.getType(), input, gamma, $_builder.getF64FloatAttr(epsilon));
  }]>];
}

def Blockc_BatchNormOp : Blockc_Op<"batch_norm", [Pure, AllTypesMatch<["input", "result"]>,
    AllTypesMatch<["gamma", "beta", "running_mean", "running_var"]>]> {
  let summary = "inference BatchNorm over the last (channel) dimension, running statistics";
  let arguments = (ins Blockc_F32Tensor:$input, Blockc_F32Tensor:$gamma, Blockc_F32Tensor:$beta,
                       Blockc_F32Tensor:$running_mean, Blockc_F32Tensor:$running_var, F64Attr:$epsilon);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta `,` $running_mean `,` $running_var attr-dict
    `:` type($input) `,` type($gamma)
  }];
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "mlir::Value":$input, "mlir::Value":$gamma, "mlir::Value":$beta,
      "mlir::Value":$mean, "mlir::Value":$var, "double":$epsilon), [{
    build($_builder, $_state, input.getType(), input, gamma, beta, mean, var,
          $_builder.getF64FloatAttr(epsilon));
  }]>];
}

//===----------------------------------------------------------------------===//
// Linear algebra and attention
//===----------------------------------------------------------------------===//

// The number format a spec asks of a linear (`precision = int8` on its layer, block or
// model): carried from MLIRGen to blockc-reduce-precision, which converts the weight and
// drops it (then the weight's element type says the format).
def Blockc_Precision : I32EnumAttr<"Precision", "the number format of a linear's products", [
    I32EnumAttrCase<"FP32", 0, "fp32">,
    I32EnumAttrCase<"BF16", 1, "bf16">,
    I32EnumAttrCase<"INT8", 2, "int8">]> {
  let cppNamespace = "::blockc";
}

def Blockc_LinearOp : Blockc_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "y = x W + b with W laid out [in, out]";
  let description = [{
    A bf16 weight (`blockc.to_bf16`) makes it a bf16 matmul: x is rounded to bf16 too, the
    products are accumulated in float32, and y is float32. An int8 weight (`blockc.quantize`)
    comes with its per-output scales and its sums per group of inputs ([in / G, out]): each
    group of G inputs of a row of x is quantized to 8 bits over its own range
    (x ~ s (q - z), q in [0, 255]), each group's products are summed in int32 and corrected
    by z times the group's weight sum, and y = (sum over groups of s times that) *
    scales[o] + b.

    `in bf16` / `in int8` (the `precision` attribute): the format the spec asks for this
    linear, before blockc-reduce-precision converts its float32 weight.
  }];
  let arguments = (ins Blockc_F32Tensor:$input, Blockc_LinearWeight:$weight,
                       Optional<Blockc_F32Tensor>:$bias,
                       Optional<Blockc_F32Tensor>:$weight_scales,
                       Optional<Blockc_I32Tensor>:$weight_sums,
                       OptionalAttr<Blockc_Precision>:$precision);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? (`scales` $weight_scales^ `sums` $weight_sums)?
    (`in` $precision^)? attr-dict
    `:` type($input) `,` type($weight) (`,` type($bias)^)?
    (`scales` type($weight_scales)^ `sums` type($weight_sums))? `->` type($result)
  }];
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "mlir::Type":$result, "mlir::Value":$input,
      "mlir::Value":$weight, "mlir::Value":$bias), [{
    build($_builder, $_state, result, input, weight, bias, mlir::Value(), mlir::Value(),
          PrecisionAttr());
  }]>];
}

def Blockc_SliceOp : Blockc_Op<"slice", [Pure]> {
  let summary = "a contiguous range of the last dimension (a view: q, k or v of a packed qkv)";
  let arguments = (ins Blockc_F32Tensor:$input, I64Attr:$offset, I64Attr:$size);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input `[` $offset `,` $size `]` attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_MHAOp : Blockc_Op<"mha", [Pure, AllTypesMatch<["query", "key", "value", "result"]>]> {
  let summary = "multi-head scaled dot-product attention core";
  let description = [{
    q, k, v are [B, N, C] with C = heads * head_dim, head h owning channels
    [h * head_dim, (h + 1) * head_dim). Per head: softmax(q k^T / sqrt(head_dim)) v.
    With a key mask [B, N] (1 = token, 0 = padding), a padded key's score is the lowest
    float before the softmax, as Hugging Face's BERT adds it: padded keys get no weight, and
    a query of a sample without any token attends to all keys alike.

    `in bf16` (the `precision` attribute): q, k, v and the softmax's weights are rounded to
    bf16 and their products summed in float32; the scores' scale, the softmax and the
    output stay float32. Set from the spec's format (MLIRGen) and settled by
    blockc-reduce-precision, which makes an int8 request bf16 here (the scores and weights
    come from no quantized weight) and drops fp32.
  }];
  let arguments = (ins Blockc_F32Tensor:$query, Blockc_F32Tensor:$key, Blockc_F32Tensor:$value,
                       Optional<Blockc_IdsTensor>:$mask, I64Attr:$heads,
                       OptionalAttr<Blockc_Precision>:$precision);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^ `:` type($mask))? (`in` $precision^)? attr-dict
    `:` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Ops that move tokens: patches of an image, learned tokens, pooling
//===----------------------------------------------------------------------===//

def Blockc_PatchesOp : Blockc_Op<"patches", [Pure]> {
  let summary = "the non-overlapping P x P patches of an image, as tokens (im2col)";
  let description = [{
    image [B, C, H, W] to [B, (H/P) (W/P), C P P]: token py (W/P) + px holds the patch at
    (py P, px P), feature c P P + i P + j its pixel (c, py P + i, px P + j), the order of a
    PyTorch Conv2d weight [D, C, P, P] flattened. A linear on it is the conv2d with
    kernel = stride = P; the lowering folds it into that matmul's input, never
    materializing it.
  }];
  let arguments = (ins Blockc_F32Tensor:$image, I64Attr:$patch);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$image `by` $patch attr-dict `:` type($image) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_ConcatTokensOp : Blockc_Op<"concat_tokens", [Pure]> {
  let summary = "learned tokens [1, T, C] (class, distillation, register tokens) put before "
                "the tokens [B, N, C] of every sample";
  let arguments = (ins Variadic<Blockc_F32Tensor>:$inputs);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_TakeTokenOp : Blockc_Op<"take_token", [Pure]> {
  let summary = "one token of every sample: [B, N, C] to [B, C] (class-token pooling)";
  let arguments = (ins Blockc_F32Tensor:$input, I64Attr:$index);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input `[` $index `]` attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_MeanTokensOp : Blockc_Op<"mean_tokens", [Pure]> {
  let summary = "the mean of the tokens from `from` on: [B, N, C] to [B, C] (average pooling)";
  let description = [{
    With a mask [B, N] (1 = token, 0 = padding), the mean of the tokens the mask keeps
    (sentence-transformers' mean pooling): a sample without any token gives zeros.
  }];
  let arguments = (ins Blockc_F32Tensor:$input, Optional<Blockc_IdsTensor>:$mask, I64Attr:$from);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = [{
    $input `from` $from (`mask` $mask^ `:` type($mask))? attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Token ids
//===----------------------------------------------------------------------===//

def Blockc_EmbeddingOp : Blockc_Op<"embedding", [Pure]> {
  let summary = "rows of a table by token id: table [V, C], ids [B, N] to [B, N, C]";
  let description = [{
    Token n of sample b is row ids[b, n] of the table (PyTorch `Embedding`). The runtime
    refuses ids outside [0, V) before any kernel runs (the function argument's
    `blockc.bound`); the kernel clamps them as well, so no id reads outside the table.
  }];
  let arguments = (ins Blockc_F32Tensor:$table, Blockc_IdsTensor:$ids);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def Blockc_PositionsOp : Blockc_Op<"positions", [Pure, SameOperandsAndResultType]> {
  let summary = "each token's position: [B, N] ids to [B, N] with token n holding n";
  let arguments = (ins Blockc_IdsTensor:$input);
  let results = (outs Blockc_IdsTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Blockc_ActivationOp<string mnemonic, string formula>
    : Blockc_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = mnemonic # " activation: " # formula;
  let arguments = (ins Blockc_F32Tensor:$input);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Blockc_GeluOp : Blockc_ActivationOp<"gelu", "0.5 x (1 + erf(x / sqrt 2))">;
def Blockc_GeluTanhOp : Blockc_ActivationOp<"gelu_tanh",
    "0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))">;
def Blockc_ReluOp : Blockc_ActivationOp<"relu", "max(x, 0)">;
def Blockc_SiluOp : Blockc_ActivationOp<"silu", "x sigmoid(x)">;

def Blockc_AddOp : Blockc_Op<"add", [Pure, AllTypesMatch<["lhs", "result"]>]> {
  let summary = "elementwise sum (residual connection); rhs is the same shape or a [1, N, C] "
                "table added to every sample (a learned position embedding)";
  let arguments = (ins Blockc_F32Tensor:$lhs, Blockc_F32Tensor:$rhs);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasVerifier = 1;
}

def Blockc_MulOp : Blockc_Op<"mul", [Pure, AllTypesMatch<["lhs", "result"]>]> {
  let summary = "elementwise product; rhs is the same shape or a [C] per-channel scale (LayerScale)";
  let arguments = (ins Blockc_F32Tensor:$lhs, Blockc_F32Tensor:$rhs);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasVerifier = 1;
}

def Blockc_L2NormalizeOp : Blockc_Op<"l2_normalize", [Pure, SameOperandsAndResultType]> {
  let summary = "each row divided by its Euclidean norm, at least 1e-12 (PyTorch F.normalize)";
  let arguments = (ins Blockc_F32Tensor:$input);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Blockc_ScaleOp : Blockc_Op<"scale", [Pure, SameOperandsAndResultType]> {
  let summary = "multiply by a constant (DeepNorm's residual alpha)";
  let arguments = (ins Blockc_F32Tensor:$input, F64Attr:$factor);
  let results = (outs Blockc_F32Tensor:$result);
  let assemblyFormat = "$input `by` $factor attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Kernel groups
//===----------------------------------------------------------------------===//

// A kernel's kind is an integer enum attribute, like arith.cmpi's predicate: the kernel
// prints it as a bare keyword (`blockc.kernel matmul "k0_matmul"(...)`) and still parses
// the quoted form that the kind had as a string attribute.
def Blockc_KernelKind : I32EnumAttr<"KernelKind", "the algorithm and schedule family of a kernel", [
    I32EnumAttrCase<"Matmul", 0, "matmul">,
    I32EnumAttrCase<"Attention", 1, "attention">,
    I32EnumAttrCase<"Norm", 2, "norm">,
    I32EnumAttrCase<"Elementwise", 3, "elementwise">,
    I32EnumAttrCase<"Prepare", 4, "prepare">,
    I32EnumAttrCase<"Tokens", 5, "tokens">]> {
  let cppNamespace = "::blockc";
}

def Blockc_KernelOp : Blockc_Op<"kernel", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a fused kernel group, lowered to one Halide pipeline";
  let description = [{
    The region's block arguments are the kernel's inputs (in operand order), `blockc.yield`
    gives its outputs. `kind` selects the algorithm and schedule family: `matmul` (a linear
    with its prologue norm or image patches and epilogue elementwise ops), `attention`,
    `norm` (a LayerNorm or RMSNorm with its residual add and epilogue), `elementwise`,
    `tokens` (concat_tokens, take_token or mean_tokens with an elementwise epilogue), or
    `prepare` (weight transformations run once at weight-binding time).

    Where each result lives, as blockc-plan-buffers decides it for the lowering:
    - `slots` (run kernels): the activation arena slot of each result, -1 for the block's
      output (the caller's buffer);
    - `constants` (prepare kernels): the id of the bind-time constant of each result.
    They are inherent attributes, not discardable ones: they mean something only on a
    kernel, so the kernel owns them (typed accessors, checked by its verifier: slots only
    on run kernels and below the function's slot count, constants only on prepare kernels,
    one per result).
  }];
  let arguments = (ins Variadic<Blockc_AnyTensor>:$inputs, Blockc_KernelKind:$kind,
                       StrAttr:$sym_name, OptionalAttr<DenseI64ArrayAttr>:$slots,
                       OptionalAttr<DenseI64ArrayAttr>:$constants);
  let results = (outs Variadic<Blockc_KernelValue>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind $sym_name `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "mlir::TypeRange":$resultTypes, "mlir::ValueRange":$inputs,
      "KernelKind":$kind, "llvm::StringRef":$name)>];
}

def Blockc_YieldOp : Blockc_Op<"yield", [Pure, Terminator, HasParent<"KernelOp">]> {
  let summary = "the outputs of a kernel group";
  let arguments = (ins Variadic<Blockc_KernelValue>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ }]>];
}

#endif // BLOCKC_OPS_TD
