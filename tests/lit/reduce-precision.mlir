// blockc-reduce-precision: with precision=bf16 every linear reads its weight rounded to bf16
// after the other bind-time ops (a BatchNorm folded in float32 first); fusion puts the
// rounding into the prepare kernel that computes the weight, and both kernels say bf16 in
// their names.
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=bf16 | %FileCheck %s
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=fp32 | %FileCheck %s --check-prefix=FP32
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=bf16 --blockc-fuse-kernels | %FileCheck %s --check-prefix=FUSED
// RUN: not %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=int4 2>&1 | %FileCheck %s --check-prefix=BAD

// CHECK-LABEL: func.func @two_linears
// CHECK: %[[W1:.*]] = blockc.weight "fc1.weight"
// CHECK: %[[T1:.*]] = blockc.transpose %[[W1]] : tensor<16x8xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %[[R1:.*]] = blockc.to_bf16 %[[T1]] : tensor<8x16xf32> -> tensor<8x16xbf16>
// CHECK: blockc.linear %{{.*}}, %[[R1]], %{{.*}} : tensor<?x5x8xf32>, tensor<8x16xbf16>, tensor<16xf32> -> tensor<?x5x16xf32>
// CHECK: %[[FW:[^,]*]], %[[FB:.*]] = blockc.fold_bn_input
// CHECK-NEXT: %[[R2:.*]] = blockc.to_bf16 %[[FW]] : tensor<16x8xf32> -> tensor<16x8xbf16>
// CHECK-NEXT: blockc.linear %{{.*}}, %[[R2]], %[[FB]] : tensor<?x5x16xf32>, tensor<16x8xbf16>, tensor<8xf32>
// CHECK-NOT: blockc.to_bf16
// FP32-LABEL: func.func @two_linears
// FP32-NOT: bf16
// FUSED-LABEL: func.func @two_linears
// FUSED: blockc.kernel prepare "p0_transpose_bf16"
// FUSED: blockc.transpose
// FUSED-NEXT: blockc.to_bf16
// FUSED-NEXT: blockc.yield {{.*}} : tensor<8x16xbf16>
// FUSED: blockc.kernel matmul "k0_matmul_bf16"
// FUSED: blockc.kernel prepare "p1_transpose"
// FUSED: blockc.kernel prepare "p2_fold_bn_input_bf16"
// FUSED: blockc.fold_bn_input
// FUSED-NEXT: blockc.to_bf16
// FUSED-NEXT: blockc.yield {{.*}} : tensor<8xf32>, tensor<16x8xbf16>
// FUSED: blockc.kernel matmul "k1_matmul_bf16"
// BAD: error: unknown precision 'int4' (expected fp32 or bf16)
func.func @two_linears(%x: tensor<?x5x8xf32>) -> tensor<?x5x8xf32> {
  %w1 = blockc.weight "fc1.weight" : tensor<16x8xf32>
  %b1 = blockc.weight "fc1.bias" : tensor<16xf32>
  %w2 = blockc.weight "fc2.weight" : tensor<8x16xf32>
  %g = blockc.weight "bn.weight" : tensor<16xf32>
  %be = blockc.weight "bn.bias" : tensor<16xf32>
  %m = blockc.weight "bn.running_mean" : tensor<16xf32>
  %v = blockc.weight "bn.running_var" : tensor<16xf32>
  %t1 = blockc.transpose %w1 : tensor<16x8xf32> -> tensor<8x16xf32>
  %h = blockc.linear %x, %t1, %b1 : tensor<?x5x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x5x16xf32>
  %t2 = blockc.transpose %w2 : tensor<8x16xf32> -> tensor<16x8xf32>
  %fw, %fb = blockc.fold_bn_input %t2, %g, %be, %m, %v {epsilon = 1.0e-05 : f64} : tensor<16x8xf32>, tensor<16xf32> -> tensor<16x8xf32>, tensor<8xf32>
  %y = blockc.linear %h, %fw, %fb : tensor<?x5x16xf32>, tensor<16x8xf32>, tensor<8xf32> -> tensor<?x5x8xf32>
  return %y : tensor<?x5x8xf32>
}
