// Verifier arithmetic on hand-written attributes: negative heads are printed as negative, and
// a slice size that would overflow offset + size is rejected.
// RUN: %blockc-opt %s -split-input-file -verify-diagnostics

func.func @mha_negative_heads(%q: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  // expected-error @+1 {{'blockc.mha' op -2 heads do not divide 8 channels}}
  %0 = blockc.mha %q, %q, %q {heads = -2 : i64} : tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// -----

func.func @slice_size_overflow(%x: tensor<?x4x24xf32>) -> tensor<?x4x9223372036854775807xf32> {
  // expected-error @+1 {{'blockc.slice' op range}}
  %0 = blockc.slice %x[16, 9223372036854775807] : tensor<?x4x24xf32> -> tensor<?x4x9223372036854775807xf32>
  return %0 : tensor<?x4x9223372036854775807xf32>
}
