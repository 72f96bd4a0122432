// blockc-reduce-precision: with precision=bf16 every linear reads its weight rounded to bf16,
// with precision=int8 quantized (int8 values, per-output scales and sums, which the linear
// takes too), after the other bind-time ops (a BatchNorm folded in float32 first); fusion
// puts the conversion into the prepare kernel that computes the weight, and both kernels
// say the format in their names.
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=bf16 | %FileCheck %s
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=fp32 | %FileCheck %s --check-prefix=FP32
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=bf16 --blockc-fuse-kernels | %FileCheck %s --check-prefix=FUSED
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=int8 | %FileCheck %s --check-prefix=INT8
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=int8 --blockc-fuse-kernels | %FileCheck %s --check-prefix=INT8-FUSED
// RUN: not %blockc-opt %s -split-input-file --blockc-reduce-precision=precision=int4 2>&1 | %FileCheck %s --check-prefix=BAD
// Without the option, each linear as its `precision` asks (the spec's `precision = ...`):
// RUN: %blockc-opt %s -split-input-file --blockc-reduce-precision | %FileCheck %s --check-prefix=ASKED

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
// INT8-LABEL: func.func @two_linears
// INT8: %[[T1:.*]] = blockc.transpose
// INT8-NEXT: %[[Q:.*]], %[[S:.*]], %[[N:.*]] = blockc.quantize %[[T1]] in groups of 8 : tensor<8x16xf32> -> tensor<8x16xi8>, tensor<16xf32>, tensor<1x16xi32>
// INT8-NEXT: blockc.linear %{{.*}}, %[[Q]], %{{.*}} scales %[[S]] sums %[[N]] : tensor<?x5x8xf32>, tensor<8x16xi8>, tensor<16xf32> scales tensor<16xf32> sums tensor<1x16xi32> -> tensor<?x5x16xf32>
// INT8: %[[FW:[^,]*]], %[[FB:.*]] = blockc.fold_bn_input
// INT8-NEXT: %[[Q2:.*]], %[[S2:.*]], %[[N2:.*]] = blockc.quantize %[[FW]]
// INT8-NEXT: blockc.linear %{{.*}}, %[[Q2]], %[[FB]] scales %[[S2]] sums %[[N2]]
// INT8-NOT: blockc.quantize
// INT8-FUSED: blockc.kernel prepare "p0_transpose_int8"
// INT8-FUSED: blockc.transpose
// INT8-FUSED-NEXT: blockc.quantize
// INT8-FUSED-NEXT: blockc.yield {{.*}} : tensor<8x16xi8>, tensor<16xf32>, tensor<1x16xi32>
// INT8-FUSED: blockc.kernel matmul "k0_matmul_int8"
// INT8-FUSED: blockc.kernel prepare "p2_fold_bn_input_int8"
// INT8-FUSED: blockc.kernel matmul "k1_matmul_int8"
// BAD: error: unknown precision 'int4' (expected fp32, bf16 or int8)
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

// -----

// The int8 input groups: at most 64 inputs dividing K, whole multiples of 4 where K is a
// multiple of 4 (of 2 where it is even).
// INT8-LABEL: func.func @groups
// INT8: blockc.quantize %{{.*}} in groups of 48 : tensor<96x4xf32> -> tensor<96x4xi8>, tensor<4xf32>, tensor<2x4xi32>
// INT8: blockc.quantize %{{.*}} in groups of 40 : tensor<200x4xf32> -> tensor<200x4xi8>, tensor<4xf32>, tensor<5x4xi32>
// INT8: blockc.quantize %{{.*}} in groups of 30 : tensor<30x4xf32> -> tensor<30x4xi8>, tensor<4xf32>, tensor<1x4xi32>
// INT8: blockc.quantize %{{.*}} in groups of 25 : tensor<75x4xf32> -> tensor<75x4xi8>, tensor<4xf32>, tensor<3x4xi32>
// CHECK-LABEL: func.func @groups
// FP32-LABEL: func.func @groups
// FUSED-LABEL: func.func @groups
// INT8-FUSED-LABEL: func.func @groups
func.func @groups(%a: tensor<?x5x96xf32>, %b: tensor<?x5x200xf32>, %c: tensor<?x5x30xf32>, %d: tensor<?x5x75xf32>) -> (tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<?x5x4xf32>) {
  %wa = blockc.weight "a.weight" : tensor<96x4xf32>
  %wb = blockc.weight "b.weight" : tensor<200x4xf32>
  %wc = blockc.weight "c.weight" : tensor<30x4xf32>
  %wd = blockc.weight "d.weight" : tensor<75x4xf32>
  %ya = blockc.linear %a, %wa : tensor<?x5x96xf32>, tensor<96x4xf32> -> tensor<?x5x4xf32>
  %yb = blockc.linear %b, %wb : tensor<?x5x200xf32>, tensor<200x4xf32> -> tensor<?x5x4xf32>
  %yc = blockc.linear %c, %wc : tensor<?x5x30xf32>, tensor<30x4xf32> -> tensor<?x5x4xf32>
  %yd = blockc.linear %d, %wd : tensor<?x5x75xf32>, tensor<75x4xf32> -> tensor<?x5x4xf32>
  return %ya, %yb, %yc, %yd : tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<?x5x4xf32>
}

