// Every op verifier of dialect/lib/BlockcOps.cpp, one rejected case per split, plus a few
// well-formed ops that must be accepted (the splits without an expected-error).
// RUN: %blockc-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Well-formed ops are accepted
//===----------------------------------------------------------------------===//

func.func @valid(%x: tensor<?x4x8xf32>, %c: tensor<8xf32>, %w: tensor<8x24xf32>,
                 %b: tensor<24xf32>) -> tensor<?x4x8xf32> {
  %n = blockc.layer_norm %x, %c, %c {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %r = blockc.rms_norm %n, %c {epsilon = 0.0 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %bn = blockc.batch_norm %r, %c, %c, %c, %c {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %qkv = blockc.linear %bn, %w, %b : tensor<?x4x8xf32>, tensor<8x24xf32>, tensor<24xf32> -> tensor<?x4x24xf32>
  %q = blockc.slice %qkv[0, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %k = blockc.slice %qkv[8, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %v = blockc.slice %qkv[16, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %a = blockc.mha %q, %k, %v {heads = 8 : i64} : tensor<?x4x8xf32>
  %ls = blockc.mul %a, %c : tensor<?x4x8xf32>, tensor<8xf32>
  %sq = blockc.mul %ls, %ls : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  return %sq : tensor<?x4x8xf32>
}

// -----

func.func @valid_weights_and_folds() -> (tensor<16x8xf32>, tensor<8xf32>, tensor<16x8xf32>, tensor<8xf32>) {
  %w = blockc.weight "fc.weight" : tensor<8x16xf32>
  %wt = blockc.transpose %w : tensor<8x16xf32> -> tensor<16x8xf32>
  %in = blockc.weight "bn_in.weight" : tensor<16xf32>
  %out = blockc.weight "bn_out.weight" : tensor<8xf32>
  %fw, %fb = blockc.fold_bn_input %wt, %in, %in, %in, %in {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<16xf32> -> tensor<16x8xf32>, tensor<8xf32>
  %gw, %gb = blockc.fold_bn_output %wt, %out, %out, %out, %out, %out {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<16x8xf32>, tensor<8xf32>
  return %fw, %fb, %gw, %gb : tensor<16x8xf32>, tensor<8xf32>, tensor<16x8xf32>, tensor<8xf32>
}

//===----------------------------------------------------------------------===//
// blockc.weight
//===----------------------------------------------------------------------===//

// -----

func.func @weight_empty_name() -> tensor<8xf32> {
  // expected-error @+1 {{'blockc.weight' op needs a non-empty state-dict name}}
  %w = blockc.weight "" : tensor<8xf32>
  return %w : tensor<8xf32>
}

// -----

func.func @weight_dynamic_shape() -> tensor<?xf32> {
  // expected-error @+1 {{'blockc.weight' op weights have static shapes}}
  %w = blockc.weight "w" : tensor<?xf32>
  return %w : tensor<?xf32>
}

//===----------------------------------------------------------------------===//
// blockc.transpose
//===----------------------------------------------------------------------===//

// -----

func.func @transpose_not_transposed(%w: tensor<24x8xf32>) -> tensor<24x8xf32> {
  // expected-error @+1 {{'blockc.transpose' op expects an [out, in...] input and the [in, out] shape of its flattened transpose, got 'tensor<24x8xf32>' -> 'tensor<24x8xf32>'}}
  %t = blockc.transpose %w : tensor<24x8xf32> -> tensor<24x8xf32>
  return %t : tensor<24x8xf32>
}

// -----

func.func @transpose_rank3(%w: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  // expected-error @+1 {{'blockc.transpose' op expects an [out, in...] input and the [in, out] shape of its flattened transpose}}
  %t = blockc.transpose %w : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
  return %t : tensor<4x3x2xf32>
}

//===----------------------------------------------------------------------===//
// blockc.concat
//===----------------------------------------------------------------------===//

// -----

func.func @concat_one_input(%w: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'blockc.concat' op joins at least two weights, got 1}}
  %j = blockc.concat %w : tensor<4x8xf32> -> tensor<4x8xf32>
  return %j : tensor<4x8xf32>
}

// -----

func.func @concat_other_columns(%a: tensor<4x8xf32>, %b: tensor<4x6xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{'blockc.concat' op expects inputs of the result's shape but for dimension 0, got 'tensor<4x6xf32>' for 'tensor<8x8xf32>'}}
  %j = blockc.concat %a, %b : tensor<4x8xf32>, tensor<4x6xf32> -> tensor<8x8xf32>
  return %j : tensor<8x8xf32>
}

// -----

func.func @concat_wrong_rows(%a: tensor<4xf32>, %b: tensor<6xf32>) -> tensor<12xf32> {
  // expected-error @+1 {{'blockc.concat' op result has 12 rows, its inputs 10}}
  %j = blockc.concat %a, %b : tensor<4xf32>, tensor<6xf32> -> tensor<12xf32>
  return %j : tensor<12xf32>
}

//===----------------------------------------------------------------------===//
// Norms: per-channel parameters, activation shape, epsilon
//===----------------------------------------------------------------------===//

// -----

func.func @layer_norm_bad_gamma(%x: tensor<?x4x8xf32>, %g: tensor<4xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.layer_norm' op expects per-channel parameters of shape [8], got 'tensor<4xf32>'}}
  %0 = blockc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<4xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @layer_norm_rank2_gamma(%x: tensor<?x4x8xf32>, %g: tensor<1x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.layer_norm' op expects per-channel parameters of shape [8], got 'tensor<1x8xf32>'}}
  %0 = blockc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<1x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @layer_norm_rank2_input(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'blockc.layer_norm' op expects a [B, N, C] activation with static C, got 'tensor<4x8xf32>'}}
  %0 = blockc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f64} : tensor<4x8xf32>, tensor<8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @layer_norm_dynamic_channels(%x: tensor<?x4x?xf32>, %g: tensor<8xf32>) -> tensor<?x4x?xf32> {
  // expected-error @+1 {{'blockc.layer_norm' op expects a [B, N, C] activation with static C, got 'tensor<?x4x?xf32>'}}
  %0 = blockc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f64} : tensor<?x4x?xf32>, tensor<8xf32>
  return %0 : tensor<?x4x?xf32>
}

// -----

// Run-time tokens (dynamic N) are activations too; indexing a token needs a static N.
func.func @take_token_of_run_time_tokens(%x: tensor<?x?x8xf32>) -> tensor<?x8xf32> {
  %0 = blockc.take_token %x [0] : tensor<?x?x8xf32> -> tensor<?x8xf32>
  // expected-error @+1 {{'blockc.take_token' op token 1 may be beyond the run-time tokens (as few as 1)}}
  %1 = blockc.take_token %x [1] : tensor<?x?x8xf32> -> tensor<?x8xf32>
  return %1 : tensor<?x8xf32>
}

// -----

func.func @layer_norm_negative_epsilon(%x: tensor<?x4x8xf32>, %g: tensor<8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.layer_norm' op expects a non-negative epsilon}}
  %0 = blockc.layer_norm %x, %g, %g {epsilon = -1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @rms_norm_bad_gamma(%x: tensor<?x4x8xf32>, %g: tensor<16xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.rms_norm' op expects per-channel parameters of shape [8], got 'tensor<16xf32>'}}
  %0 = blockc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<16xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @batch_norm_bad_params(%x: tensor<?x4x8xf32>, %p: tensor<4xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.batch_norm' op expects per-channel parameters of shape [8], got 'tensor<4xf32>'}}
  %0 = blockc.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<4xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

// gamma, beta, running_mean and running_var must have one type (AllTypesMatch).
func.func @batch_norm_mismatched_params(%x: tensor<?x4x8xf32>, %p: tensor<8xf32>, %q: tensor<4xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.batch_norm' op failed to verify that all of {gamma, beta, running_mean, running_var} have same type}}
  %0 = "blockc.batch_norm"(%x, %p, %p, %p, %q) {epsilon = 1.0e-5 : f64} : (tensor<?x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4xf32>) -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @batch_norm_negative_epsilon(%x: tensor<?x4x8xf32>, %p: tensor<8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.batch_norm' op expects a non-negative epsilon}}
  %0 = blockc.batch_norm %x, %p, %p, %p, %p {epsilon = -1.0 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  return %0 : tensor<?x4x8xf32>
}

//===----------------------------------------------------------------------===//
// blockc.linear
//===----------------------------------------------------------------------===//

// -----

func.func @linear_in_feature_mismatch(%x: tensor<?x4x8xf32>, %w: tensor<16x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.linear' op weight has 16 input features but the input has 8}}
  %0 = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<16x8xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @linear_wrong_result_features(%x: tensor<?x4x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.linear' op result type 'tensor<?x4x8xf32>' does not match input 'tensor<?x4x8xf32>' times weight 'tensor<8x16xf32>'}}
  %0 = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @linear_wrong_result_tokens(%x: tensor<?x4x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x5x16xf32> {
  // expected-error @+1 {{'blockc.linear' op result type 'tensor<?x5x16xf32>' does not match input}}
  %0 = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x5x16xf32>
  return %0 : tensor<?x5x16xf32>
}

// -----

func.func @linear_rank2_result(%x: tensor<?x4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'blockc.linear' op result type 'tensor<4x16xf32>' does not match input}}
  %0 = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @linear_weight_rank(%x: tensor<?x4x8xf32>, %w: tensor<8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.linear' op expects an [in, out] weight, got 'tensor<8xf32>'}}
  %0 = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<8xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @linear_bad_bias(%x: tensor<?x4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{'blockc.linear' op expects per-channel parameters of shape [16], got 'tensor<8xf32>'}}
  %0 = blockc.linear %x, %w, %b : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

// -----

func.func @linear_rank2_input(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{'blockc.linear' op expects a [B, N, C] activation with static C, got 'tensor<4x8xf32>'}}
  %0 = blockc.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

//===----------------------------------------------------------------------===//
// blockc.slice
//===----------------------------------------------------------------------===//

// -----

func.func @slice_past_the_end(%x: tensor<?x4x24xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{'blockc.slice' op range [16, 32) is outside the 24 channels}}
  %0 = blockc.slice %x[16, 16] : tensor<?x4x24xf32> -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

// -----

func.func @slice_negative_offset(%x: tensor<?x4x24xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.slice' op range [-1, 7) is outside the 24 channels}}
  %0 = blockc.slice %x[-1, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @slice_empty(%x: tensor<?x4x24xf32>) -> tensor<?x4x0xf32> {
  // expected-error @+1 {{'blockc.slice' op range [0, 0) is outside the 24 channels}}
  %0 = blockc.slice %x[0, 0] : tensor<?x4x24xf32> -> tensor<?x4x0xf32>
  return %0 : tensor<?x4x0xf32>
}

// -----

func.func @slice_wrong_result(%x: tensor<?x4x24xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{'blockc.slice' op result type 'tensor<?x4x16xf32>' does not match the slice}}
  %0 = blockc.slice %x[0, 8] : tensor<?x4x24xf32> -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

// -----

func.func @slice_wrong_result_tokens(%x: tensor<?x4x24xf32>) -> tensor<?x3x8xf32> {
  // expected-error @+1 {{'blockc.slice' op result type 'tensor<?x3x8xf32>' does not match the slice}}
  %0 = blockc.slice %x[8, 8] : tensor<?x4x24xf32> -> tensor<?x3x8xf32>
  return %0 : tensor<?x3x8xf32>
}

//===----------------------------------------------------------------------===//
// blockc.mha
//===----------------------------------------------------------------------===//

// -----

func.func @mha_heads_do_not_divide(%q: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.mha' op 3 heads do not divide 8 channels}}
  %0 = blockc.mha %q, %q, %q {heads = 3 : i64} : tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @mha_zero_heads(%q: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.mha' op 0 heads do not divide 8 channels}}
  %0 = blockc.mha %q, %q, %q {heads = 0 : i64} : tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

// (A negative count is rejected too; its message is checked in
// verify-ops-negative-heads.mlir.)
func.func @mha_negative_heads(%q: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{heads do not divide 8 channels}}
  %0 = blockc.mha %q, %q, %q {heads = -2 : i64} : tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @mha_not_an_activation(%q: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'blockc.mha' op expects a [B, N, C] activation with static C, got 'tensor<4x8xf32>'}}
  %0 = blockc.mha %q, %q, %q {heads = 2 : i64} : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

//===----------------------------------------------------------------------===//
// blockc.mul (LayerScale)
//===----------------------------------------------------------------------===//

// -----

func.func @mul_bad_scale(%x: tensor<?x4x8xf32>, %g: tensor<16xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.mul' op expects per-channel parameters of shape [8], got 'tensor<16xf32>'}}
  %0 = blockc.mul %x, %g : tensor<?x4x8xf32>, tensor<16xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @mul_other_activation(%x: tensor<?x4x8xf32>, %y: tensor<?x2x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.mul' op expects per-channel parameters of shape [8], got 'tensor<?x2x8xf32>'}}
  %0 = blockc.mul %x, %y : tensor<?x4x8xf32>, tensor<?x2x8xf32>
  return %0 : tensor<?x4x8xf32>
}

//===----------------------------------------------------------------------===//
// blockc.fold_bn_input / blockc.fold_bn_output
//===----------------------------------------------------------------------===//

// -----

// fold_bn_input normalizes the linear's input: its parameters have the weight's `in` size.
func.func @fold_input_params_are_per_input_channel(%w: tensor<16x8xf32>, %p: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'blockc.fold_bn_input' op expects per-channel parameters of shape [16], got 'tensor<8xf32>'}}
  %fw, %fb = blockc.fold_bn_input %w, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<8xf32> -> tensor<16x8xf32>, tensor<8xf32>
  return %fb : tensor<8xf32>
}

// -----

// fold_bn_output normalizes the linear's output: its parameters have the weight's `out` size.
func.func @fold_output_params_are_per_output_channel(%w: tensor<16x8xf32>, %p: tensor<16xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'blockc.fold_bn_output' op expects per-channel parameters of shape [8], got 'tensor<16xf32>'}}
  %fw, %fb = blockc.fold_bn_output %w, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<16xf32> -> tensor<16x8xf32>, tensor<8xf32>
  return %fb : tensor<8xf32>
}

// -----

func.func @fold_weight_rank(%w: tensor<16xf32>, %p: tensor<16xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'blockc.fold_bn_input' op expects an [in, out] weight, got 'tensor<16xf32>'}}
  %fw, %fb = blockc.fold_bn_input %w, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>, tensor<16xf32>
  return %fb : tensor<16xf32>
}

// -----

func.func @fold_bad_bias(%w: tensor<16x8xf32>, %p: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'blockc.fold_bn_input' op expects per-channel parameters of shape [8], got 'tensor<16xf32>'}}
  %fw, %fb = blockc.fold_bn_input %w, %p, %p, %p, %p, %b {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<16x8xf32>, tensor<8xf32>
  return %fb : tensor<8xf32>
}

// -----

func.func @fold_changes_weight_shape(%w: tensor<16x8xf32>, %p: tensor<16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'blockc.fold_bn_input' op folded weight must keep the weight's shape}}
  %fw, %fb = blockc.fold_bn_input %w, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<16xf32> -> tensor<8x16xf32>, tensor<8xf32>
  return %fw : tensor<8x16xf32>
}

// -----

func.func @fold_bad_folded_bias(%w: tensor<16x8xf32>, %p: tensor<8xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'blockc.fold_bn_output' op expects per-channel parameters of shape [8], got 'tensor<16xf32>'}}
  %fw, %fb = blockc.fold_bn_output %w, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<16x8xf32>, tensor<8xf32> -> tensor<16x8xf32>, tensor<16xf32>
  return %fb : tensor<16xf32>
}

// -----

func.func @fold_negative_epsilon(%w: tensor<16x8xf32>, %p: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'blockc.fold_bn_output' op expects a non-negative epsilon}}
  %fw, %fb = blockc.fold_bn_output %w, %p, %p, %p, %p {epsilon = -0.5 : f64} : tensor<16x8xf32>, tensor<8xf32> -> tensor<16x8xf32>, tensor<8xf32>
  return %fb : tensor<8xf32>
}

//===----------------------------------------------------------------------===//
// blockc.kernel / blockc.yield
//===----------------------------------------------------------------------===//

// -----

func.func @kernel_unknown_kind(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{invalid kind attribute specification: "conv"}}
  %0 = blockc.kernel "conv" "k0_conv"(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @kernel_block_arguments(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op block arguments must match the inputs}}
  %0 = blockc.kernel "elementwise" "k0_elementwise"(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>, %b: tensor<?x4x8xf32>):
    blockc.yield %a : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @kernel_yield_type(%x: tensor<?x4x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op yielded values must match the results}}
  %0 = blockc.kernel "matmul" "k0_matmul"(%x, %w) : (tensor<?x4x8xf32>, tensor<8x16xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>, %b: tensor<8x16xf32>):
    %l = blockc.linear %a, %b : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
    blockc.yield %l : tensor<?x4x16xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @kernel_yield_count(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op yielded values must match the results}}
  %0 = blockc.kernel "norm" "k0_norm"(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    blockc.yield
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

// The kernel region is isolated: it reads its inputs through block arguments only.
func.func @kernel_is_isolated(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = blockc.kernel "elementwise" "k0_elementwise"() : () -> tensor<?x4x8xf32> {
    // expected-error @+1 {{using value defined outside the region}}
    %r = blockc.relu %x : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @yield_outside_kernel(%x: tensor<?x4x8xf32>) {
  // expected-error @+1 {{'blockc.yield' op expects parent op 'blockc.kernel'}}
  blockc.yield %x : tensor<?x4x8xf32>
}

// -----

// A conv2d weight [out, C, K, K] transposes to [C K K, out].
func.func @transpose_conv_weight(%w: tensor<6x3x2x2xf32>) -> tensor<12x6xf32> {
  %t = blockc.transpose %w : tensor<6x3x2x2xf32> -> tensor<12x6xf32>
  return %t : tensor<12x6xf32>
}

// -----

func.func @patches_ok(%img: tensor<?x3x8x4xf32>) -> tensor<?x8x12xf32> {
  %p = blockc.patches %img by 2 : tensor<?x3x8x4xf32> -> tensor<?x8x12xf32>
  return %p : tensor<?x8x12xf32>
}

// -----

func.func @patches_not_dividing(%img: tensor<?x3x8x5xf32>) -> tensor<?x8x12xf32> {
  // expected-error @+1 {{'blockc.patches' op patch 2 does not divide the image 'tensor<?x3x8x5xf32>'}}
  %p = blockc.patches %img by 2 : tensor<?x3x8x5xf32> -> tensor<?x8x12xf32>
  return %p : tensor<?x8x12xf32>
}

// -----

func.func @patches_wrong_result(%img: tensor<?x3x8x4xf32>) -> tensor<?x8x6xf32> {
  // expected-error @+1 {{'blockc.patches' op result type 'tensor<?x8x6xf32>' is not the 2x2 patches of 'tensor<?x3x8x4xf32>'}}
  %p = blockc.patches %img by 2 : tensor<?x3x8x4xf32> -> tensor<?x8x6xf32>
  return %p : tensor<?x8x6xf32>
}

// -----

func.func @concat_tokens_ok(%cls: tensor<1x1x8xf32>, %reg: tensor<1x2x8xf32>, %x: tensor<?x4x8xf32>) -> tensor<?x7x8xf32> {
  %0 = blockc.concat_tokens %cls, %reg, %x : tensor<1x1x8xf32>, tensor<1x2x8xf32>, tensor<?x4x8xf32> -> tensor<?x7x8xf32>
  return %0 : tensor<?x7x8xf32>
}

// -----

func.func @concat_tokens_width(%cls: tensor<1x1x4xf32>, %x: tensor<?x4x8xf32>) -> tensor<?x5x8xf32> {
  // expected-error @+1 {{'blockc.concat_tokens' op expects learned tokens [1, T, 8], got 'tensor<1x1x4xf32>'}}
  %0 = blockc.concat_tokens %cls, %x : tensor<1x1x4xf32>, tensor<?x4x8xf32> -> tensor<?x5x8xf32>
  return %0 : tensor<?x5x8xf32>
}

// -----

func.func @concat_tokens_count(%cls: tensor<1x1x8xf32>, %x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.concat_tokens' op result type 'tensor<?x4x8xf32>' does not hold the 5 tokens}}
  %0 = blockc.concat_tokens %cls, %x : tensor<1x1x8xf32>, tensor<?x4x8xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @take_token_ok(%x: tensor<?x4x8xf32>) -> tensor<?x8xf32> {
  %0 = blockc.take_token %x [3] : tensor<?x4x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @take_token_beyond(%x: tensor<?x4x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'blockc.take_token' op token 4 is not one of the 4 tokens}}
  %0 = blockc.take_token %x [4] : tensor<?x4x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @mean_tokens_result(%x: tensor<?x4x8xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'blockc.mean_tokens' op result type 'tensor<?x4xf32>' is not [B, 8]}}
  %0 = blockc.mean_tokens %x from 1 : tensor<?x4x8xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @add_table_ok(%x: tensor<?x4x8xf32>, %pos: tensor<1x4x8xf32>) -> tensor<?x4x8xf32> {
  %0 = blockc.add %x, %pos : tensor<?x4x8xf32>, tensor<1x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @add_table_tokens(%x: tensor<?x4x8xf32>, %pos: tensor<1x5x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.add' op rhs must be the lhs type or a [1, N, C] table, got 'tensor<1x5x8xf32>' for 'tensor<?x4x8xf32>'}}
  %0 = blockc.add %x, %pos : tensor<?x4x8xf32>, tensor<1x5x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @linear_pooled(%x: tensor<?x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x16xf32> {
  %0 = blockc.linear %x, %w : tensor<?x8xf32>, tensor<8x16xf32> -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

func.func @embedding_ok(%t: tensor<10x8xf32>, %ids: tensor<?x4xi64>) -> tensor<?x4x8xf32> {
  %p = blockc.positions %ids : tensor<?x4xi64>
  %0 = blockc.embedding %t[%p] : tensor<10x8xf32>, tensor<?x4xi64> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @embedding_result(%t: tensor<10x8xf32>, %ids: tensor<?x4xi32>) -> tensor<?x4x9xf32> {
  // expected-error @+1 {{'blockc.embedding' op result type 'tensor<?x4x9xf32>' is not the rows of 'tensor<10x8xf32>' for ids 'tensor<?x4xi32>'}}
  %0 = blockc.embedding %t[%ids] : tensor<10x8xf32>, tensor<?x4xi32> -> tensor<?x4x9xf32>
  return %0 : tensor<?x4x9xf32>
}

// -----

func.func @embedding_positions(%t: tensor<3x8xf32>, %ids: tensor<?x4xi64>) -> tensor<?x4x8xf32> {
  %p = blockc.positions %ids : tensor<?x4xi64>
  // expected-error @+1 {{'blockc.embedding' op has 3 rows for 4 positions}}
  %0 = blockc.embedding %t[%p] : tensor<3x8xf32>, tensor<?x4xi64> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @mha_mask(%q: tensor<?x4x8xf32>, %m: tensor<?x5xi64>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.mha' op expects a mask [B, 4] for the 4 tokens, got 'tensor<?x5xi64>'}}
  %0 = blockc.mha %q, %q, %q mask %m : tensor<?x5xi64> {heads = 2 : i64} : tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @mean_mask(%x: tensor<?x4x8xf32>, %m: tensor<?x4xi32>) -> tensor<?x8xf32> {
  %0 = blockc.mean_tokens %x from 0 mask %m : tensor<?x4xi32> : tensor<?x4x8xf32> -> tensor<?x8xf32>
  %1 = blockc.l2_normalize %0 : tensor<?x8xf32>
  return %1 : tensor<?x8xf32>
}

// -----

// blockc.to_bf16 keeps the weight's shape.
func.func @to_bf16_shape() -> tensor<8x4xbf16> {
  %w = blockc.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{expects a weight and a result of its shape, got 'tensor<4x8xf32>' to 'tensor<8x4xbf16>'}}
  %r = blockc.to_bf16 %w : tensor<4x8xf32> -> tensor<8x4xbf16>
  return %r : tensor<8x4xbf16>
}

// -----

// A linear's weight is float32, bf16 or int8, nothing else.
func.func @linear_f16_weight(%x: tensor<?x5x8xf32>, %w: tensor<8x4xf16>) -> tensor<?x5x4xf32> {
  // expected-error @+1 {{operand #1 must be}}
  %y = blockc.linear %x, %w : tensor<?x5x8xf32>, tensor<8x4xf16> -> tensor<?x5x4xf32>
  return %y : tensor<?x5x4xf32>
}

// -----

// An int8 weight comes with its scales and sums.
func.func @linear_int8_without_scales(%x: tensor<?x5x8xf32>, %w: tensor<8x4xi8>) -> tensor<?x5x4xf32> {
  // expected-error @+1 {{an int8 weight needs its scales and sums}}
  %y = blockc.linear %x, %w : tensor<?x5x8xf32>, tensor<8x4xi8> -> tensor<?x5x4xf32>
  return %y : tensor<?x5x4xf32>
}

// -----

func.func @linear_int8_wrong_sums(%x: tensor<?x5x8xf32>, %w: tensor<8x4xi8>, %s: tensor<4xf32>, %n: tensor<3x4xi32>) -> tensor<?x5x4xf32> {
  // expected-error @+1 {{expects sums [groups, 4] with groups dividing 8, got 'tensor<3x4xi32>'}}
  %y = blockc.linear %x, %w scales %s sums %n : tensor<?x5x8xf32>, tensor<8x4xi8> scales tensor<4xf32> sums tensor<3x4xi32> -> tensor<?x5x4xf32>
  return %y : tensor<?x5x4xf32>
}

// -----

func.func @quantize_scales_shape() -> tensor<4x8xi8> {
  %w = blockc.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{expects scales [8] and sums [2, 8], got 'tensor<4xf32>' and 'tensor<2x8xi32>'}}
  %q, %s, %n = blockc.quantize %w in groups of 2 : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4xf32>, tensor<2x8xi32>
  return %q : tensor<4x8xi8>
}

// -----

func.func @quantize_group_divides() -> tensor<4x8xi8> {
  %w = blockc.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{group 3 does not divide the 4 inputs}}
  %q, %s, %n = blockc.quantize %w in groups of 3 : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<8xf32>, tensor<1x8xi32>
  return %q : tensor<4x8xi8>
}
