// blockc-fold-batchnorm: which BatchNorms fold into which linears, and what stays.
// RUN: %blockc-opt %s -split-input-file --blockc-fold-batchnorm | %FileCheck %s

// BatchNorm whose only user is a linear (norm before the FFN): folded into the linear's
// input. The linear now reads the BatchNorm's input with the folded weight and bias, which
// fold_bn_input computes from the transposed weight, gamma, beta, mean, var and the bias.
// CHECK-LABEL: func.func @bn_before_linear
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-DAG: %[[G:.*]] = blockc.weight "bn.weight"
// CHECK-DAG: %[[B:.*]] = blockc.weight "bn.bias"
// CHECK-DAG: %[[M:.*]] = blockc.weight "bn.running_mean"
// CHECK-DAG: %[[V:.*]] = blockc.weight "bn.running_var"
// CHECK-DAG: %[[W:.*]] = blockc.weight "fc.weight"
// CHECK-DAG: %[[FB:.*]] = blockc.weight "fc.bias"
// CHECK-NOT: blockc.batch_norm
// CHECK: %[[WT:.*]] = blockc.transpose %[[W]]
// CHECK-NEXT: %[[FW:.*]], %[[FBIAS:.*]] = blockc.fold_bn_input %[[WT]], %[[G]], %[[B]], %[[M]], %[[V]], %[[FB]] {epsilon = 1.000000e-03 : f64} : tensor<8x16xf32>, tensor<8xf32>, tensor<16xf32> -> tensor<8x16xf32>, tensor<16xf32>
// CHECK-NEXT: %[[Y:.*]] = blockc.linear %[[X]], %[[FW]], %[[FBIAS]] : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: return %[[Y]]
// CHECK-NOT: blockc.batch_norm
func.func @bn_before_linear(%x: tensor<?x4x8xf32>) -> tensor<?x4x16xf32> {
  %g = blockc.weight "bn.weight" : tensor<8xf32>
  %b = blockc.weight "bn.bias" : tensor<8xf32>
  %m = blockc.weight "bn.running_mean" : tensor<8xf32>
  %v = blockc.weight "bn.running_var" : tensor<8xf32>
  %w = blockc.weight "fc.weight" : tensor<16x8xf32>
  %fb = blockc.weight "fc.bias" : tensor<16xf32>
  %n = blockc.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-3 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %wt = blockc.transpose %w : tensor<16x8xf32> -> tensor<8x16xf32>
  %y = blockc.linear %n, %wt, %fb : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
  return %y : tensor<?x4x16xf32>
}

// -----

// One BatchNorm feeding three linears (separate q, k, v): each linear gets its own fold,
// the BatchNorm disappears. A linear without bias folds without one (five operands).
// CHECK-LABEL: func.func @bn_shared_by_three_linears
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-NOT: blockc.batch_norm
// CHECK: %[[QW:.*]], %[[QB:.*]] = blockc.fold_bn_input %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: %[[Q:.*]] = blockc.linear %[[X]], %[[QW]], %[[QB]]
// CHECK: %[[KW:.*]], %[[KB:.*]] = blockc.fold_bn_input %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} {epsilon = 1.000000e-05 : f64} : tensor<8x8xf32>, tensor<8xf32> -> tensor<8x8xf32>, tensor<8xf32>
// CHECK-NEXT: %[[K:.*]] = blockc.linear %[[X]], %[[KW]], %[[KB]]
// CHECK: %[[VW:.*]], %[[VB:.*]] = blockc.fold_bn_input
// CHECK-NEXT: %[[V:.*]] = blockc.linear %[[X]], %[[VW]], %[[VB]]
// CHECK-NEXT: %[[A:.*]] = blockc.mha %[[Q]], %[[K]], %[[V]]
// CHECK-NEXT: return %[[A]]
func.func @bn_shared_by_three_linears(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.weight "bn.weight" : tensor<8xf32>
  %qw = blockc.weight "q.weight" : tensor<8x8xf32>
  %qb = blockc.weight "q.bias" : tensor<8xf32>
  %kw = blockc.weight "k.weight" : tensor<8x8xf32>
  %vw = blockc.weight "v.weight" : tensor<8x8xf32>
  %vb = blockc.weight "v.bias" : tensor<8xf32>
  %n = blockc.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %qwt = blockc.transpose %qw : tensor<8x8xf32> -> tensor<8x8xf32>
  %q = blockc.linear %n, %qwt, %qb : tensor<?x4x8xf32>, tensor<8x8xf32>, tensor<8xf32> -> tensor<?x4x8xf32>
  %kwt = blockc.transpose %kw : tensor<8x8xf32> -> tensor<8x8xf32>
  %k = blockc.linear %n, %kwt : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %vwt = blockc.transpose %vw : tensor<8x8xf32> -> tensor<8x8xf32>
  %v = blockc.linear %n, %vwt, %vb : tensor<?x4x8xf32>, tensor<8x8xf32>, tensor<8xf32> -> tensor<?x4x8xf32>
  %a = blockc.mha %q, %k, %v {heads = 2 : i64} : tensor<?x4x8xf32>
  return %a : tensor<?x4x8xf32>
}