// -----

// Each linear in the format it asks for; one weight read in two formats is converted once
// per format; the attribute is gone afterwards, the weight's type says the format. The
// option overrides every linear's.
// ASKED-LABEL: func.func @as_asked
// ASKED: %[[T:.*]] = blockc.transpose
// ASKED-DAG: %[[R:.*]] = blockc.to_bf16 %[[T]] : tensor<8x16xf32> -> tensor<8x16xbf16>
// ASKED-DAG: %[[Q:.*]], %[[S:.*]], %[[N:.*]] = blockc.quantize %[[T]] in groups of 8
// ASKED: blockc.linear %{{.*}}, %[[Q]] scales %[[S]] sums %[[N]] : tensor<?x5x8xf32>, tensor<8x16xi8>
// ASKED-NEXT: blockc.linear %{{.*}}, %[[R]] : tensor<?x5x8xf32>, tensor<8x16xbf16>
// ASKED-NEXT: blockc.linear %{{.*}}, %[[R]] : tensor<?x5x8xf32>, tensor<8x16xbf16>
// ASKED-NEXT: blockc.linear %{{.*}}, %[[T]] : tensor<?x5x8xf32>, tensor<8x16xf32>
// ASKED-NEXT: blockc.linear %{{.*}}, %[[T]] : tensor<?x5x8xf32>, tensor<8x16xf32>
// ASKED-NOT: in {{fp32|bf16|int8}}
// CHECK-LABEL: func.func @as_asked
// CHECK-NOT: blockc.quantize
// CHECK-NOT: in {{fp32|bf16|int8}}
// FP32-LABEL: func.func @as_asked
// FP32-NOT: {{bf16|int8|i8}}
// INT8-LABEL: func.func @as_asked
// INT8-NOT: bf16
// FUSED-LABEL: func.func @as_asked
// INT8-FUSED-LABEL: func.func @as_asked
func.func @as_asked(%x: tensor<?x5x8xf32>) -> (tensor<?x5x16xf32>, tensor<?x5x16xf32>, tensor<?x5x16xf32>, tensor<?x5x16xf32>, tensor<?x5x16xf32>) {
  %w = blockc.weight "fc.weight" : tensor<16x8xf32>
  %t = blockc.transpose %w : tensor<16x8xf32> -> tensor<8x16xf32>
  %a = blockc.linear %x, %t in int8 : tensor<?x5x8xf32>, tensor<8x16xf32> -> tensor<?x5x16xf32>
  %b = blockc.linear %x, %t in bf16 : tensor<?x5x8xf32>, tensor<8x16xf32> -> tensor<?x5x16xf32>
  %c = blockc.linear %x, %t in bf16 : tensor<?x5x8xf32>, tensor<8x16xf32> -> tensor<?x5x16xf32>
  %d = blockc.linear %x, %t : tensor<?x5x8xf32>, tensor<8x16xf32> -> tensor<?x5x16xf32>
  %e = blockc.linear %x, %t in fp32 : tensor<?x5x8xf32>, tensor<8x16xf32> -> tensor<?x5x16xf32>
  return %a, %b, %c, %d, %e : tensor<?x5x16xf32>, tensor<?x5x16xf32>, tensor<?x5x16xf32>, tensor<?x5x16xf32>, tensor<?x5x16xf32>
}

// -----

// An attention core keeps bf16 where bf16 or int8 is asked (activations times activations:
// nothing to quantize at bind time) and drops fp32; its kernel is named for it.
// ASKED-LABEL: func.func @attention_cores
// ASKED: blockc.mha %{{.*}} in bf16 {heads = 2 : i64}
// ASKED-NEXT: blockc.mha %{{.*}} in bf16 {heads = 2 : i64}
// ASKED-NEXT: blockc.mha %{{.*}} {heads = 2 : i64}
// ASKED-NEXT: blockc.mha %{{.*}} {heads = 2 : i64}
// CHECK-LABEL: func.func @attention_cores
// CHECK-COUNT-4: blockc.mha %{{.*}} in bf16 {heads = 2 : i64}
// INT8-LABEL: func.func @attention_cores
// INT8-COUNT-4: blockc.mha %{{.*}} in bf16 {heads = 2 : i64}
// FP32-LABEL: func.func @attention_cores
// FP32-NOT: in bf16
// FUSED-LABEL: func.func @attention_cores
// FUSED-COUNT-4: blockc.kernel attention "k{{[0-3]}}_attention_bf16"
// INT8-FUSED-LABEL: func.func @attention_cores
// INT8-FUSED-COUNT-4: blockc.kernel attention "k{{[0-3]}}_attention_bf16"
func.func @attention_cores(%x: tensor<?x5x8xf32>) -> (tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>) {
  %a = blockc.mha %x, %x, %x in int8 {heads = 2 : i64} : tensor<?x5x8xf32>
  %b = blockc.mha %x, %x, %x in bf16 {heads = 2 : i64} : tensor<?x5x8xf32>
  %c = blockc.mha %x, %x, %x {heads = 2 : i64} : tensor<?x5x8xf32>
  %d = blockc.mha %x, %x, %x in fp32 {heads = 2 : i64} : tensor<?x5x8xf32>
  return %a, %b, %c, %d : tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>
}
