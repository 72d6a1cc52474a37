//===- ComputeInF32.cpp - 16-bit float products and reductions in f32 -----===//
//
// f16 and bf16 ops whose lowering takes many rounding steps (dot products,
// reductions, norms, softmax, attention, compound activations) get f32
// operands and results, with casts around them; see Passes.td.
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMCOMPUTEINF32
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// A tensor of f16 or bf16 elements.
bool isHalfFloatTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor &&
         (tensor.getElementType().isF16() || tensor.getElementType().isBF16());
}

struct LLMComputeInF32Pass
    : llm::impl::LLMComputeInF32Base<LLMComputeInF32Pass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp, AttentionOp, SoftmaxOp, LayerNormOp, RMSNormOp,
              ReduceSumOp, ReduceMeanOp, ReduceProdOp, SigmoidOp, SiluOp,
              GeluOp>(op) &&
          (llvm::any_of(op->getOperandTypes(), isHalfFloatTensor) ||
           llvm::any_of(op->getResultTypes(), isHalfFloatTensor)))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      auto f32Of = [&](Type type) {
        return cast<RankedTensorType>(type).clone(b.getF32Type());
      };
      for (OpOperand &operand : op->getOpOperands())
        if (isHalfFloatTensor(operand.get().getType()))
          operand.set(CastOp::create(b, loc, f32Of(operand.get().getType()),
                                     operand.get()));
      b.setInsertionPointAfter(op);
      for (OpResult result : op->getResults()) {
        Type type = result.getType();
        if (!isHalfFloatTensor(type))
          continue;
        result.setType(f32Of(type));
        auto narrow = CastOp::create(b, loc, type, result);
        result.replaceAllUsesExcept(narrow.getResult(), narrow);
      }
      if (failed(verify(op))) {
        // An op that demands 16-bit types here would be a bug of this pass.
        return signalPassFailure();
      }
    }
  }
};
} // namespace
