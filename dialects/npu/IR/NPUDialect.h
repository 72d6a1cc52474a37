//===- NPUDialect.h - the llmc NPU instruction dialect ----------*- C++ -*-===//
#ifndef NPU_IR_NPUDIALECT_H
#define NPU_IR_NPUDIALECT_H

#include "mlir/IR/Dialect.h"

#include "npu/IR/NPUDialect.h.inc"

#endif // NPU_IR_NPUDIALECT_H
