//===- Passes.td - transforms of the llm dialect -----------*- tablegen -*-===//
#ifndef LLM_TRANSFORMS_PASSES_TD
#define LLM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LLMOutlineWeights : Pass<"llm-outline-weights", "ModuleOp"> {
  let summary = "turn large constants into function arguments bound at run time";
  let description = [{
    Weights should not be compiled into code: a JIT or an object file that
    embeds 500 MB of constants is slow to build and holds them twice. This
    pass replaces every `llm.constant` with at least `min-elements` elements
    in the entry function by a new trailing argument carrying
    `llm.weight = "<name>"`, and records the values in a module attribute
    `llm.weights` (a dictionary from name to the ElementsAttr), which the
    runtime binds to those arguments without copying.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"256",
           "constants with at least this many elements become arguments">,
  ];
}

#endif // LLM_TRANSFORMS_PASSES_TD
