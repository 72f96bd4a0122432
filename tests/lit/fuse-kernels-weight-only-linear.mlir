// An op that depends on weights alone becomes a prepare kernel and is not grouped again as a
// matmul (it used to be outlined twice).
// RUN: %blockc-opt %s --blockc-fuse-kernels | %FileCheck %s

// CHECK-LABEL: func.func @weight_only_linear
// CHECK: blockc.kernel prepare "p0_linear"
// CHECK-NOT: blockc.kernel matmul
// CHECK: blockc.kernel elementwise "k0_elementwise"
func.func @weight_only_linear(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %a = blockc.weight "a" : tensor<1x4x8xf32>
  %w = blockc.weight "w" : tensor<8x8xf32>
  %l = blockc.linear %a, %w : tensor<1x4x8xf32>, tensor<8x8xf32> -> tensor<1x4x8xf32>
  %s = blockc.relu %l : tensor<1x4x8xf32>
  %r = blockc.relu %x : tensor<?x4x8xf32>
  return %r : tensor<?x4x8xf32>
}
