// blockc-fuse-kernels: which ops form which kernel, kernel inputs/outputs, and naming.
// RUN: %blockc-opt %s -split-input-file --blockc-fuse-kernels | %FileCheck %s

// Pre-norm ViT block. LayerNorm is the prologue of the matmul it feeds; the bias is part of
// the linear, gelu its epilogue; the residual add the epilogue of the proj/fc2 matmuls.
// The attention kernel takes the packed qkv and slices it inside. Weight transposes run
// once (prepare). Names: p<i>_<first op> for prepare, k<i>_<kind> for the rest, in order.
// CHECK-LABEL: func.func @prenorm
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-DAG: %[[N1G:.*]] = blockc.weight "norm1.weight"
// CHECK-DAG: %[[N1B:.*]] = blockc.weight "norm1.bias"
// CHECK-DAG: %[[QKVW:.*]] = blockc.weight "attn.qkv.weight"
// CHECK-DAG: %[[QKVB:.*]] = blockc.weight "attn.qkv.bias"
// CHECK-DAG: %[[PW:.*]] = blockc.weight "attn.proj.weight"
// CHECK-DAG: %[[PB:.*]] = blockc.weight "attn.proj.bias"
// CHECK-DAG: %[[F2B:.*]] = blockc.weight "fc2.bias"
//
// CHECK: %[[QKVWT:.*]] = blockc.kernel prepare "p0_transpose"(%[[QKVW]]) : (tensor<24x8xf32>) -> tensor<8x24xf32> {
// CHECK-NEXT: ^bb0(%[[A0:[^:]*]]: tensor<24x8xf32>):
// CHECK-NEXT: %[[T:.*]] = blockc.transpose %[[A0]]
// CHECK-NEXT: blockc.yield %[[T]] : tensor<8x24xf32>
// CHECK-NEXT: }
//
// CHECK-NEXT: %[[QKV:.*]] = blockc.kernel matmul "k0_matmul"(%[[X]], %[[N1G]], %[[N1B]], %[[QKVWT]], %[[QKVB]]) : {{.*}} -> tensor<?x4x24xf32> {
// CHECK-NEXT: ^bb0(%[[A1:[^:]*]]: tensor<?x4x8xf32>, %[[A2:[^:]*]]: tensor<8xf32>, %[[A3:[^:]*]]: tensor<8xf32>, %[[A4:[^:]*]]: tensor<8x24xf32>, %[[A5:[^:]*]]: tensor<24xf32>):
// CHECK-NEXT: %[[N:.*]] = blockc.layer_norm %[[A1]], %[[A2]], %[[A3]]
// CHECK-NEXT: %[[L:.*]] = blockc.linear %[[N]], %[[A4]], %[[A5]]
// CHECK-NEXT: blockc.yield %[[L]] : tensor<?x4x24xf32>
// CHECK-NEXT: }
//
// CHECK-NEXT: %[[ATT:.*]] = blockc.kernel attention "k1_attention"(%[[QKV]]) : (tensor<?x4x24xf32>) -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0(%[[B0:[^:]*]]: tensor<?x4x24xf32>):
// CHECK-NEXT: %[[Q:.*]] = blockc.slice %[[B0]][0, 8]
// CHECK-NEXT: %[[K:.*]] = blockc.slice %[[B0]][8, 8]
// CHECK-NEXT: %[[V:.*]] = blockc.slice %[[B0]][16, 8]
// CHECK-NEXT: %[[M:.*]] = blockc.mha %[[Q]], %[[K]], %[[V]] {heads = 2 : i64}
// CHECK-NEXT: blockc.yield %[[M]] : tensor<?x4x8xf32>
// CHECK-NEXT: }
//
// CHECK-NEXT: %[[PWT:.*]] = blockc.kernel prepare "p1_transpose"(%[[PW]])
// CHECK: %[[X1:.*]] = blockc.kernel matmul "k2_matmul"(%[[ATT]], %[[PWT]], %[[PB]], %[[X]]) : {{.*}} -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0(%[[C0:[^:]*]]: tensor<?x4x8xf32>, %[[C1:[^:]*]]: tensor<8x8xf32>, %[[C2:[^:]*]]: tensor<8xf32>, %[[C3:[^:]*]]: tensor<?x4x8xf32>):
// CHECK-NEXT: %[[L2:.*]] = blockc.linear %[[C0]], %[[C1]], %[[C2]]
// CHECK-NEXT: %[[R:.*]] = blockc.add %[[C3]], %[[L2]]
// CHECK-NEXT: blockc.yield %[[R]]
// CHECK-NEXT: }
//
// CHECK-NEXT: blockc.kernel prepare "p2_transpose"
// CHECK: %[[H:.*]] = blockc.kernel matmul "k3_matmul"(%[[X1]], {{.*}}) : {{.*}} -> tensor<?x4x16xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.layer_norm
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.gelu
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
//
// CHECK-NEXT: %[[F2WT:.*]] = blockc.kernel prepare "p3_transpose"
// CHECK: %[[Y:.*]] = blockc.kernel matmul "k4_matmul"(%[[H]], %[[F2WT]], %[[F2B]], %[[X1]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.add
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[Y]]
// No op is left outside a kernel but the weights.
// CHECK-NOT: blockc.layer_norm
func.func @prenorm(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %n1g = blockc.weight "norm1.weight" : tensor<8xf32>
  %n1b = blockc.weight "norm1.bias" : tensor<8xf32>
  %qkvw = blockc.weight "attn.qkv.weight" : tensor<24x8xf32>
  %qkvb = blockc.weight "attn.qkv.bias" : tensor<24xf32>
  %pw = blockc.weight "attn.proj.weight" : tensor<8x8xf32>
  %pb = blockc.weight "attn.proj.bias" : tensor<8xf32>
  %n2g = blockc.weight "norm2.weight" : tensor<8xf32>
  %n2b = blockc.weight "norm2.bias" : tensor<8xf32>
  %f1w = blockc.weight "fc1.weight" : tensor<16x8xf32>
  %f1b = blockc.weight "fc1.bias" : tensor<16xf32>
  %f2w = blockc.weight "fc2.weight" : tensor<8x16xf32>
  %f2b = blockc.weight "fc2.bias" : tensor<8xf32>
  %n1 = blockc.layer_norm %x, %n1g, %n1b {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %qkvwt = blockc.transpose %qkvw : tensor<24x8xf32> -> tensor<8x24xf32>
  %qkv = blockc.linear %n1, %qkvwt, %qkvb : tensor<?x4x8xf32>, tensor<8x24xf32>, tensor<24xf32> -> tensor<?x4x24xf32>
  %q = blockc.slice %qkv[0, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %k = blockc.slice %qkv[8, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %v = blockc.slice %qkv[16, 8] : tensor<?x4x24xf32> -> tensor<?x4x8xf32>
  %a = blockc.mha %q, %k, %v {heads = 2 : i64} : tensor<?x4x8xf32>
  %pwt = blockc.transpose %pw : tensor<8x8xf32> -> tensor<8x8xf32>
  %p = blockc.linear %a, %pwt, %pb : tensor<?x4x8xf32>, tensor<8x8xf32>, tensor<8xf32> -> tensor<?x4x8xf32>
  %x1 = blockc.add %x, %p : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %n2 = blockc.layer_norm %x1, %n2g, %n2b {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %f1wt = blockc.transpose %f1w : tensor<16x8xf32> -> tensor<8x16xf32>
  %h = blockc.linear %n2, %f1wt, %f1b : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
  %g = blockc.gelu %h : tensor<?x4x16xf32>
  %f2wt = blockc.transpose %f2w : tensor<8x16xf32> -> tensor<16x8xf32>
  %o = blockc.linear %g, %f2wt, %f2b : tensor<?x4x16xf32>, tensor<16x8xf32>, tensor<8xf32> -> tensor<?x4x8xf32>
  %x2 = blockc.add %x1, %o : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  return %x2 : tensor<?x4x8xf32>
}

// -----

// Post-norm ("Add & Norm"): the residual add whose only user is the LayerNorm goes into a
// `norm` kernel with it, not into the epilogue of the matmul before; the LayerNorm, with
// two users (the next linear and the next residual add), is not a matmul prologue.
// CHECK-LABEL: func.func @postnorm
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>,
// CHECK: %[[P:.*]] = blockc.kernel matmul "k0_matmul"(%[[X]], {{.*}}) : {{.*}} -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[X1:.*]] = blockc.kernel norm "k1_norm"(%[[X]], %[[P]], %{{[^,]*}}) : {{.*}} -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0(%[[A0:[^:]*]]: tensor<?x4x8xf32>, %[[A1:[^:]*]]: tensor<?x4x8xf32>, %[[A2:[^:]*]]: tensor<8xf32>):
// CHECK-NEXT: %[[S:.*]] = blockc.add %[[A0]], %[[A1]]
// CHECK-NEXT: %[[N:.*]] = blockc.layer_norm %[[S]], %[[A2]], %[[A2]] {epsilon = 9.9999999999999998E-13 : f64}
// CHECK-NEXT: blockc.yield %[[N]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[H:.*]] = blockc.kernel matmul "k2_matmul"(%[[X1]], {{.*}}) : {{.*}} -> tensor<?x4x16xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.relu
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[O:.*]] = blockc.kernel matmul "k3_matmul"(%[[H]], {{.*}}) : {{.*}} -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[Y:.*]] = blockc.kernel norm "k4_norm"(%[[X1]], %[[O]], {{.*}}) : {{.*}} -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.add
// CHECK-NEXT: blockc.layer_norm
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[Y]]
func.func @postnorm(%x: tensor<?x4x8xf32>, %w1: tensor<8x8xf32>, %w2: tensor<8x16xf32>,
                    %w3: tensor<16x8xf32>, %g: tensor<8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.linear %x, %w1 : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %s1 = blockc.add %x, %p : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %x1 = blockc.layer_norm %s1, %g, %g {epsilon = 1.0e-12 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %h = blockc.linear %x1, %w2 : tensor<?x4x8xf32>, tensor<8x16xf32> -> tensor<?x4x16xf32>
  %r = blockc.relu %h : tensor<?x4x16xf32>
  %o = blockc.linear %r, %w3 : tensor<?x4x16xf32>, tensor<16x8xf32> -> tensor<?x4x8xf32>
  %s2 = blockc.add %x1, %o : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %y = blockc.layer_norm %s2, %g, %g {epsilon = 1.0e-12 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  return %y : tensor<?x4x8xf32>
}

// -----

// A norm with several users (separate q, k, v linears) is computed once, in its own `norm`
// kernel; each linear is its own matmul; mha with no slices is an attention kernel alone.
// CHECK-LABEL: func.func @shared_norm
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>
// CHECK: %[[N:.*]] = blockc.kernel norm "k0_norm"(%[[X]], %{{.*}}) : (tensor<?x4x8xf32>, tensor<8xf32>) -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.rms_norm
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[Q:.*]] = blockc.kernel matmul "k1_matmul"(%[[N]], %{{[^)]*}})
// CHECK-NOT: rms_norm
// CHECK: %[[K:.*]] = blockc.kernel matmul "k2_matmul"(%[[N]], %{{[^)]*}})
// CHECK: %[[V:.*]] = blockc.kernel matmul "k3_matmul"(%[[N]], %{{[^)]*}})
// CHECK: %[[A:.*]] = blockc.kernel attention "k4_attention"(%[[Q]], %[[K]], %[[V]])
// CHECK-NEXT: ^bb0(%[[A0:[^:]*]]: tensor<?x4x8xf32>, %[[A1:[^:]*]]: tensor<?x4x8xf32>, %[[A2:[^:]*]]: tensor<?x4x8xf32>):
// CHECK-NEXT: %[[M:.*]] = blockc.mha %[[A0]], %[[A1]], %[[A2]]
// CHECK-NEXT: blockc.yield %[[M]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[Y:.*]] = blockc.kernel matmul "k5_matmul"(%[[A]], %{{.*}}, %[[X]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.add
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[Y]]
func.func @shared_norm(%x: tensor<?x4x8xf32>, %g: tensor<8xf32>, %wq: tensor<8x8xf32>,
                       %wk: tensor<8x8xf32>, %wv: tensor<8x8xf32>, %wo: tensor<8x8xf32>) -> tensor<?x4x8xf32> {
  %n = blockc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %q = blockc.linear %n, %wq : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %k = blockc.linear %n, %wk : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %v = blockc.linear %n, %wv : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %a = blockc.mha %q, %k, %v {heads = 4 : i64} : tensor<?x4x8xf32>
  %o = blockc.linear %a, %wo : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %y = blockc.add %o, %x : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  return %y : tensor<?x4x8xf32>
}

