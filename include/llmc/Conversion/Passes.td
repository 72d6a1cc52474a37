//===- Passes.td - conversions out of the llm dialect ------*- tablegen -*-===//
#ifndef LLMC_CONVERSION_PASSES_TD
#define LLMC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLLMToLinalg : Pass<"convert-llm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "lower llm ops to linalg, tensor, arith and math on tensors";
  let description = [{
    The common path to loops: every llm op becomes linalg.generic (or a named
    linalg op) and tensor ops, exact in fp32 (no fast-math approximations).
    An op it cannot lower is an error at the op, never a silent skip.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

#endif // LLMC_CONVERSION_PASSES_TD
