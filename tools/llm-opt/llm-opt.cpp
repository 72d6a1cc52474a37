//===- llm-opt.cpp - mlir-opt with llmc's dialects, passes and pipelines --===//
#include "llmc/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  llmc::registerAllLLMCDialects(registry);
  llmc::registerAllLLMCPasses();
  llmc::registerPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "llmc optimizer driver\n", registry));
}
