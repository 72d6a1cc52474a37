// RUN: llm-opt %s -split-input-file --llm-route-experts --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-route-experts=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// A decoding step of an eager mixture of experts as the importer pads it:
// 2 rows (top 2 of one token), 3 experts, each flagged by a slice of the
// one-hot mask and computing silu(x W1 + b1) W2 times the row's gate. Every
// select reads one routed result: each row's expert index from the flags,
// the experts' weights (stored [E, N, K]) and biases stacked and gathered
// by it, the products as [2, 1, K] x [2, N, K]ᵀ. The experts' own products
// go.
// CHECK-LABEL: func @decode
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>, %[[SEL:.*]]: tensor<1x2x1xi64>, %[[G:.*]]: tensor<2x1xf32>)
// CHECK-NOT: tensor<4x8xf32>
// CHECK-DAG: %[[F1:.*]] = llm.reshape %{{.*}} : (tensor<2x1xi1>) -> tensor<2xi1>
// CHECK-DAG: %[[I1:.*]] = llm.where %[[F1]], %{{.*}}, %{{.*}} : (tensor<2xi1>, tensor<i64>, tensor<i64>) -> tensor<2xi64>
// CHECK-DAG: %[[F2:.*]] = llm.reshape %{{.*}} : (tensor<2x1xi1>) -> tensor<2xi1>
// CHECK: %[[I2:.*]] = llm.where %[[F2]], %{{.*}}, %[[I1]] : (tensor<2xi1>, tensor<i64>, tensor<2xi64>) -> tensor<2xi64>
// CHECK-DAG: %[[W1:.*]] = llm.constant dense<{{.*}}> : tensor<3x8x4xf32>
// CHECK-DAG: %[[B1:.*]] = llm.constant dense<{{\[}}[1.000000e-01, {{.*}}], [2.000000e-01, {{.*}}], [3.000000e-01, {{.*}}]]> : tensor<3x8xf32>
// CHECK-DAG: %[[W2:.*]] = llm.constant dense<{{.*}}> : tensor<3x4x8xf32>
// CHECK-DAG: %[[GW1:.*]] = llm.gather %[[W1]], %[[I2]] {axis = 0 : i64} : (tensor<3x8x4xf32>, tensor<2xi64>) -> tensor<2x8x4xf32>
// CHECK-DAG: %[[GB1:.*]] = llm.gather %[[B1]], %[[I2]] {axis = 0 : i64} : (tensor<3x8xf32>, tensor<2xi64>) -> tensor<2x8xf32>
// CHECK-DAG: %[[GW2:.*]] = llm.gather %[[W2]], %[[I2]] {axis = 0 : i64} : (tensor<3x4x8xf32>, tensor<2xi64>) -> tensor<2x4x8xf32>
// CHECK-DAG: %[[X3:.*]] = llm.reshape %[[X]] : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
// CHECK: %[[H3:.*]] = llm.matmul %[[X3]], %[[GW1]] {transpose_rhs = true} : (tensor<2x1x4xf32>, tensor<2x8x4xf32>) -> tensor<2x1x8xf32>
// CHECK: %[[H:.*]] = llm.reshape %[[H3]] : (tensor<2x1x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[A:.*]] = llm.add %[[H]], %[[GB1]] : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[S:.*]] = llm.silu %[[A]]
// CHECK: %[[S3:.*]] = llm.reshape %[[S]] : (tensor<2x8xf32>) -> tensor<2x1x8xf32>
// CHECK: %[[Y3:.*]] = llm.matmul %[[S3]], %[[GW2]] {transpose_rhs = true} : (tensor<2x1x8xf32>, tensor<2x4x8xf32>) -> tensor<2x1x4xf32>
// CHECK: %[[Y:.*]] = llm.reshape %[[Y3]] : (tensor<2x1x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[Z:.*]] = llm.mul %[[Y]], %[[G]]
// CHECK-DAG: %[[U0:.*]] = llm.where %{{.*}}, %[[Z]], %{{.*}} : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-DAG: %[[U1:.*]] = llm.where %{{.*}}, %[[Z]], %{{.*}} : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-DAG: %[[U2:.*]] = llm.where %{{.*}}, %[[Z]], %{{.*}} : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NOT: llm.matmul
// CHECK: return %[[U0]], %[[U1]], %[[U2]]
// REMARK: remark: llm-route-experts: groups 1, experts 3
func.func @decode(%x: tensor<2x4xf32>, %sel: tensor<1x2x1xi64>, %g: tensor<2x1xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %iota = llm.constant dense<[[[0, 1, 2]]]> : tensor<1x1x3xi64>
  %one = llm.constant dense<1> : tensor<i64>
  %zero = llm.constant dense<0> : tensor<i64>
  %c1 = llm.constant dense<1> : tensor<i64>
  %c2 = llm.constant dense<2> : tensor<i64>
  %zeros = llm.constant dense<0.0> : tensor<2x4xf32>
  %eq = llm.equal %sel, %iota : (tensor<1x2x1xi64>, tensor<1x1x3xi64>) -> tensor<1x2x3xi1>
  %onehot = llm.where %eq, %one, %zero : (tensor<1x2x3xi1>, tensor<i64>, tensor<i64>) -> tensor<1x2x3xi64>
  %mask = llm.transpose %onehot {permutation = array<i64: 2, 1, 0>} : (tensor<1x2x3xi64>) -> tensor<3x2x1xi64>
  %m0 = llm.gather %mask, %zero {axis = 0 : i64} : (tensor<3x2x1xi64>, tensor<i64>) -> tensor<2x1xi64>
  %f0 = llm.cast %m0 : (tensor<2x1xi64>) -> tensor<2x1xi1>
  %w10 = llm.constant dense<1.0> : tensor<4x8xf32>
  %b10 = llm.constant dense<0.1> : tensor<8xf32>
  %w20 = llm.constant dense<1.5> : tensor<8x4xf32>
  %h0 = llm.matmul %x, %w10 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %a0 = llm.add %h0, %b10 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %s0 = llm.silu %a0 : tensor<2x8xf32>
  %y0 = llm.matmul %s0, %w20 : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %z0 = llm.mul %y0, %g : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %u0 = llm.where %f0, %z0, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %m1 = llm.gather %mask, %c1 {axis = 0 : i64} : (tensor<3x2x1xi64>, tensor<i64>) -> tensor<2x1xi64>
  %f1 = llm.cast %m1 : (tensor<2x1xi64>) -> tensor<2x1xi1>
  %w11 = llm.constant dense<2.0> : tensor<4x8xf32>
  %b11 = llm.constant dense<0.2> : tensor<8xf32>
  %w21 = llm.constant dense<2.5> : tensor<8x4xf32>
  %h1 = llm.matmul %x, %w11 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %a1 = llm.add %h1, %b11 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %s1 = llm.silu %a1 : tensor<2x8xf32>
  %y1 = llm.matmul %s1, %w21 : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %z1 = llm.mul %y1, %g : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %u1 = llm.where %f1, %z1, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %m2 = llm.gather %mask, %c2 {axis = 0 : i64} : (tensor<3x2x1xi64>, tensor<i64>) -> tensor<2x1xi64>
  %f2 = llm.cast %m2 : (tensor<2x1xi64>) -> tensor<2x1xi1>
  %w12 = llm.constant dense<3.0> : tensor<4x8xf32>
  %b12 = llm.constant dense<0.3> : tensor<8xf32>
  %w22 = llm.constant dense<3.5> : tensor<8x4xf32>
  %h2 = llm.matmul %x, %w12 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %a2 = llm.add %h2, %b12 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %s2 = llm.silu %a2 : tensor<2x8xf32>
  %y2 = llm.matmul %s2, %w22 : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %z2 = llm.mul %y2, %g : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %u2 = llm.where %f2, %z2, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %u0, %u1, %u2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// The importer's flags of a non-boolean mask (x != 0) and a where of a
// cast one-hot read the same; dense_resource weights give a new blob, each
// expert's [K, N] weights stored [N, K] (w'[e][n][k] == w_e[k][n]).
// CHECK-LABEL: func @not_equal_flags
// CHECK: llm.constant dense_resource<w0.experts> : tensor<2x4x4xf32>
// CHECK: llm.matmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<1x1x4xf32>, tensor<1x4x4xf32>) -> tensor<1x1x4xf32>
// CHECK-NOT: llm.matmul
// CHECK: w0.experts: "0x040000000000000000000040000080400000C0400000003F00002040000090400000D0400000803F000040400000A0400000E0400000C03F000060400000B0400000F0400000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
// REMARK: remark: llm-route-experts: groups 1, experts 2
func.func @not_equal_flags(%x: tensor<1x4xf32>, %sel: tensor<1x1xi64>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  %iota = llm.constant dense<[[0, 1]]> : tensor<1x2xi64>
  %zero = llm.constant dense<0> : tensor<i64>
  %c1 = llm.constant dense<1> : tensor<i64>
  %zeros = llm.constant dense<0.0> : tensor<1x4xf32>
  %eq = llm.equal %iota, %sel : (tensor<1x2xi64>, tensor<1x1xi64>) -> tensor<1x2xi1>
  %onehot = llm.cast %eq : (tensor<1x2xi1>) -> tensor<1x2xi64>
  %mask = llm.transpose %onehot {permutation = array<i64: 1, 0>} : (tensor<1x2xi64>) -> tensor<2x1xi64>
  %m0 = llm.gather %mask, %zero {axis = 0 : i64} : (tensor<2x1xi64>, tensor<i64>) -> tensor<1xi64>
  %e0 = llm.equal %m0, %zero : (tensor<1xi64>, tensor<i64>) -> tensor<1xi1>
  %n0 = llm.not %e0 : tensor<1xi1>
  %f0 = llm.reshape %n0 : (tensor<1xi1>) -> tensor<1x1xi1>
  %w0 = llm.constant dense_resource<w0> : tensor<4x4xf32>
  %z0 = llm.matmul %x, %w0 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %u0 = llm.where %f0, %z0, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %m1 = llm.gather %mask, %c1 {axis = 0 : i64} : (tensor<2x1xi64>, tensor<i64>) -> tensor<1xi64>
  %e1 = llm.equal %m1, %zero : (tensor<1xi64>, tensor<i64>) -> tensor<1xi1>
  %n1 = llm.not %e1 : tensor<1xi1>
  %f1 = llm.reshape %n1 : (tensor<1xi1>) -> tensor<1x1xi1>
  %w1 = llm.constant dense_resource<w1> : tensor<4x4xf32>
  %z1 = llm.matmul %x, %w1 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %u1 = llm.where %f1, %z1, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %u0, %u1 : tensor<1x4xf32>, tensor<1x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x04000000000000000000003F0000803F0000C03F0000004000002040000040400000604000008040000090400000A0400000B0400000C0400000D0400000E0400000F040",
      w1: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}

// -----

// Left alone: as many rows as experts (a prompt: gathering each row's
// weights would read more than every expert once).
// CHECK-LABEL: func @prompt
// CHECK-COUNT-2: llm.matmul %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
// REMARK: remark: llm-route-experts: groups 0, experts 0
func.func @prompt(%x: tensor<2x4xf32>, %sel: tensor<1x2x1xi64>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %iota = llm.constant dense<[[[0, 1]]]> : tensor<1x1x2xi64>
  %zero = llm.constant dense<0> : tensor<i64>
  %c1 = llm.constant dense<1> : tensor<i64>
  %zeros = llm.constant dense<0.0> : tensor<2x4xf32>
  %eq = llm.equal %sel, %iota : (tensor<1x2x1xi64>, tensor<1x1x2xi64>) -> tensor<1x2x2xi1>
  %onehot = llm.where %eq, %c1, %zero : (tensor<1x2x2xi1>, tensor<i64>, tensor<i64>) -> tensor<1x2x2xi64>
  %mask = llm.transpose %onehot {permutation = array<i64: 2, 1, 0>} : (tensor<1x2x2xi64>) -> tensor<2x2x1xi64>
  %m0 = llm.gather %mask, %zero {axis = 0 : i64} : (tensor<2x2x1xi64>, tensor<i64>) -> tensor<2x1xi64>
  %f0 = llm.cast %m0 : (tensor<2x1xi64>) -> tensor<2x1xi1>
  %w0 = llm.constant dense<1.0> : tensor<4x4xf32>
  %z0 = llm.matmul %x, %w0 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %u0 = llm.where %f0, %z0, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %m1 = llm.gather %mask, %c1 {axis = 0 : i64} : (tensor<2x2x1xi64>, tensor<i64>) -> tensor<2x1xi64>
  %f1 = llm.cast %m1 : (tensor<2x1xi64>) -> tensor<2x1xi1>
  %w1 = llm.constant dense<2.0> : tensor<4x4xf32>
  %z1 = llm.matmul %x, %w1 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %u1 = llm.where %f1, %z1, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %u0, %u1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Left alone: flags that are not one-hot (a mask compared against
// constants that repeat could flag two experts on one row), flags read at
// one position twice, experts that are not one computation (silu and
// relu), and an expert that mixes rows (a softmax along them).
// CHECK-LABEL: func @not_routed
// CHECK-COUNT-9: llm.matmul %{{.*}}, %{{.*}} : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
// CHECK-NOT: llm.matmul
// REMARK: remark: llm-route-experts: groups 0, experts 0
func.func @not_routed(%x: tensor<1x4xf32>, %sel: tensor<1x1xi64>) -> (tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) {
  %repeats = llm.constant dense<[[0, 1, 1]]> : tensor<1x3xi64>
  %iota = llm.constant dense<[[0, 1, 2]]> : tensor<1x3xi64>
  %zero = llm.constant dense<0> : tensor<i64>
  %c1 = llm.constant dense<1> : tensor<i64>
  %c2 = llm.constant dense<2> : tensor<i64>
  %zeros = llm.constant dense<0.0> : tensor<1x4xf32>
  %w0 = llm.constant dense<1.0> : tensor<4x4xf32>
  %w1 = llm.constant dense<2.0> : tensor<4x4xf32>
  %w2 = llm.constant dense<3.0> : tensor<4x4xf32>
  // Repeated constants: positions 1 and 2 are both flagged where sel is 1.
  %eqr = llm.equal %sel, %repeats : (tensor<1x1xi64>, tensor<1x3xi64>) -> tensor<1x3xi1>
  %maskr = llm.transpose %eqr {permutation = array<i64: 1, 0>} : (tensor<1x3xi1>) -> tensor<3x1xi1>
  %r0 = llm.gather %maskr, %zero {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %r1 = llm.gather %maskr, %c1 {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %r2 = llm.gather %maskr, %c2 {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %fr0 = llm.reshape %r0 : (tensor<1xi1>) -> tensor<1x1xi1>
  %fr1 = llm.reshape %r1 : (tensor<1xi1>) -> tensor<1x1xi1>
  %fr2 = llm.reshape %r2 : (tensor<1xi1>) -> tensor<1x1xi1>
  %zr0 = llm.matmul %x, %w0 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %zr1 = llm.matmul %x, %w1 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %zr2 = llm.matmul %x, %w2 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %ur0 = llm.where %fr0, %zr0, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %ur1 = llm.where %fr1, %zr1, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %ur2 = llm.where %fr2, %zr2, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // One position twice.
  %eq = llm.equal %sel, %iota : (tensor<1x1xi64>, tensor<1x3xi64>) -> tensor<1x3xi1>
  %mask = llm.transpose %eq {permutation = array<i64: 1, 0>} : (tensor<1x3xi1>) -> tensor<3x1xi1>
  %p0 = llm.gather %mask, %zero {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %p1 = llm.gather %mask, %zero {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %fp0 = llm.reshape %p0 : (tensor<1xi1>) -> tensor<1x1xi1>
  %fp1 = llm.reshape %p1 : (tensor<1xi1>) -> tensor<1x1xi1>
  %zp0 = llm.matmul %x, %w0 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %zp1 = llm.matmul %x, %w1 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %up0 = llm.where %fp0, %zp0, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %up1 = llm.where %fp1, %zp1, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // Different computations.
  %eqd = llm.equal %iota, %sel : (tensor<1x3xi64>, tensor<1x1xi64>) -> tensor<1x3xi1>
  %maskd = llm.transpose %eqd {permutation = array<i64: 1, 0>} : (tensor<1x3xi1>) -> tensor<3x1xi1>
  %d0 = llm.gather %maskd, %zero {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %d1 = llm.gather %maskd, %c1 {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %fd0 = llm.reshape %d0 : (tensor<1xi1>) -> tensor<1x1xi1>
  %fd1 = llm.reshape %d1 : (tensor<1xi1>) -> tensor<1x1xi1>
  %hd0 = llm.matmul %x, %w0 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %hd1 = llm.matmul %x, %w1 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %zd0 = llm.silu %hd0 : tensor<1x4xf32>
  %zd1 = llm.relu %hd1 : tensor<1x4xf32>
  %ud0 = llm.where %fd0, %zd0, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %ud1 = llm.where %fd1, %zd1, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // Rows mixed: a softmax along them.
  %x2 = llm.exp %x : tensor<1x4xf32>
  %eqm = llm.equal %iota, %sel : (tensor<1x3xi64>, tensor<1x1xi64>) -> tensor<1x3xi1>
  %maskm = llm.transpose %eqm {permutation = array<i64: 1, 0>} : (tensor<1x3xi1>) -> tensor<3x1xi1>
  %q0 = llm.gather %maskm, %zero {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %q1 = llm.gather %maskm, %c1 {axis = 0 : i64} : (tensor<3x1xi1>, tensor<i64>) -> tensor<1xi1>
  %fq0 = llm.reshape %q0 : (tensor<1xi1>) -> tensor<1x1xi1>
  %fq1 = llm.reshape %q1 : (tensor<1xi1>) -> tensor<1x1xi1>
  %hq0 = llm.matmul %x2, %w0 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %hq1 = llm.matmul %x2, %w1 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %zq0 = llm.softmax %hq0 {axis = 0 : i64} : tensor<1x4xf32>
  %zq1 = llm.softmax %hq1 {axis = 0 : i64} : tensor<1x4xf32>
  %uq0 = llm.where %fq0, %zq0, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %uq1 = llm.where %fq1, %zq1, %zeros : (tensor<1x1xi1>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %ur0, %ur1, %ur2, %up0, %up1, %ud0, %ud1, %uq0, %uq1 : tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>
}

// -----

// Left alone: each expert's product contracts weights it computed from
// rows (a shared [2, 4] value plus the expert's row vector): gathered per
// row, the product would mix rows of different experts.
// CHECK-LABEL: func @computed_weights
// CHECK-COUNT-3: llm.matmul %{{.*}}, %{{.*}} : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// REMARK: remark: llm-route-experts: groups 0, experts 0
func.func @computed_weights(%x: tensor<2x2xf32>, %s: tensor<2x4xf32>, %sel: tensor<1x2x1xi64>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %iota = llm.constant dense<[[[0, 1, 2]]]> : tensor<1x1x3xi64>
  %zero = llm.constant dense<0> : tensor<i64>
  %c1 = llm.constant dense<1> : tensor<i64>
  %c2 = llm.constant dense<2> : tensor<i64>
  %zeros = llm.constant dense<0.0> : tensor<2x4xf32>
  %eq = llm.equal %sel, %iota : (tensor<1x2x1xi64>, tensor<1x1x3xi64>) -> tensor<1x2x3xi1>
  %mask = llm.transpose %eq {permutation = array<i64: 2, 1, 0>} : (tensor<1x2x3xi1>) -> tensor<3x2x1xi1>
  %f0 = llm.gather %mask, %zero {axis = 0 : i64} : (tensor<3x2x1xi1>, tensor<i64>) -> tensor<2x1xi1>
  %f1 = llm.gather %mask, %c1 {axis = 0 : i64} : (tensor<3x2x1xi1>, tensor<i64>) -> tensor<2x1xi1>
  %f2 = llm.gather %mask, %c2 {axis = 0 : i64} : (tensor<3x2x1xi1>, tensor<i64>) -> tensor<2x1xi1>
  %b0 = llm.constant dense<1.0> : tensor<4xf32>
  %b1 = llm.constant dense<2.0> : tensor<4xf32>
  %b2 = llm.constant dense<3.0> : tensor<4xf32>
  %r0 = llm.add %s, %b0 : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %r1 = llm.add %s, %b1 : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %r2 = llm.add %s, %b2 : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %z0 = llm.matmul %x, %r0 : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %z1 = llm.matmul %x, %r1 : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %z2 = llm.matmul %x, %r2 : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %u0 = llm.where %f0, %z0, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %u1 = llm.where %f1, %z1, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %u2 = llm.where %f2, %z2, %zeros : (tensor<2x1xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %u0, %u1, %u2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
