//===- llm-opt.cpp - mlir-opt with llmc's dialects, passes and pipelines --===//
#include "llmc/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/STLExtras.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  llmc::registerAllLLMCDialects(registry);
  llmc::registerAllLLMCPasses();
  llmc::registerPipelines();
  // A -verify-diagnostics mismatch is a failed check (1); any other failure
  // is a problem of the input (2).
  bool checking = llvm::any_of(llvm::ArrayRef<char *>(argv, argc), [](char *arg) {
    return llvm::StringRef(arg).ends_with("-verify-diagnostics");
  });
  if (mlir::failed(
          mlir::MlirOptMain(argc, argv, "llmc optimizer driver\n", registry)))
    return checking ? 1 : 2;
  return 0;
}
