//===- HLSPasses.td - passes of the HLS lowering -----------*- tablegen -*-===//
#ifndef LLMC_CONVERSION_HLSPASSES_TD
#define LLMC_CONVERSION_HLSPASSES_TD

include "mlir/Pass/PassBase.td"

def LLMHLSLoopOrder : Pass<"llm-hls-loop-order"> {
  let summary = "make a parallel loop innermost in every linalg op with reductions";
  let description = [{
    An HLS loop pipelined at II=1 cannot carry a floating-point accumulation
    from one iteration to the next (the adder's latency is several cycles).
    For every linalg op with a reduction loop and at least one parallel loop,
    this pass moves the loop of the output's last dimension innermost when it
    is parallel (else the last parallel loop), keeping every other loop in
    order: matmul's (i, j, k) becomes (i, k, j), a row sum's (b, i, k) becomes
    (b, k, i). Every output element still adds its terms in the same order,
    so results are bit-identical to the host's. Named ops that change are
    generalized first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def LLMHLSCopyToLinalg : Pass<"llm-hls-copy-to-linalg"> {
  let summary = "turn memref.copy into linalg.copy so that it becomes loops";
  let description = [{
    Bufferization and buffer-results-to-out-params copy buffers with
    memref.copy; HLS C++ has no memcpy of multi-dimensional views, so each
    copy becomes linalg.copy and then an ordinary loop nest that the annotate
    pass pipelines like any other.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def LLMHLSRound16BitFloats : Pass<"llm-hls-round-16bit-floats"> {
  let summary = "keep the rounding to f16/bf16 after each emulated float op";
  let description = [{
    The HLS C++ keeps f16 and bf16 values as bits and computes on them in
    f32: arith-emulate-unsupported-floats and math-extend-to-supported-types
    extend each 16-bit operand to f32 and truncate each result back. They
    mark those casts `contract`, which lets canonicalization fold
    `extf(truncf(x))` to `x`, so a chain of ops fused into one loop body
    would round only once at its end. ONNX (and the host, whose LLVM
    rounds each half operation) rounds after every op. This pass clears the
    fast-math flags of every extf from f16/bf16 and every truncf to them, so
    that the roundings stay: the HLS C-simulation is then bit-identical to
    the host on 16-bit float models.

    ```mlir
    %1 = arith.extf %0 fastmath<contract> : f16 to f32
    // becomes
    %1 = arith.extf %0 : f16 to f32
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LLMHLSAnnotate : Pass<"llm-hls-annotate", "::mlir::ModuleOp"> {
  let summary = "HLS directives and schedule estimates on affine loop nests";
  let description = [{
    Runs on the bufferized affine loops of the HLS pipeline and records, as
    attributes, the directives the HLS C++ emitter writes and the estimates
    of the report:

    - functions: `hls.top` on public ones; `hls.dataflow` when the top-level
      loop nests form a single-producer single-consumer chain of stages
      (else `hls.dataflow_blocked` says which buffer prevents it);
    - arguments: `hls.interface = {mode = "m_axi", bundle = "hbmN", depth}`,
      spread round-robin over `fpga.hbm_pseudo_channels`;
    - loops: `hls.label` (from the ONNX node's name), `hls.trip_count`; on
      innermost loops `hls.pipeline_ii = 1` and `hls.unroll = U`, U the
      largest divisor of the trip count not above the matrix unit's fp32 n
      (`matrix_unit.fp32[1]`), 16 lanes per m_axi port (512-bit), and the
      nest's share of `fpga.dsp` at `fpga.dsp_per_fp32_mac` per
      multiply-add; U is 1 where an access strides by more than one element
      or an accumulator does not move with the loop;
    - buffers (memref.alloc, memref.global): `hls.array_partition` (cyclic
      factor for unrolled unit-stride accesses), `hls.storage` ("bram",
      "uram" or "reg"), `hls.bram_36k`, `hls.uram`;
    - top-level nests: `hls.cycles` = outer trip counts x (ceil(trip / U) x
      II + depth), depth the number of float ops of the body (pipeline fill),
      `hls.dsp` = U x DSPs of the body's float ops (a multiply or an add is
      half a multiply-add, other float ops one).

    A loop without constant bounds or a buffer of dynamic shape is an error
    at the op.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"u280\"",
           "FPGA description: a bundled name or a JSON file">,
    Option<"uramThresholdBytes", "uram-threshold-bytes", "int64_t", "65536",
           "buffers whose banks hold at least this many bytes go to URAM">,
    Option<"registerThresholdBytes", "register-threshold-bytes", "int64_t",
           "128", "banks of at most this many bytes are registers, no RAM">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect"];
}

#endif // LLMC_CONVERSION_HLSPASSES_TD
