// RUN: llm-opt %s -split-input-file --llm-hls-annotate -verify-diagnostics
// RUN: echo "module {}" | not llm-opt --llm-hls-annotate=target=h100 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: echo "module {}" | not llm-opt --llm-hls-annotate=target=no-such.json 2>&1 | FileCheck %s --check-prefix=MISSING
// KIND: error: llm-hls-annotate: target 'h100' is a gpu, not an fpga description
// MISSING: error: llm-hls-annotate: {{.*}}no-such.json
// Figures the schedule divides by: a RAM block smaller than one 72-bit row
// (16 bytes over 2016 BRAM36 blocks) or a count of zero is one error, not a
// division by zero.
// RUN: %python %S/../../Target/Inputs/edit-desc.py %llmc_src/targets/u280.json %t.bram.json fpga.bram_bytes=16
// RUN: echo "module {}" | not llm-opt --llm-hls-annotate=target=%t.bram.json 2>&1 | FileCheck %s --check-prefix=BRAM
// BRAM: error: llm-hls-annotate: target 'u280': fpga.bram_bytes over fpga.bram_36k gives 0-bit blocks, less than one 72-bit row
// RUN: %python %S/../../Target/Inputs/edit-desc.py %llmc_src/targets/u280.json %t.uram.json fpga.uram=0
// RUN: echo "module {}" | not llm-opt --llm-hls-annotate=target=%t.uram.json 2>&1 | FileCheck %s --check-prefix=URAM
// URAM: error: llm-hls-annotate: target 'u280': fpga.uram must be a number > 0
// RUN: %python %S/../../Target/Inputs/edit-desc.py %llmc_src/targets/u280.json %t.mac.json fpga.dsp_per_fp32_mac=five
// RUN: echo "module {}" | not llm-opt --llm-hls-annotate=target=%t.mac.json 2>&1 | FileCheck %s --check-prefix=MAC
// MAC: error: llm-hls-annotate: target 'u280': fpga.dsp_per_fp32_mac must be a number > 0

func.func @dynamic_bound(%x: memref<16xf32>, %size: memref<index>) {
  %n = memref.load %size[] : memref<index>
  // expected-error @+1 {{has non-constant bounds; HLS loops need static trip counts}}
  affine.for %i = 0 to %n {
    %v = affine.load %x[%i] : memref<16xf32>
    affine.store %v, %x[%i] : memref<16xf32>
  }
  return
}

// -----

// expected-error @+1 {{argument #0 of @dynamic_port has the type 'memref<?xf32>'; HLS ports must be memrefs of static shape and layout}}
func.func @dynamic_port(%x: memref<?xf32>) {
  return
}

// -----

func.func @dynamic_buffer(%n: memref<index>) {
  %size = memref.load %n[] : memref<index>
  // expected-error @+1 {{allocates 'memref<?xf32>'; HLS buffers need static shapes}}
  %buf = memref.alloc(%size) : memref<?xf32>
  return
}

// -----

func.func @scf_loop(%x: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  // expected-error @+1 {{is a loop the HLS pipeline does not bound statically}}
  scf.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %x[%i] : memref<16xf32>
  }
  return
}
