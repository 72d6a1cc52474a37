//===- LLMDialect.td - the llm graph dialect ---------------*- tablegen -*-===//
//
// The tensor-level dialect every ONNX model is imported into: one op per
// transformer concept, the level where fusion, quantization and tiling run.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECT_TD
#define LLM_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::mlir::llm";
  let summary = "Tensor-level transformer ops: the graph level of llmc";
  let description = [{
    Ops on ranked tensors with value semantics. Elementwise ops broadcast the
    way ONNX and numpy do. Shapes are static once a model is specialized; the
    verifiers and the result type inference check them and name both sides
    of every mismatch.
  }];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 1;
}

def LLM_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how GELU is computed", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"tanh", 1>
    ]> {
  let cppNamespace = "::mlir::llm";
  let genSpecializedAttr = 0;
}

def LLM_GeluApproximationAttr : EnumAttr<LLM_Dialect, LLM_GeluApproximation,
                                         "gelu_approximation"> {
  let assemblyFormat = "`<` $value `>`";
}

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits>;

#endif // LLM_DIALECT_TD