// -----

// BatchNorm as the only user of a linear (between the FFN linears): folded into that
// linear's output; the new linear reads the old one's input, the gelu the new linear.
// CHECK-LABEL: func.func @bn_after_linear
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-DAG: %[[G:.*]] = blockc.weight "mlp.norm.weight"
// CHECK-DAG: %[[W:.*]] = blockc.weight "fc1.weight"
// CHECK-DAG: %[[FB:.*]] = blockc.weight "fc1.bias"
// CHECK: %[[WT:.*]] = blockc.transpose %[[W]]
// CHECK-NOT: blockc.linear
// CHECK: %[[FW:.*]], %[[FBIAS:.*]] = blockc.fold_bn_output %[[WT]], %[[G]], %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[FB]] {epsilon = 2.000000e-05 : f64} : tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<8x16xf32>, tensor<16xf32>
// CHECK-NEXT: %[[Y:.*]] = blockc.linear %[[X]], %[[FW]], %[[FBIAS]] : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
// CHECK-NOT: blockc.batch_norm
// CHECK-NEXT: %[[A:.*]] = blockc.gelu %[[Y]]
// CHECK-NEXT: return %[[A]]
func.func @bn_after_linear(%x: tensor<?x4x8xf32>) -> tensor<?x4x16xf32> {
  %w = blockc.weight "fc1.weight" : tensor<16x8xf32>
  %fb = blockc.weight "fc1.bias" : tensor<16xf32>
  %g = blockc.weight "mlp.norm.weight" : tensor<16xf32>
  %b = blockc.weight "mlp.norm.bias" : tensor<16xf32>
  %m = blockc.weight "mlp.norm.running_mean" : tensor<16xf32>
  %v = blockc.weight "mlp.norm.running_var" : tensor<16xf32>
  %wt = blockc.transpose %w : tensor<16x8xf32> -> tensor<8x16xf32>
  %h = blockc.linear %x, %wt, %fb : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
  %n = blockc.batch_norm %h, %g, %b, %m, %v {epsilon = 2.0e-5 : f64} : tensor<?x4x16xf32>, tensor<16xf32>
  %a = blockc.gelu %n : tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// -----

// A linear without bias folds an output BatchNorm without one.
// CHECK-LABEL: func.func @bn_after_linear_without_bias
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK: %[[FW:.*]], %[[FBIAS:.*]] = blockc.fold_bn_output %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} {epsilon = 1.000000e-05 : f64} : tensor<8x16xf32>, tensor<16xf32> -> tensor<8x16xf32>, tensor<16xf32>
// CHECK-NEXT: %[[Y:.*]] = blockc.linear %[[X]], %[[FW]], %[[FBIAS]] : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: return %[[Y]]
func.func @bn_after_linear_without_bias(%x: tensor<?x4x8xf32>) -> tensor<?x4x16xf32> {
  %w = blockc.weight "fc1.weight" : tensor<16x8xf32>
  %p = blockc.weight "mlp.norm.weight" : tensor<16xf32>
  %wt = blockc.transpose %w : tensor<16x8xf32> -> tensor<8x16xf32>
  %h = blockc.linear %x, %wt : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
  %n = blockc.batch_norm %h, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x16xf32>, tensor<16xf32>
  return %n : tensor<?x4x16xf32>
}

// -----

