// One slice feeding two mha operands is outlined once (it used to be cloned and erased twice).
// RUN: %blockc-opt %s --blockc-fuse-kernels | %FileCheck %s

// CHECK-LABEL: func.func @one_slice_as_query_and_key
// CHECK: blockc.kernel attention "k0_attention"
// CHECK-NEXT: ^bb0(%[[A:[^:]*]]: tensor<?x4x24xf32>):
// CHECK-NEXT: %[[Q:.*]] = blockc.slice %[[A]][0, 8]
// CHECK-NEXT: %[[V:.*]] = blockc.slice %[[A]][16, 8]
// CHECK-NEXT: %[[M:.*]] = blockc.mha %[[Q]], %[[Q]], %[[V]]
// CHECK-NEXT: blockc.yield %[[M]]
func.func @one_slice_as_query_and_key(%x: tensor<?x4x24xf32>) -> tensor<?x4x8xf32> {
  %q = blockc.slice %x[0, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %v = blockc.slice %x[16, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %m = blockc.mha %q, %q, %v {heads = 2 : i64} : tensor<?x4x8xf32>
  return %m : tensor<?x4x8xf32>
}
