//===- NPUOps.h - ops of the npu dialect ------------------------*- C++ -*-===//
#ifndef NPU_IR_NPUOPS_H
#define NPU_IR_NPUOPS_H

#include "npu/IR/NPUDialect.h"
#include "llmc/Target/NPU/ISA.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"

namespace mlir::npu {
class ProgramOp;

/// The shared custom syntax and verifier of every instruction op.
ParseResult parseInstructionOp(OpAsmParser &parser, OperationState &result);
void printInstructionOp(OpAsmPrinter &printer, Operation *op);
LogicalResult verifyInstructionOp(Operation *op);

/// True for the ops that are instructions (not program or tensor).
bool isInstructionOp(Operation *op);
/// The instruction an op stands for; fails (with a diagnostic) if a field is
/// negative or too wide.
FailureOr<llmc::npu::Instruction> toInstruction(Operation *op);
/// Creates the op of an instruction at the builder's insertion point.
Operation *createInstructionOp(OpBuilder &builder, Location loc,
                               const llmc::npu::Instruction &inst);

/// A program op as a Program; fails with a diagnostic on the op at fault.
FailureOr<llmc::npu::Program> toProgram(ProgramOp program);
/// Builds a program op (in a new module) from a Program.
OwningOpRef<ModuleOp> fromProgram(const llmc::npu::Program &program,
                                  MLIRContext *context);
} // namespace mlir::npu

#define GET_OP_CLASSES
#include "npu/IR/NPUOps.h.inc"

#endif // NPU_IR_NPUOPS_H
