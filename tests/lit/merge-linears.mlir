// blockc-merge-linears: linears of one input read only by attentions become one linear over
// weights and biases joined at bind time, read by the attention as slices.
// RUN: %blockc-opt %s -split-input-file --blockc-merge-linears | %FileCheck %s

// BERT's query, key and value.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x5x8xf32>, %[[MASK:[^:]*]]: tensor<?x5xi64>)
// CHECK-DAG: %[[QW:.*]] = blockc.weight "q.weight"
// CHECK-DAG: %[[KW:.*]] = blockc.weight "k.weight"
// CHECK-DAG: %[[VW:.*]] = blockc.weight "v.weight"
// CHECK-DAG: %[[QB:.*]] = blockc.weight "q.bias"
// CHECK-DAG: %[[KB:.*]] = blockc.weight "k.bias"
// CHECK-DAG: %[[VB:.*]] = blockc.weight "v.bias"
// CHECK-NOT: blockc.transpose
// CHECK: %[[J:.*]] = blockc.concat %[[QW]], %[[KW]], %[[VW]] : tensor<6x8xf32>, tensor<6x8xf32>, tensor<6x8xf32> -> tensor<18x8xf32>
// CHECK-NEXT: %[[T:.*]] = blockc.transpose %[[J]] : tensor<18x8xf32> -> tensor<8x18xf32>
// CHECK-NEXT: %[[B:.*]] = blockc.concat %[[QB]], %[[KB]], %[[VB]] : tensor<6xf32>, tensor<6xf32>, tensor<6xf32> -> tensor<18xf32>
// CHECK-NEXT: %[[Y:.*]] = blockc.linear %[[X]], %[[T]], %[[B]] : tensor<?x5x8xf32>, tensor<8x18xf32>, tensor<18xf32> -> tensor<?x5x18xf32>
// CHECK-NEXT: %[[Q:.*]] = blockc.slice %[[Y]][0, 6]
// CHECK-NEXT: %[[K:.*]] = blockc.slice %[[Y]][6, 6]
// CHECK-NEXT: %[[V:.*]] = blockc.slice %[[Y]][12, 6]
// CHECK-NEXT: blockc.mha %[[Q]], %[[K]], %[[V]] mask %[[MASK]]
// CHECK-NOT: blockc.linear
func.func @qkv(%x: tensor<?x5x8xf32>, %mask: tensor<?x5xi64>) -> tensor<?x5x6xf32> {
  %qw = blockc.weight "q.weight" : tensor<6x8xf32>
  %qb = blockc.weight "q.bias" : tensor<6xf32>
  %kw = blockc.weight "k.weight" : tensor<6x8xf32>
  %kb = blockc.weight "k.bias" : tensor<6xf32>
  %vw = blockc.weight "v.weight" : tensor<6x8xf32>
  %vb = blockc.weight "v.bias" : tensor<6xf32>
  %qwt = blockc.transpose %qw : tensor<6x8xf32> -> tensor<8x6xf32>
  %q = blockc.linear %x, %qwt, %qb : tensor<?x5x8xf32>, tensor<8x6xf32>, tensor<6xf32> -> tensor<?x5x6xf32>
  %kwt = blockc.transpose %kw : tensor<6x8xf32> -> tensor<8x6xf32>
  %k = blockc.linear %x, %kwt, %kb : tensor<?x5x8xf32>, tensor<8x6xf32>, tensor<6xf32> -> tensor<?x5x6xf32>
  %vwt = blockc.transpose %vw : tensor<6x8xf32> -> tensor<8x6xf32>
  %v = blockc.linear %x, %vwt, %vb : tensor<?x5x8xf32>, tensor<8x6xf32>, tensor<6xf32> -> tensor<?x5x6xf32>
  %m = blockc.mha %q, %k, %v mask %mask : tensor<?x5xi64> {heads = 2 : i64} : tensor<?x5x6xf32>
  return %m : tensor<?x5x6xf32>
}

// -----

// A linear also read by something else than an attention, or one without a bias beside
// ones with, stays apart: nothing merges here.
// CHECK-LABEL: func.func @kept_apart
// CHECK-NOT: blockc.concat
// CHECK-COUNT-4: blockc.linear
// CHECK-NOT: blockc.concat
func.func @kept_apart(%x: tensor<?x5x8xf32>, %x2: tensor<?x5x8xf32>) -> (tensor<?x5x6xf32>, tensor<?x5x6xf32>) {
  %w = blockc.weight "a.weight" : tensor<6x8xf32>
  %b = blockc.weight "a.bias" : tensor<6xf32>
  %wt = blockc.transpose %w : tensor<6x8xf32> -> tensor<8x6xf32>
  %q = blockc.linear %x, %wt, %b : tensor<?x5x8xf32>, tensor<8x6xf32>, tensor<6xf32> -> tensor<?x5x6xf32>
  %k = blockc.linear %x, %wt, %b : tensor<?x5x8xf32>, tensor<8x6xf32>, tensor<6xf32> -> tensor<?x5x6xf32>
  %m = blockc.mha %q, %k, %k {heads = 2 : i64} : tensor<?x5x6xf32>
  %s = blockc.add %m, %q : tensor<?x5x6xf32>, tensor<?x5x6xf32>
  %y = blockc.linear %x2, %wt, %b : tensor<?x5x8xf32>, tensor<8x6xf32>, tensor<6xf32> -> tensor<?x5x6xf32>
  %z = blockc.linear %x2, %wt : tensor<?x5x8xf32>, tensor<8x6xf32> -> tensor<?x5x6xf32>
  %n = blockc.mha %y, %z, %z {heads = 2 : i64} : tensor<?x5x6xf32>
  return %s, %n : tensor<?x5x6xf32>, tensor<?x5x6xf32>
}
