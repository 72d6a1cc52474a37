//===- RowWise.h - llm ops that compute each row alone ----------*- C++ -*-===//
//
// Ops whose every result row depends only on the same row of their
// operands: passes that move computations across rows (llm-route-experts,
// llm-sink-row-gathers) commute them with row selections.
//
//===----------------------------------------------------------------------===//
#ifndef LLM_TRANSFORMS_ROWWISE_H
#define LLM_TRANSFORMS_ROWWISE_H

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

/// Whether `op` computes each row of its [R, ..] results (all of one rank
/// and R rows) from the same row of its operands that have R rows, the
/// others broadcasting: elementwise ops, [R, K] x [K, N] products without
/// an epilogue operand, splits along another axis and slices of every row.
/// Appends those operands' numbers to `rowOperands`.
bool isRowWise(Operation *op, SmallVectorImpl<unsigned> &rowOperands);

} // namespace mlir::llm

#endif // LLM_TRANSFORMS_ROWWISE_H
