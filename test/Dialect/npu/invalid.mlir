// The verifiers check instructions against the target description (32x32
// array, 512 KiB scratchpad, 32K accumulator words) and the program's DRAM.
// RUN: llm-opt %s -split-input-file -verify-diagnostics

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.ld' op sp range [0x7ff00, 0x80100) is outside the scratchpad (524288 bytes)}}
  npu.ld sp = 0x7ff00 dram = 0 rows = 16 cols = 32 stride = 32
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.ld' op dram range [0x0, 0x1001) is outside the DRAM (4096 bytes)}}
  npu.ld sp = 0 dram = 0 rows = 2 cols = 1 stride = 4096
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.ldw' op weight tile 33x32 does not fit the 32x32 array}}
  npu.ldw sp = 0 k = 33 n = 32 stride = 32
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.mm' op no ldw before it: the array holds no weights}}
  npu.mm sp = 0 acc = 0 m = 4 sp_stride = 32 acc_stride = 32
}

// -----

npu.program target("npu") dram(4096) {
  npu.ldw sp = 0 k = 32 n = 16 stride = 16
  // expected-error @+1 {{'npu.mm' op acc range [0x7f10, 0x8010) is outside the accumulator (32768 words)}}
  npu.mm sp = 0 acc = 0x7f10 m = 16 sp_stride = 32 acc_stride = 16
}

// -----

npu.program target("npu") dram(4096) {
  npu.ldw sp = 0 k = 32 n = 32 stride = 32
  // expected-error @+1 {{'npu.mm' op acc_stride 16 is smaller than the weight tile's 32 columns: output rows would overlap}}
  npu.mm sp = 0 acc = 0 m = 4 sp_stride = 32 acc_stride = 16
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.ld' op the load queue has no previous queue (wait_prev/signal_prev)}}
  npu.ld sp = 0 dram = 0 rows = 1 cols = 1 stride = 1 wait_prev
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.sta' op the store queue has no next queue (wait_next/signal_next)}}
  npu.sta acc = 0 dram = 0 rows = 1 cols = 1 stride = 4 signal_next
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.vadd' op rows must be at least 1}}
  npu.vadd dst = 0 src = 0 src2 = 0 rows = 0 cols = 32
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.vexp' op rows 4096 does not fit its 12-bit field}}
  npu.vexp dst = 0 src = 0 rows = 4096 cols = 1
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.vreq' op dst range [0x7fff0, 0x80010) is outside the scratchpad (524288 bytes)}}
  npu.vreq dst = 0x7fff0 src = 0 rows = 1 cols = 32 ra = 0 rb = 1
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.setr' op reg 16 does not fit its 4-bit field}}
  npu.setr reg = 16 value = 1.0
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.ld' op field 'rows' (-1) does not fit its encoding}}
  npu.ld sp = 0 dram = 0 rows = -1 cols = 1 stride = 1
}

// -----

// expected-error @+1 {{'npu.program' op tensor 'A' (2048 bytes at 0xbb8) is outside the program's DRAM (4096 bytes)}}
npu.program target("npu") dram(4096) {
  npu.tensor "input" "A" : "i8" [64, 32] at 3000
}

// -----

// expected-error @+1 {{'npu.program' op tensor 'A' is larger than the program's DRAM (4096 bytes)}}
npu.program target("npu") dram(4096) {
  npu.tensor "input" "A" : "i32" [4294967296, 4294967296] at 0
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.tensor' op role must be "input" or "output", not "inout"}}
  npu.tensor "inout" "A" : "i8" [4] at 0
}

// -----

npu.program target("h100") dram(4096) {
  // expected-error @+1 {{'npu.ld' op bundled:h100: description 'h100' is of kind 'gpu', not 'npu'}}
  npu.ld sp = 0 dram = 0 rows = 1 cols = 1 stride = 1
}

// -----

npu.program target("npu") dram(4096) {
  // expected-error @+1 {{'npu.ld' op requires attribute 'stride'}}
  npu.ld sp = 0 dram = 0 rows = 1 cols = 1
}
