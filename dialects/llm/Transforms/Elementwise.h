//===- Elementwise.h - llm ops that compute element by element --*- C++ -*-===//
//
// The ops whose every result element depends only on the operands'
// elements at the same (broadcast) position: passes that move computations
// across rows (llm-route-experts, llm-sink-row-gathers) commute them with
// row selections.
//
//===----------------------------------------------------------------------===//
#ifndef LLM_TRANSFORMS_ELEMENTWISE_H
#define LLM_TRANSFORMS_ELEMENTWISE_H

#include "llm/IR/LLMOps.h"

namespace mlir::llm {

/// Whether `op` is an elementwise llm op (with broadcasting).
inline bool isElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, ExpOp, LogOp,
             TanhOp, ErfOp, SqrtOp, RsqrtOp, SigmoidOp, ReciprocalOp, SinOp,
             CosOp, FloorOp, CeilOp, ReluOp, NegOp, AbsOp, SiluOp, GeluOp,
             WhereOp, CastOp, EqualOp, LessOp, LessEqualOp, GreaterOp,
             GreaterEqualOp>(op);
}

} // namespace mlir::llm

#endif // LLM_TRANSFORMS_ELEMENTWISE_H
