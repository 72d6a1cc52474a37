//===- RowWise.cpp - llm ops that compute each row alone ------------------===//
#include "RowWise.h"

using namespace mlir;
using namespace mlir::llm;

bool mlir::llm::isRowWise(Operation *op,
                          SmallVectorImpl<unsigned> &rowOperands) {
  if (op->getNumResults() == 0)
    return false;
  auto first = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!first || first.getRank() < 2 || !first.hasStaticShape())
    return false;
  int64_t rows = first.getDimSize(0);
  for (Type type : op->getResultTypes()) {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked || ranked.getRank() != first.getRank() ||
        !ranked.hasStaticShape() || ranked.getDimSize(0) != rows)
      return false;
  }
  if (isElementwise(op)) {
    // Operands of the result's rank with its rows, or broadcasting along
    // them (fewer dims, or one row).
    for (OpOperand &operand : op->getOpOperands()) {
      auto type = cast<RankedTensorType>(operand.get().getType());
      if (type.getRank() == first.getRank() && type.getDimSize(0) == rows)
        rowOperands.push_back(operand.getOperandNumber());
      else if (type.getRank() == first.getRank() && type.getDimSize(0) != 1)
        return false;
    }
    return true;
  }
  if (auto matmul = dyn_cast<MatMulOp>(op)) {
    // [R, K] x [K, N]: the lhs's rows.
    if (matmul.getTransposeLhs() || matmul.getBias() || matmul.getResidual() ||
        cast<RankedTensorType>(matmul.getLhs().getType()).getRank() != 2 ||
        cast<RankedTensorType>(matmul.getRhs().getType()).getRank() != 2)
      return false;
    rowOperands.push_back(0);
    return true;
  }
  if (auto split = dyn_cast<SplitOp>(op)) {
    if (split.getAxis() == 0)
      return false;
    rowOperands.push_back(0);
    return true;
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    if (slice.getStarts()[0] != 0 || slice.getEnds()[0] != rows ||
        slice.getSteps()[0] != 1)
      return false;
    rowOperands.push_back(0);
    return true;
  }
  return false;
}
