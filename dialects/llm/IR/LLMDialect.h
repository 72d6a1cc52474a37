//===- LLMDialect.h - the llm graph dialect ---------------------*- C++ -*-===//
#ifndef LLM_IR_LLMDIALECT_H
#define LLM_IR_LLMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "llm/IR/LLMDialect.h.inc"

#endif // LLM_IR_LLMDIALECT_H
