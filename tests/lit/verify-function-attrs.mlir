// The function attributes the dialect declares for the lowering
// (BlockcDialect::verifyOperationAttribute in dialect/lib/BlockcDialect.cpp):
// blockc.slot_sizes and blockc.ignored_weights, on a block's func.func, well-typed.
// RUN: %blockc-opt %s -split-input-file -verify-diagnostics | %FileCheck %s

// CHECK-LABEL: func.func @declared
// CHECK-SAME: attributes {blockc.ignored_weights = ["bn.num_batches_tracked"], blockc.slot_sizes = array<i64: 32, 64>}
func.func @declared(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.ignored_weights = ["bn.num_batches_tracked"], blockc.slot_sizes = array<i64: 32, 64>} {
  return %x : tensor<?x4x8xf32>
}

// -----

// expected-error @+1 {{'blockc.slot_sizes' expects an array<i64> of elements per sample}}
func.func @slot_sizes_not_i64_array(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.slot_sizes = [32]} {
  return %x : tensor<?x4x8xf32>
}

// -----

// expected-error @+1 {{'blockc.slot_sizes' expects non-negative sizes, got array<i64: 32, -1>}}
func.func @negative_slot_size(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.slot_sizes = array<i64: 32, -1>} {
  return %x : tensor<?x4x8xf32>
}

// -----

// expected-error @+1 {{'blockc.ignored_weights' expects an array of state-dict names, got [1]}}
func.func @ignored_weights_not_names(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.ignored_weights = [1]} {
  return %x : tensor<?x4x8xf32>
}

// -----

func.func @slot_sizes_off_function(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.slot_sizes' is an attribute of a block's func.func}}
  %0 = blockc.relu %x {blockc.slot_sizes = array<i64: 32>} : tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

// expected-error @+1 {{unknown blockc attribute 'blockc.slots'}}
func.func @unknown_attribute(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> attributes {blockc.slots = array<i64: 0>} {
  return %x : tensor<?x4x8xf32>
}
