// RUN: llm-opt %s -split-input-file --llm-hls-annotate | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-hls-annotate="target=%llmc_src/targets/u280.json" | FileCheck %s
// The unroll factors follow the description: with 60 DSPs (30 for each of
// the two nests with float work) the product gets 4 lanes of 5 DSPs and the
// ReLU, which uses none, keeps 16.
// RUN: %python %S/../../Target/Inputs/edit-desc.py %llmc_src/targets/u280.json %t.small.json \
// RUN:     fpga.dsp=60 name=small-fpga
// RUN: llm-opt %s -split-input-file --llm-hls-annotate="target=%t.small.json" | FileCheck %s --check-prefix=SMALL
// SMALL: hls.target = "small-fpga"
// SMALL: {hls.label = "fc_MatMul_1_l2", hls.pipeline_ii = 1 : i64, hls.trip_count = 64 : i64, hls.unroll = 4 : i64}
// SMALL: hls.cycles = 9728 : i64, hls.dsp = 20 : i64, hls.label = "fc_MatMul_1_l0"
// SMALL: {hls.label = "act_Relu_l1", hls.pipeline_ii = 1 : i64, hls.trip_count = 64 : i64, hls.unroll = 16 : i64}

// A fully connected layer (initialization, then the product in (i, k, j)
// order) and a ReLU: two stages, one buffer between them, so DATAFLOW
// applies. The product's innermost loop is unrolled by the matrix unit's 16
// lanes (5 DSPs per multiply-add: 80 DSPs), its accumulator partitioned to
// feed the lanes (16 banks of 64 floats: one BRAM36 each).
// CHECK: module attributes {hls.clock_hz = 3.000000e+08 : f64, hls.target = "u280"}
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: {hls.interface = {bundle = "hbm0", depth = 512 : i64, mode = "m_axi"}}
// CHECK-SAME: {hls.interface = {bundle = "hbm1", depth = 2048 : i64, mode = "m_axi"}}
// CHECK-SAME: {hls.interface = {bundle = "hbm2", depth = 1024 : i64, mode = "m_axi"}}
// CHECK-SAME: attributes {hls.dataflow, hls.top}
// CHECK: memref.alloc() {hls.array_partition = 16 : i64, hls.bram_36k = 16 : i64, hls.name = "buf0", hls.storage = "bram", hls.uram = 0 : i64}
// CHECK: affine.store
// CHECK-NEXT: } {hls.label = "fc_MatMul_l1", hls.pipeline_ii = 1 : i64, hls.trip_count = 64 : i64, hls.unroll = 16 : i64}
// CHECK-NEXT: } {hls.bram_36k = 16 : i64, hls.cycles = 80 : i64, hls.dsp = 0 : i64, hls.label = "fc_MatMul_l0", hls.nodes = ["/fc/MatMul"], hls.stage = 0 : i64, hls.trip_count = 16 : i64, hls.uram = 0 : i64}
// CHECK: arith.mulf
// CHECK: } {hls.label = "fc_MatMul_1_l2", hls.pipeline_ii = 1 : i64, hls.trip_count = 64 : i64, hls.unroll = 16 : i64}
// CHECK-NEXT: } {hls.label = "fc_MatMul_1_l1", hls.trip_count = 32 : i64}
// CHECK-NEXT: } {hls.bram_36k = 0 : i64, hls.cycles = 3584 : i64, hls.dsp = 80 : i64, hls.label = "fc_MatMul_1_l0", hls.nodes = ["/fc/MatMul"], hls.stage = 0 : i64, hls.trip_count = 16 : i64, hls.uram = 0 : i64}
// CHECK: arith.maximumf
// CHECK: } {hls.label = "act_Relu_l1", hls.pipeline_ii = 1 : i64, hls.trip_count = 64 : i64, hls.unroll = 16 : i64}
// CHECK-NEXT: } {{{.*}}hls.cycles = 96 : i64, hls.dsp = 0 : i64, hls.label = "act_Relu_l0", hls.nodes = ["/act/Relu", "/act/Clip"], hls.stage = 1 : i64
func.func @forward(%x: memref<16x32xf32>, %w: memref<32x64xf32>, %out: memref<16x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %buf = memref.alloc() : memref<16x64xf32>
  affine.for %i = 0 to 16 {
    affine.for %j = 0 to 64 {
      affine.store %zero, %buf[%i, %j] : memref<16x64xf32>
    }
  } loc("/fc/MatMul")
  affine.for %i = 0 to 16 {
    affine.for %k = 0 to 32 {
      affine.for %j = 0 to 64 {
        %a = affine.load %x[%i, %k] : memref<16x32xf32>
        %b = affine.load %w[%k, %j] : memref<32x64xf32>
        %c = affine.load %buf[%i, %j] : memref<16x64xf32>
        %m = arith.mulf %a, %b : f32
        %s = arith.addf %c, %m : f32
        affine.store %s, %buf[%i, %j] : memref<16x64xf32>
      }
    }
  } loc("/fc/MatMul")
  affine.for %i = 0 to 16 {
    affine.for %j = 0 to 64 {
      %v = affine.load %buf[%i, %j] : memref<16x64xf32>
      %r = arith.maximumf %v, %zero : f32
      affine.store %r, %out[%i, %j] : memref<16x64xf32>
    }
  } loc(fused["/act/Relu", "/act/Clip"])
  return
}

