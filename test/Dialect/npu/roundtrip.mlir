// Every instruction op parses, verifies and prints back the same.
// RUN: llm-opt %s | FileCheck %s
// RUN: llm-opt %s | llm-opt | FileCheck %s

// CHECK-LABEL: npu.program target("npu") dram(65536)
npu.program target("npu") dram(65536) {
  // CHECK: npu.tensor "input" "A" : "i8" [64, 64] at 0
  npu.tensor "input" "A" : "i8" [64, 64] at 0
  // CHECK: npu.tensor "output" "C" : "i32" [64, 32] at 4096
  npu.tensor "output" "C" : "i32" [64, 32] at 4096
  // CHECK: npu.ld sp = 0x0 dram = 0x0 rows = 64 cols = 64 stride = 64 wait_next signal_next
  npu.ld sp = 0 dram = 0 rows = 64 cols = 64 stride = 64 wait_next signal_next
  // CHECK: npu.lda acc = 0x100 dram = 0x1000 rows = 2 cols = 32 stride = 128
  npu.lda acc = 256 dram = 4096 rows = 2 cols = 32 stride = 128
  // CHECK: npu.setr reg = 3 value = 1.250000e-01
  npu.setr reg = 3 value = 0.125
  // CHECK: npu.ldw sp = 0x0 k = 32 n = 32 stride = 64 wait_prev
  npu.ldw sp = 0 k = 32 n = 32 stride = 64 wait_prev
  // CHECK: npu.mm sp = 0x20 acc = 0x0 m = 64 sp_stride = 64 acc_stride = 32 accumulate signal_prev signal_next
  npu.mm sp = 32 acc = 0 m = 64 sp_stride = 64 acc_stride = 32 accumulate signal_prev signal_next
  // CHECK: npu.vreq dst = 0x1000 src = 0x0 rows = 64 cols = 32 ra = 3 rb = 4
  npu.vreq dst = 0x1000 src = 0 rows = 64 cols = 32 ra = 3 rb = 4
  // CHECK: npu.vdeq dst = 0x0 src = 0x0 rows = 64 cols = 32 ra = 3
  npu.vdeq dst = 0 src = 0 rows = 64 cols = 32 ra = 3
  // CHECK: npu.vqnt dst = 0x1000 src = 0x0 rows = 64 cols = 32 ra = 3 rb = 0
  npu.vqnt dst = 0x1000 src = 0 rows = 64 cols = 32 ra = 3 rb = 0
  // CHECK: npu.vwid dst = 0x800 src = 0x1000 rows = 64 cols = 32
  npu.vwid dst = 0x800 src = 0x1000 rows = 64 cols = 32
  // CHECK: npu.vadd dst = 0x0 src = 0x0 src2 = 0x2000 rows = 64 cols = 32 broadcast
  npu.vadd dst = 0 src = 0 src2 = 0x2000 rows = 64 cols = 32 broadcast
  // CHECK: npu.vmul dst = 0x0 src = 0x0 src2 = 0x800 rows = 64 cols = 32
  npu.vmul dst = 0 src = 0 src2 = 0x800 rows = 64 cols = 32
  // CHECK: npu.vaddi dst = 0x0 src = 0x0 src2 = 0x2000 rows = 64 cols = 32 broadcast
  npu.vaddi dst = 0 src = 0 src2 = 0x2000 rows = 64 cols = 32 broadcast
  // CHECK: npu.vscl dst = 0x0 src = 0x0 rows = 64 cols = 32 ra = 1 rb = 2
  npu.vscl dst = 0 src = 0 rows = 64 cols = 32 ra = 1 rb = 2
  // CHECK: npu.vexp dst = 0x0 src = 0x0 rows = 1 cols = 2048
  npu.vexp dst = 0 src = 0 rows = 1 cols = 2048
  // CHECK: npu.vgelu dst = 0x0 src = 0x0 rows = 64 cols = 32
  npu.vgelu dst = 0 src = 0 rows = 64 cols = 32
  // CHECK: npu.vsilu dst = 0x0 src = 0x0 rows = 64 cols = 32
  npu.vsilu dst = 0 src = 0 rows = 64 cols = 32
  // CHECK: npu.vsmax dst = 0x0 src = 0x0 rows = 64 cols = 32
  npu.vsmax dst = 0 src = 0 rows = 64 cols = 32
  // CHECK: npu.vlnrm dst = 0x0 src = 0x0 rows = 64 cols = 32 ra = 5
  npu.vlnrm dst = 0 src = 0 rows = 64 cols = 32 ra = 5
  // CHECK: npu.vrms dst = 0x0 src = 0x0 rows = 64 cols = 32 ra = 5
  npu.vrms dst = 0 src = 0 rows = 64 cols = 32 ra = 5
  // CHECK: npu.st sp = 0x1000 dram = 0x1000 rows = 64 cols = 32 stride = 32 wait_prev signal_prev
  npu.st sp = 0x1000 dram = 0x1000 rows = 64 cols = 32 stride = 32 wait_prev signal_prev
  // CHECK: npu.sta acc = 0x0 dram = 0x1000 rows = 64 cols = 32 stride = 128
  npu.sta acc = 0 dram = 0x1000 rows = 64 cols = 32 stride = 128
}
