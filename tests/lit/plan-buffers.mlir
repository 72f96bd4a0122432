// blockc-plan-buffers: arena slots for run-time kernel results, reuse after the last
// reader, the block result in the caller's output (slot -1), slot sizes in float32
// elements per batch sample, constant ids for prepare kernels.
// RUN: %blockc-opt %s -split-input-file --blockc-plan-buffers | %FileCheck %s

// A chain: each kernel reads the previous result only, so two slots alternate; the last
// kernel writes the output. The block input is no slot.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: attributes {blockc.slot_sizes = array<i64: 32, 32>}
// CHECK: "k0_elementwise"{{.*}} {slots = array<i64: 0>}
// CHECK: "k1_elementwise"{{.*}} {slots = array<i64: 1>}
// CHECK: "k2_elementwise"{{.*}} {slots = array<i64: 0>}
// CHECK: "k3_elementwise"{{.*}} {slots = array<i64: 1>}
// CHECK: "k4_elementwise"{{.*}} {slots = array<i64: -1>}
// CHECK-NOT: constants =
func.func @chain(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %0 = blockc.kernel "elementwise" "k0_elementwise"(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %1 = blockc.kernel "elementwise" "k1_elementwise"(%0) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %2 = blockc.kernel "elementwise" "k2_elementwise"(%1) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %3 = blockc.kernel "elementwise" "k3_elementwise"(%2) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %4 = blockc.kernel "elementwise" "k4_elementwise"(%3) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %4 : tensor<?x4x8xf32>
}

// -----

// A residual keeps its slot until its last reader: %0 is read by k1 and k3, so slot 0 is
// still busy when k2 runs; slot 1 is k2's own input, and a result never aliases an input of
// its kernel, so k2 needs a third slot.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: attributes {blockc.slot_sizes = array<i64: 32, 32, 32>}
// CHECK: "k0_elementwise"{{.*}} {slots = array<i64: 0>}
// CHECK: "k1_elementwise"{{.*}} {slots = array<i64: 1>}
// CHECK: "k2_elementwise"{{.*}} {slots = array<i64: 2>}
// CHECK: "k3_elementwise"{{.*}} {slots = array<i64: -1>}
func.func @residual(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %0 = blockc.kernel "elementwise" "k0_elementwise"(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %1 = blockc.kernel "elementwise" "k1_elementwise"(%0) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %2 = blockc.kernel "elementwise" "k2_elementwise"(%1) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %3 = blockc.kernel "elementwise" "k3_elementwise"(%0, %2) : (tensor<?x4x8xf32>, tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>, %b: tensor<?x4x8xf32>):
    %r = blockc.add %a, %b : tensor<?x4x8xf32>, tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %3 : tensor<?x4x8xf32>
}

// -----

// Sizes and the choice among free slots: best fit (the smallest free slot that is large
// enough); when none is, the largest free slot grows. Sizes are N * C per sample.
//   k0: a [4x16] = 64           -> new slot 0 (64)
//   k1: b [4x8]  = 32           -> new slot 1 (32)
//   k2: c = a W + b [4x8] = 32  -> nothing free: new slot 2 (32); frees 0 and 1
//   k3: d [4x8]  = 32           -> free 0 (64), 1 (32): best fit 1; frees 2
//   k4: e [4x16] = 64           -> free 0 (64), 2 (32): best fit 0; frees 1
//   k5: f [4x32] = 128          -> free 1 (32), 2 (32): none fits, grow slot 1 to 128
//   k6: the block result        -> -1
// CHECK-LABEL: func.func @best_fit
// CHECK-SAME: attributes {blockc.slot_sizes = array<i64: 64, 128, 32>}
// CHECK: "k0_matmul"{{.*}} {slots = array<i64: 0>}
// CHECK: "k1_elementwise"{{.*}} {slots = array<i64: 1>}
// CHECK: "k2_matmul"{{.*}} {slots = array<i64: 2>}
// CHECK: "k3_elementwise"{{.*}} {slots = array<i64: 1>}
// CHECK: "k4_matmul"{{.*}} {slots = array<i64: 0>}
// CHECK: "k5_matmul"{{.*}} {slots = array<i64: 1>}
// CHECK: "k6_matmul"{{.*}} {slots = array<i64: -1>}
func.func @best_fit(%x: tensor<?x4x8xf32>, %w816: tensor<8x16xf32>, %w168: tensor<16x8xf32>,
                    %w1632: tensor<16x32xf32>, %w328: tensor<32x8xf32>) -> tensor<?x4x8xf32> {
  %a = blockc.kernel "matmul" "k0_matmul"(%x, %w816) : (tensor<?x4x8xf32>, tensor<8x16xf32>) -> tensor<?x4x16xf32> {
  ^bb0(%i: tensor<?x4x8xf32>, %w: tensor<8x16xf32>):
    %r = blockc.linear %i, %w : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
    blockc.yield %r : tensor<?x4x16xf32>
  }
  %b = blockc.kernel "elementwise" "k1_elementwise"(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%i: tensor<?x4x8xf32>):
    %r = blockc.relu %i : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %c = blockc.kernel "matmul" "k2_matmul"(%a, %w168, %b) : (tensor<?x4x16xf32>, tensor<16x8xf32>, tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%i: tensor<?x4x16xf32>, %w: tensor<16x8xf32>, %s: tensor<?x4x8xf32>):
    %l = blockc.linear %i, %w : tensor<?x4x16xf32>, tensor<16x8xf32> -> tensor<?x4x8xf32>
    %r = blockc.add %l, %s : tensor<?x4x8xf32>, tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %d = blockc.kernel "elementwise" "k3_elementwise"(%c) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%i: tensor<?x4x8xf32>):
    %r = blockc.relu %i : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %e = blockc.kernel "matmul" "k4_matmul"(%d, %w816) : (tensor<?x4x8xf32>, tensor<8x16xf32>) -> tensor<?x4x16xf32> {
  ^bb0(%i: tensor<?x4x8xf32>, %w: tensor<8x16xf32>):
    %r = blockc.linear %i, %w : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
    blockc.yield %r : tensor<?x4x16xf32>
  }
  %f = blockc.kernel "matmul" "k5_matmul"(%e, %w1632) : (tensor<?x4x16xf32>, tensor<16x32xf32>) -> tensor<?x4x32xf32> {
  ^bb0(%i: tensor<?x4x16xf32>, %w: tensor<16x32xf32>):
    %r = blockc.linear %i, %w : tensor<?x4x16xf32>, tensor<16x32xf32> -> tensor<?x4x32xf32>
    blockc.yield %r : tensor<?x4x32xf32>
  }
  %y = blockc.kernel "matmul" "k6_matmul"(%f, %w328) : (tensor<?x4x32xf32>, tensor<32x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%i: tensor<?x4x32xf32>, %w: tensor<32x8xf32>):
    %r = blockc.linear %i, %w : tensor<?x4x32xf32>, tensor<32x8xf32> -> tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %y : tensor<?x4x8xf32>
}

// -----

// Prepare kernels get constant ids, one per result, numbered in order across kernels,
// and no slots; they do not take part in the slot plan.
// CHECK-LABEL: func.func @constants
// CHECK-SAME: attributes {blockc.slot_sizes = array<i64: 48>}
// CHECK: "p0_transpose"{{.*}} {constants = array<i64: 0>}
// CHECK-NOT: slots =
// CHECK: "p1_fold_bn_input"{{.*}} {constants = array<i64: 1, 2>}
// CHECK-NOT: slots =
// CHECK: "k0_matmul"{{.*}} {slots = array<i64: 0>}
// CHECK: "p2_transpose"{{.*}} {constants = array<i64: 3>}
// CHECK: "k1_matmul"{{.*}} {slots = array<i64: -1>}
func.func @constants(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %w1 = blockc.weight "fc1.weight" : tensor<12x8xf32>
  %g = blockc.weight "bn.weight" : tensor<8xf32>
  %w2 = blockc.weight "fc2.weight" : tensor<8x12xf32>
  %0 = blockc.kernel "prepare" "p0_transpose"(%w1) : (tensor<12x8xf32>) -> tensor<8x12xf32> {
  ^bb0(%a: tensor<12x8xf32>):
    %t = blockc.transpose %a : tensor<12x8xf32> -> tensor<8x12xf32>
    blockc.yield %t : tensor<8x12xf32>
  }
  %1:2 = blockc.kernel "prepare" "p1_fold_bn_input"(%0, %g) : (tensor<8x12xf32>, tensor<8xf32>) -> (tensor<8x12xf32>, tensor<12xf32>) {
  ^bb0(%a: tensor<8x12xf32>, %b: tensor<8xf32>):
    %fw, %fb = blockc.fold_bn_input %a, %b, %b, %b, %b {epsilon = 1.0e-5 : f64} : tensor<8x12xf32>, tensor<8xf32> -> tensor<8x12xf32>, tensor<12xf32>
    blockc.yield %fw, %fb : tensor<8x12xf32>, tensor<12xf32>
  }
  %2 = blockc.kernel "matmul" "k0_matmul"(%x, %1#0, %1#1) : (tensor<?x4x8xf32>, tensor<8x12xf32>, tensor<12xf32>) -> tensor<?x4x12xf32> {
  ^bb0(%a: tensor<?x4x8xf32>, %w: tensor<8x12xf32>, %b: tensor<12xf32>):
    %r = blockc.linear %a, %w, %b : tensor<?x4x8xf32>, tensor<8x12xf32>, tensor<12xf32> -> tensor<?x4x12xf32>
    blockc.yield %r : tensor<?x4x12xf32>
  }
  %3 = blockc.kernel "prepare" "p2_transpose"(%w2) : (tensor<8x12xf32>) -> tensor<12x8xf32> {
  ^bb0(%a: tensor<8x12xf32>):
    %t = blockc.transpose %a : tensor<8x12xf32> -> tensor<12x8xf32>
    blockc.yield %t : tensor<12x8xf32>
  }
  %4 = blockc.kernel "matmul" "k1_matmul"(%2, %3) : (tensor<?x4x12xf32>, tensor<12x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x12xf32>, %w: tensor<12x8xf32>):
    %r = blockc.linear %a, %w : tensor<?x4x12xf32>, tensor<12x8xf32> -> tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %4 : tensor<?x4x8xf32>
}

// -----

// A kernel with two results gets two distinct slots.
// CHECK-LABEL: func.func @two_results
// CHECK-SAME: attributes {blockc.slot_sizes = array<i64: 32, 32, 32>}
// CHECK: "k0_elementwise"{{.*}} {slots = array<i64: 0, 1>}
// CHECK: "k1_elementwise"{{.*}} {slots = array<i64: 2>}
// CHECK: "k2_elementwise"{{.*}} {slots = array<i64: -1>}
func.func @two_results(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %0:2 = blockc.kernel "elementwise" "k0_elementwise"(%x) : (tensor<?x4x8xf32>) -> (tensor<?x4x8xf32>, tensor<?x4x8xf32>) {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    %s = blockc.silu %a : tensor<?x4x8xf32>
    blockc.yield %r, %s : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  }
  %1 = blockc.kernel "elementwise" "k1_elementwise"(%0#0) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  %2 = blockc.kernel "elementwise" "k2_elementwise"(%1) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %2 : tensor<?x4x8xf32>
}
