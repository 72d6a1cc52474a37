//===- NPUDialect.td - the llmc NPU instruction dialect ----*- tablegen -*-===//
//
// One op per instruction of the llmc NPU (docs/npu-isa.md). An `npu.program`
// holds the tensors a program binds in DRAM and its instruction stream, in
// order; `llm-translate --emit-npu-bin/--emit-npu-asm` write it out.
//
//===----------------------------------------------------------------------===//
#ifndef NPU_DIALECT_TD
#define NPU_DIALECT_TD

include "mlir/IR/OpBase.td"

def NPU_Dialect : Dialect {
  let name = "npu";
  let cppNamespace = "::mlir::npu";
  let summary = "Instructions of the llmc NPU";
  let description = [{
    The instruction level of the NPU backend: every op is one 128-bit
    instruction. The verifiers check each instruction against the target
    description the enclosing `npu.program` names: addresses and extents
    inside the scratchpad, accumulators and the program's DRAM, weight tiles
    inside the array, token flags allowed by the instruction's queue.
  }];
}

class NPU_Op<string mnemonic, list<Trait> traits = []>
    : Op<NPU_Dialect, mnemonic, traits>;

#endif // NPU_DIALECT_TD
