//===- Translation.h - llm-translate's NPU translations ---------*- C++ -*-===//
//
// --emit-npu-asm / --emit-npu-bin (npu dialect → assembly / binary),
// --npu-assemble / --npu-disassemble (assembly ↔ binary, no MLIR in between)
// and --import-npu (assembly or binary → npu dialect).
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TARGET_NPU_TRANSLATION_H
#define LLMC_TARGET_NPU_TRANSLATION_H

namespace llmc::npu {
void registerNPUTranslations();
} // namespace llmc::npu

#endif // LLMC_TARGET_NPU_TRANSLATION_H