// -----

// A row sum in (r, i) order strides through its input: no unroll (one
// element per cycle), still II=1 since consecutive iterations update
// different rows. A full reduction carries its accumulator: marked, not
// unrolled. A buffer read by two later stages blocks DATAFLOW. A 64 KiB
// buffer goes to URAM, a 32-float one to registers.
// CHECK-LABEL: func.func @reductions
// CHECK-SAME: hls.dataflow_blocked = "buf0 is read by 2 stages"
// CHECK: memref.alloc() {hls.bram_36k = 0 : i64, hls.name = "buf0", hls.storage = "uram", hls.uram = 4 : i64} : memref<32x512xf32>
// CHECK: memref.alloc() {hls.array_partition = 16 : i64, hls.bram_36k = 0 : i64, hls.name = "buf1", hls.storage = "reg", hls.uram = 0 : i64} : memref<32xf32>
// CHECK: } {hls.label = "transpose_l1", hls.pipeline_ii = 1 : i64, hls.trip_count = 32 : i64}
// CHECK: } {hls.label = "sum_l1", hls.pipeline_ii = 1 : i64, hls.trip_count = 32 : i64}
// CHECK: } {hls.carried, hls.label = "total_l1", hls.pipeline_ii = 1 : i64, hls.trip_count = 512 : i64}
// CHECK: hls.label = "out_l0", {{.*}}hls.pipeline_ii = 1 : i64, hls.stage = 3 : i64, hls.trip_count = 32 : i64, hls.unroll = 16 : i64
func.func @reductions(%x: memref<512x32xf32>, %sum: memref<32xf32>, %total: memref<f32>) {
  %buf = memref.alloc() : memref<32x512xf32>
  %row = memref.alloc() : memref<32xf32>
  affine.for %r = 0 to 512 {
    affine.for %i = 0 to 32 {
      %v = affine.load %x[%r, %i] : memref<512x32xf32>
      affine.store %v, %buf[%i, %r] : memref<32x512xf32>
    }
  } loc("transpose")
  affine.for %r = 0 to 512 {
    affine.for %i = 0 to 32 {
      %v = affine.load %buf[%i, %r] : memref<32x512xf32>
      %a = affine.load %row[%i] : memref<32xf32>
      %s = arith.addf %a, %v : f32
      affine.store %s, %row[%i] : memref<32xf32>
    }
  } loc("sum")
  affine.for %i = 0 to 32 {
    affine.for %r = 0 to 512 {
      %v = affine.load %buf[%i, %r] : memref<32x512xf32>
      %a = affine.load %total[] : memref<f32>
      %s = arith.addf %a, %v : f32
      affine.store %s, %total[] : memref<f32>
    }
  } loc("total")
  affine.for %i = 0 to 32 {
    %v = affine.load %row[%i] : memref<32xf32>
    affine.store %v, %sum[%i] : memref<32xf32>
  } loc("out")
  return
}