// A BatchNorm with a user that is not a linear stays, and so does its linear.
// CHECK-LABEL: func.func @bn_with_a_non_linear_user
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-NOT: fold_bn
// CHECK: %[[N:.*]] = blockc.batch_norm %[[X]]
// CHECK: %[[Y:.*]] = blockc.linear %[[N]]
// CHECK: blockc.add %[[N]], %[[Y]]
// CHECK-NOT: fold_bn
func.func @bn_with_a_non_linear_user(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.weight "bn.weight" : tensor<8xf32>
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  %n = blockc.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %wt = blockc.transpose %w : tensor<8x8xf32> -> tensor<8x8xf32>
  %y = blockc.linear %n, %wt : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %r = blockc.add %n, %y : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  return %r : tensor<?x4x8xf32>
}

// -----

// A BatchNorm after a linear with two users stays: folding would change the other user.
// CHECK-LABEL: func.func @bn_after_multi_use_linear
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-NOT: fold_bn
// CHECK: %[[H:.*]] = blockc.linear %[[X]]
// CHECK: %[[N:.*]] = blockc.batch_norm %[[H]]
// CHECK: blockc.add %[[N]], %[[H]]
// CHECK-NOT: fold_bn
func.func @bn_after_multi_use_linear(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.weight "bn.weight" : tensor<8xf32>
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  %wt = blockc.transpose %w : tensor<8x8xf32> -> tensor<8x8xf32>
  %h = blockc.linear %x, %wt : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %n = blockc.batch_norm %h, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %r = blockc.add %n, %h : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  return %r : tensor<?x4x8xf32>
}

// -----

// A BatchNorm on the block input with a non-linear user (no linear around) stays.
// CHECK-LABEL: func.func @bn_alone
// CHECK: blockc.batch_norm
// CHECK-NEXT: blockc.relu
// CHECK-NOT: fold_bn
func.func @bn_alone(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.weight "bn.weight" : tensor<8xf32>
  %n = blockc.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %r = blockc.relu %n : tensor<?x4x8xf32>
  return %r : tensor<?x4x8xf32>
}

// -----

// Both folds in a chain: bn1 -> fc1 -> bn2 -> relu. bn1 folds into fc1's input, then bn2
// into the output of the rebuilt fc1, from the weight bn1's fold produced.
// CHECK-LABEL: func.func @bn_linear_bn_chain
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-DAG: %[[P8:.*]] = blockc.weight "bn1.weight"
// CHECK-DAG: %[[P16:.*]] = blockc.weight "bn2.weight"
// CHECK-NOT: blockc.batch_norm
// CHECK: %[[IW:.*]], %[[IB:.*]] = blockc.fold_bn_input %{{[^,]*}}, %[[P8]], %[[P8]], %[[P8]], %[[P8]] {
// CHECK-NOT: blockc.linear
// CHECK: %[[OW:.*]], %[[OB:.*]] = blockc.fold_bn_output %[[IW]], %[[P16]], %[[P16]], %[[P16]], %[[P16]], %[[IB]] {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: %[[Y:.*]] = blockc.linear %[[X]], %[[OW]], %[[OB]]
// CHECK-NEXT: %[[R:.*]] = blockc.relu %[[Y]]
// CHECK-NEXT: return %[[R]]
func.func @bn_linear_bn_chain(%x: tensor<?x4x8xf32>) -> tensor<?x4x16xf32> {
  %p8 = blockc.weight "bn1.weight" : tensor<8xf32>
  %p16 = blockc.weight "bn2.weight" : tensor<16xf32>
  %w = blockc.weight "fc1.weight" : tensor<16x8xf32>
  %n1 = blockc.batch_norm %x, %p8, %p8, %p8, %p8 {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %wt = blockc.transpose %w : tensor<16x8xf32> -> tensor<8x16xf32>
  %h = blockc.linear %n1, %wt : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
  %n2 = blockc.batch_norm %h, %p16, %p16, %p16, %p16 {epsilon = 1.0e-5 : f64} : tensor<?x4x16xf32>, tensor<16xf32>
  %r = blockc.relu %n2 : tensor<?x4x16xf32>
  return %r : tensor<?x4x16xf32>
}

// -----

// LayerNorm and RMSNorm are never folded.
// CHECK-LABEL: func.func @other_norms_stay
// CHECK: blockc.layer_norm
// CHECK: blockc.linear
// CHECK: blockc.rms_norm
// CHECK: blockc.linear
// CHECK-NOT: fold_bn
func.func @other_norms_stay(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.weight "n.weight" : tensor<8xf32>
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  %n = blockc.layer_norm %x, %p, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %y = blockc.linear %n, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %r = blockc.rms_norm %y, %p {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %z = blockc.linear %r, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  return %z : tensor<?x4x8xf32>
}
