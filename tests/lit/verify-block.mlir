// The block-level invariants of the blockc-verify pass (compiler/lib/Transforms/VerifyBlock.cpp).
// Every error below is expected; the well-formed block (first split) passes unchanged.
// RUN: %blockc-opt %s -split-input-file -verify-diagnostics --blockc-verify | %FileCheck %s

// CHECK-LABEL: func.func @ok
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x8xf32>) -> tensor<?x4x8xf32>
// CHECK: %[[G:.*]] = blockc.weight "n.weight" : tensor<8xf32>
// CHECK: %[[G2:.*]] = blockc.weight "n.weight" : tensor<8xf32>
// CHECK: %[[N:.*]] = blockc.rms_norm %[[X]], %[[G]]
// CHECK: %[[N2:.*]] = blockc.rms_norm %[[N]], %[[G2]]
// CHECK: return %[[N2]]
func.func @ok(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %g = blockc.weight "n.weight" : tensor<8xf32>
  // The same name bound twice to one shape is fine (a layer applied twice).
  %g2 = blockc.weight "n.weight" : tensor<8xf32>
  %n = blockc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %n2 = blockc.rms_norm %n, %g2 {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  return %n2 : tensor<?x4x8xf32>
}

// -----

// A model may have several inputs and outputs, of other shapes than each other.
func.func @two_inputs_two_outputs(%x: tensor<?x4x8xf32>, %y: tensor<?x4x8xf32>)
    -> (tensor<?x4x8xf32>, tensor<?x4x16xf32>) {
  %w = blockc.weight "w" : tensor<8x16xf32>
  %0 = blockc.add %x, %y : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %1 = blockc.linear %0, %w : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
  return %0, %1 : tensor<?x4x8xf32>, tensor<?x4x16xf32>
}

// -----

func.func @input_returned(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{an output must be computed by the block or model, and be no input and no other output}}
  return %x : tensor<?x4x8xf32>
}

// -----

func.func @output_twice(%x: tensor<?x4x8xf32>) -> (tensor<?x4x8xf32>, tensor<?x4x8xf32>) {
  %0 = blockc.relu %x : tensor<?x4x8xf32>
  // expected-error @+1 {{an output must be computed by the block or model, and be no input and no other output}}
  return %0, %0 : tensor<?x4x8xf32>, tensor<?x4x8xf32>
}

// -----

// expected-error @+1 {{a block or model maps one or more tensors to one or more tensors}}
func.func @no_result(%x: tensor<?x4x8xf32>) {
  return
}

// -----

// expected-error @+1 {{inputs and outputs must be tensor<?x...xf32> (inputs also tensor<?xNxi64> or i32), the batch dynamic and every other size static (the tokens may be dynamic with blockc.max_tokens), got 'tensor<2x4x8xf32>'}}
func.func @static_batch(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %0 = blockc.relu %x : tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

// expected-error @+1 {{inputs and outputs must be tensor<?x...xf32> (inputs also tensor<?xNxi64> or i32), the batch dynamic and every other size static (the tokens may be dynamic with blockc.max_tokens), got 'tensor<?x?x8xf32>'}}
func.func @dynamic_tokens(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %0 = blockc.relu %x : tensor<?x?x8xf32>
  return %0 : tensor<?x?x8xf32>
}

// -----

// expected-error @+1 {{inputs and outputs must be tensor<?x...xf32> (inputs also tensor<?xNxi64> or i32), the batch dynamic and every other size static (the tokens may be dynamic with blockc.max_tokens), got 'tensor<?xf32>'}}
func.func @rank1(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

// -----

func.func @one_name_two_shapes(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %g = blockc.weight "n.weight" : tensor<8xf32>
  %w = blockc.weight "fc.weight" : tensor<8x8xf32>
  // expected-error @+1 {{weight 'n.weight' used as 'tensor<1x8xf32>' and as 'tensor<8xf32>'}}
  %g2 = blockc.weight "n.weight" : tensor<1x8xf32>
  %n = blockc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %0 = blockc.linear %n, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %1 = blockc.relu %g2 : tensor<1x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @unused_weight(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %g = blockc.weight "n.weight" : tensor<8xf32>
  // expected-error @+1 {{weight 'n.bias' is never used}}
  %b = blockc.weight "n.bias" : tensor<8xf32>
  %n = blockc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  return %n : tensor<?x4x8xf32>
}

// -----

// Token ids come in; every output is float32.
// expected-error @+1 {{inputs and outputs must be tensor<?x...xf32> (inputs also tensor<?xNxi64> or i32), the batch dynamic and every other size static (the tokens may be dynamic with blockc.max_tokens), got 'tensor<?x4xi64>'}}
func.func @integer_output(%ids: tensor<?x4xi64>) -> tensor<?x4xi64> {
  %0 = blockc.positions %ids : tensor<?x4xi64>
  return %0 : tensor<?x4xi64>
}
