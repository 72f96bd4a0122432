// RUN: %blockc-opt %s --blockc-sink-norms --split-input-file | %FileCheck %s

// A LayerNorm read only by take_token is applied to the token taken.
// CHECK-LABEL: func.func @layer_norm_below_take
// CHECK: %[[T:.*]] = blockc.take_token %arg0[0] : tensor<?x5x8xf32> -> tensor<?x8xf32>
// CHECK-NEXT: %[[N:.*]] = blockc.layer_norm %[[T]], %{{.*}}, %{{.*}} {epsilon = {{.*}} : f64} : tensor<?x8xf32>, tensor<8xf32>
// CHECK-NEXT: return %[[N]]
func.func @layer_norm_below_take(%x: tensor<?x5x8xf32>) -> tensor<?x8xf32> {
  %g = blockc.weight "norm.weight" : tensor<8xf32>
  %b = blockc.weight "norm.bias" : tensor<8xf32>
  %n = blockc.layer_norm %x, %g, %b {epsilon = 1.0e-6 : f64} : tensor<?x5x8xf32>, tensor<8xf32>
  %t = blockc.take_token %n [0] : tensor<?x5x8xf32> -> tensor<?x8xf32>
  return %t : tensor<?x8xf32>
}

// -----

// The mean of normalized tokens is not the norm of their mean: the LayerNorm stays.
// CHECK-LABEL: func.func @layer_norm_stays_above_mean
// CHECK: blockc.layer_norm %arg0
// CHECK-NEXT: blockc.mean_tokens
func.func @layer_norm_stays_above_mean(%x: tensor<?x5x8xf32>) -> tensor<?x8xf32> {
  %g = blockc.weight "norm.weight" : tensor<8xf32>
  %b = blockc.weight "norm.bias" : tensor<8xf32>
  %n = blockc.layer_norm %x, %g, %b {epsilon = 1.0e-6 : f64} : tensor<?x5x8xf32>, tensor<8xf32>
  %m = blockc.mean_tokens %n from 1 : tensor<?x5x8xf32> -> tensor<?x8xf32>
  return %m : tensor<?x8xf32>
}

// -----

// A BatchNorm, per-channel affine, moves below any pooling; below both of two.
// CHECK-LABEL: func.func @batch_norm_below_both_poolings
// CHECK: %[[M:.*]] = blockc.mean_tokens %arg0 from 1
// CHECK-NEXT: blockc.batch_norm %[[M]]
// CHECK: %[[T:.*]] = blockc.take_token %arg0[0]
// CHECK-NEXT: blockc.batch_norm %[[T]]
// CHECK-NOT: blockc.batch_norm
func.func @batch_norm_below_both_poolings(%x: tensor<?x5x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %g = blockc.weight "norm.weight" : tensor<8xf32>
  %b = blockc.weight "norm.bias" : tensor<8xf32>
  %m = blockc.weight "norm.running_mean" : tensor<8xf32>
  %v = blockc.weight "norm.running_var" : tensor<8xf32>
  %n = blockc.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-5 : f64} : tensor<?x5x8xf32>, tensor<8xf32>
  %avg = blockc.mean_tokens %n from 1 : tensor<?x5x8xf32> -> tensor<?x8xf32>
  %cls = blockc.take_token %n [0] : tensor<?x5x8xf32> -> tensor<?x8xf32>
  return %avg, %cls : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// A norm another op also reads stays where it is.
// CHECK-LABEL: func.func @shared_norm_stays
// CHECK: blockc.layer_norm %arg0
// CHECK-NEXT: blockc.take_token
func.func @shared_norm_stays(%x: tensor<?x5x8xf32>) -> (tensor<?x8xf32>, tensor<?x5x8xf32>) {
  %g = blockc.weight "norm.weight" : tensor<8xf32>
  %b = blockc.weight "norm.bias" : tensor<8xf32>
  %n = blockc.layer_norm %x, %g, %b {epsilon = 1.0e-6 : f64} : tensor<?x5x8xf32>, tensor<8xf32>
  %t = blockc.take_token %n [0] : tensor<?x5x8xf32> -> tensor<?x8xf32>
  %r = blockc.relu %n : tensor<?x5x8xf32>
  return %t, %r : tensor<?x8xf32>, tensor<?x5x8xf32>
}