// -----

// Weight-only computations become prepare kernels, one per op, in order: the transpose
// and the BatchNorm fold that reads it (two results). The matmul reads both results.
// Kernel inputs are deduplicated (gamma = beta = mean = var here).
// CHECK-LABEL: func.func @prepare_kernels
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>)
// CHECK-DAG: %[[G:.*]] = blockc.weight "bn.weight"
// CHECK-DAG: %[[W:.*]] = blockc.weight "fc.weight"
// CHECK-DAG: %[[B:.*]] = blockc.weight "fc.bias"
// CHECK: %[[WT:.*]] = blockc.kernel prepare "p0_transpose"(%[[W]]) : (tensor<16x8xf32>) -> tensor<8x16xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.transpose
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[F:.*]]:2 = blockc.kernel prepare "p1_fold_bn_input"(%[[WT]], %[[G]], %[[B]]) : {{.*}} -> (tensor<8x16xf32>, tensor<16xf32>) {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: %[[FW:[^,]*]], %[[FB:.*]] = blockc.fold_bn_input
// CHECK-NEXT: blockc.yield %[[FW]], %[[FB]] : tensor<8x16xf32>, tensor<16xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[Y:.*]] = blockc.kernel matmul "k0_matmul"(%[[X]], %[[F]]#0, %[[F]]#1)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[Y]]
func.func @prepare_kernels(%x: tensor<?x4x8xf32>) -> tensor<?x4x16xf32> {
  %g = blockc.weight "bn.weight" : tensor<8xf32>
  %w = blockc.weight "fc.weight" : tensor<16x8xf32>
  %b = blockc.weight "fc.bias" : tensor<16xf32>
  %wt = blockc.transpose %w : tensor<16x8xf32> -> tensor<8x16xf32>
  %fw, %fb = blockc.fold_bn_input %wt, %g, %g, %g, %g, %b {epsilon = 1.0e-5 : f64} : tensor<8x16xf32>, tensor<8xf32>, tensor<16xf32> -> tensor<8x16xf32>, tensor<16xf32>
  %y = blockc.linear %x, %fw, %fb : tensor<?x4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x4x16xf32>
  return %y : tensor<?x4x16xf32>
}

// -----

// Sandwich norm, LayerScale and DeepNorm. The post-attention LayerNorm (input from a
// linear, one user: the residual add) becomes a norm kernel with the add as its epilogue.
// LayerScale's mul and the residual add are the epilogue of the matmul. The scaled
// residual of DeepNorm is an `elementwise` kernel of its own.
// CHECK-LABEL: func.func @sandwich_layerscale_deepnorm
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>, %[[W:[^:]*]]: tensor<8x8xf32>, %[[G:[^:]*]]: tensor<8xf32>)
// CHECK: %[[P:.*]] = blockc.kernel matmul "k0_matmul"(%[[X]], %[[W]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[X1:.*]] = blockc.kernel norm "k1_norm"(%[[P]], %[[G]], %[[X]])
// CHECK-NEXT: ^bb0(%[[A0:[^:]*]]: tensor<?x4x8xf32>, %[[A1:[^:]*]]: tensor<8xf32>, %[[A3:[^:]*]]: tensor<?x4x8xf32>):
// CHECK-NEXT: %[[N:.*]] = blockc.layer_norm %[[A0]], %[[A1]], %[[A1]]
// CHECK-NEXT: %[[S:.*]] = blockc.add %[[A3]], %[[N]]
// CHECK-NEXT: blockc.yield %[[S]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[X2:.*]] = blockc.kernel matmul "k2_matmul"(%[[X1]], %[[W]], %[[G]])
// CHECK-NEXT: ^bb0(%[[B0:[^:]*]]: tensor<?x4x8xf32>, %[[B1:[^:]*]]: tensor<8x8xf32>, %[[B2:[^:]*]]: tensor<8xf32>):
// CHECK-NEXT: %[[L:.*]] = blockc.linear %[[B0]], %[[B1]]
// CHECK-NEXT: %[[LS:.*]] = blockc.mul %[[L]], %[[B2]]
// CHECK-NEXT: blockc.add %[[B0]], %[[LS]]
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[SC:.*]] = blockc.kernel elementwise "k3_elementwise"(%[[X2]]) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.scale
// CHECK-SAME: by 2.000000e+00
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[O:.*]] = blockc.kernel matmul "k4_matmul"(%[[X2]], %[[W]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[Y:.*]] = blockc.kernel norm "k5_norm"(%[[SC]], %[[O]], %[[G]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.add
// CHECK-NEXT: blockc.layer_norm
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[Y]]
func.func @sandwich_layerscale_deepnorm(%x: tensor<?x4x8xf32>, %w: tensor<8x8xf32>, %g: tensor<8xf32>) -> tensor<?x4x8xf32> {
  %p = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %n = blockc.layer_norm %p, %g, %g {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %x1 = blockc.add %x, %n : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %q = blockc.linear %x1, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %ls = blockc.mul %q, %g : tensor<?x4x8xf32>, tensor<8xf32>
  %x2 = blockc.add %x1, %ls : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %sc = blockc.scale %x2 by 2.0 : tensor<?x4x8xf32>
  %o = blockc.linear %x2, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %s = blockc.add %sc, %o : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  %y = blockc.layer_norm %s, %g, %g {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  return %y : tensor<?x4x8xf32>
}

// -----

// An unfolded BatchNorm (after a linear with two users) is elementwise: it starts an
// `elementwise` kernel that also takes the single-use chain after it (relu, add).
// CHECK-LABEL: func.func @unfolded_batchnorm
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x8xf32>
// CHECK: %[[H:.*]] = blockc.kernel matmul "k0_matmul"(%[[X]], %{{[^)]*}})
// CHECK-NEXT: ^bb0
// CHECK-NEXT: blockc.linear
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[Y:.*]] = blockc.kernel elementwise "k1_elementwise"(%[[H]], %{{[^,]*}}) : (tensor<?x4x8xf32>, tensor<8xf32>) -> tensor<?x4x8xf32>
// CHECK-NEXT: ^bb0(%[[A0:[^:]*]]: tensor<?x4x8xf32>
// CHECK-NEXT: %[[N:.*]] = blockc.batch_norm %[[A0]]
// CHECK-NEXT: %[[R:.*]] = blockc.relu %[[N]]
// CHECK-NEXT: blockc.add %[[R]], %[[A0]]
// CHECK-NEXT: blockc.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[Y]]
func.func @unfolded_batchnorm(%x: tensor<?x4x8xf32>, %w: tensor<8x8xf32>, %g: tensor<8xf32>) -> tensor<?x4x8xf32> {
  %h = blockc.linear %x, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %n = blockc.batch_norm %h, %g, %g, %g, %g {epsilon = 1.0e-5 : f64} : tensor<?x4x8xf32>, tensor<8xf32>
  %r = blockc.relu %n : tensor<?x4x8xf32>
  %y = blockc.add %r, %h : tensor<?x4x8xf32>, tensor<?x4x8xf32>
  return %y : tensor<?x4x8xf32>
}
