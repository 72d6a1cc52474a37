//===- llm-run.cpp - run an ONNX model or an artifact folder on a target --===//
#include "llmc/Driver/RunMain.h"

#include "llvm/Support/InitLLVM.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  return llmc::llmRunMain(argc, argv);
}
