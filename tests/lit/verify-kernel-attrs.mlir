// The attributes blockc-plan-buffers leaves on a kernel for the lowering (KernelOp::verify
// in dialect/lib/BlockcOps.cpp): slots on run kernels only, one per result, each an arena
// slot of the function or -1; constants on prepare kernels only, one id per result. The
// well-formed kernels (first split) are accepted and printed with the kind as a keyword.
// RUN: %blockc-opt %s -split-input-file -verify-diagnostics | %FileCheck %s

// CHECK-LABEL: func.func @planned
// CHECK-SAME: attributes {blockc.slot_sizes = array<i64: 32>}
// CHECK: %[[W:.*]] = blockc.kernel prepare "p0_transpose"(%{{.*}}) {constants = array<i64: 0>}
// CHECK: %[[A:.*]] = blockc.kernel matmul "k0_matmul"(%{{.*}}, %[[W]]) {slots = array<i64: 0>}
// CHECK: blockc.kernel elementwise "k1_elementwise"(%[[A]]) {slots = array<i64: -1>}
func.func @planned(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.slot_sizes = array<i64: 32>} {
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  // The kind parses as a keyword or, as when it was a string, quoted.
  %wt = blockc.kernel "prepare" "p0_transpose"(%w) {constants = array<i64: 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32> {
  ^bb0(%a: tensor<8x8xf32>):
    %t = blockc.transpose %a : tensor<8x8xf32> -> tensor<8x8xf32>
    blockc.yield %t : tensor<8x8xf32>
  }
  %0 = blockc.kernel matmul "k0_matmul"(%x, %wt) {slots = array<i64: 0>} : (tensor<?x4x8xf32>, tensor<8x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>, %b: tensor<8x8xf32>):
    %l = blockc.linear %a, %b : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
    blockc.yield %l : tensor<?x4x8xf32>
  }
  %1 = blockc.kernel elementwise "k1_elementwise"(%0) {slots = array<i64: -1>} : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %1 : tensor<?x4x8xf32>
}

// -----

func.func @slots_on_prepare() -> tensor<8x8xf32> {
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'blockc.kernel' op a prepare kernel's results are constants, not slots}}
  %0 = blockc.kernel prepare "p0_transpose"(%w) {slots = array<i64: 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32> {
  ^bb0(%a: tensor<8x8xf32>):
    %t = blockc.transpose %a : tensor<8x8xf32> -> tensor<8x8xf32>
    blockc.yield %t : tensor<8x8xf32>
  }
  return %0 : tensor<8x8xf32>
}

// -----

func.func @slots_per_result(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op expects one slot per result, got 2 for 1}}
  %0 = blockc.kernel elementwise "k0_elementwise"(%x) {slots = array<i64: 0, 1>} : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @slot_below_output(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op slot -2 is neither an arena slot nor -1}}
  %0 = blockc.kernel elementwise "k0_elementwise"(%x) {slots = array<i64: -2>} : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @slot_past_the_arena(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.slot_sizes = array<i64: 32, 32>} {
  // expected-error @+1 {{'blockc.kernel' op slot 2 is not one of the function's 2 slots}}
  %0 = blockc.kernel elementwise "k0_elementwise"(%x) {slots = array<i64: 2>} : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @slots_not_i64_array(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op attribute 'slots' failed to satisfy constraint: i64 dense array attribute}}
  %0 = blockc.kernel elementwise "k0_elementwise"(%x) {slots = [0]} : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @constants_on_run_kernel(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.kernel' op a run kernel's results live in slots, not constants}}
  %0 = blockc.kernel elementwise "k0_elementwise"(%x) {constants = array<i64: 0>} : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  ^bb0(%a: tensor<?x4x8xf32>):
    %r = blockc.relu %a : tensor<?x4x8xf32>
    blockc.yield %r : tensor<?x4x8xf32>
  }
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @constants_per_result() -> tensor<8x8xf32> {
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'blockc.kernel' op expects one constant per result, got 0 for 1}}
  %0 = blockc.kernel prepare "p0_transpose"(%w) {constants = array<i64>} : (tensor<8x8xf32>) -> tensor<8x8xf32> {
  ^bb0(%a: tensor<8x8xf32>):
    %t = blockc.transpose %a : tensor<8x8xf32> -> tensor<8x8xf32>
    blockc.yield %t : tensor<8x8xf32>
  }
  return %0 : tensor<8x8xf32>
}

// -----

func.func @negative_constant() -> tensor<8x8xf32> {
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'blockc.kernel' op constant id -1 is negative}}
  %0 = blockc.kernel prepare "p0_transpose"(%w) {constants = array<i64: -1>} : (tensor<8x8xf32>) -> tensor<8x8xf32> {
  ^bb0(%a: tensor<8x8xf32>):
    %t = blockc.transpose %a : tensor<8x8xf32> -> tensor<8x8xf32>
    blockc.yield %t : tensor<8x8xf32>
  }
  return %0 : tensor<8x8xf32>
}
