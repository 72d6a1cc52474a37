//===- llm-opt.cpp - mlir-opt with llmc's dialects, passes and pipelines --===//
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Support/ToolOptions.h"
#include "llmc/Support/WriteFile.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/STLExtras.h"

#include <cstdlib>
#include <unistd.h>

namespace {
/// True while the command line is parsed: llvm::cl ends the process with
/// exit(1) on a usage error, and the tools' contract says usage errors exit
/// with 2.
bool parsingCommandLine = false;
void usageErrorExit() {
  if (parsingCommandLine)
    _exit(2);
}
} // namespace

int main(int argc, char **argv) {
  // --help lists MLIR's options and llmc's passes, not LLVM's backends'
  // (MLIR's are registered below).
  llmc::hideForeignOptions();
  // MlirOptMain owns the output stream: a failed write is exit 2, too.
  llmc::exitOnOutputFailure("llm-opt");
  mlir::DialectRegistry registry;
  llmc::registerAllLLMCDialects(registry);
  llmc::registerAllLLMCPasses();
  llmc::registerPipelines();
  llvm::ArrayRef<char *> args(argv, argc);
  // A -verify-diagnostics mismatch is a failed check (1); any other failure
  // is a problem of the input (2).
  bool checking = llvm::any_of(args, [](char *arg) {
    return llvm::StringRef(arg).ends_with("-verify-diagnostics");
  });
  // --help and --version also leave through exit() while parsing, with 0.
  bool informational = llvm::any_of(args, [](char *arg) {
    llvm::StringRef flag = llvm::StringRef(arg).ltrim('-');
    return flag.starts_with("help") || flag == "version" ||
           flag.starts_with("print-options");
  });
  if (!informational) {
    std::atexit(usageErrorExit);
    parsingCommandLine = true;
  }
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "llmc optimizer driver\n", registry);
  parsingCommandLine = false;
  if (mlir::failed(
          mlir::MlirOptMain(argc, argv, inputFile, outputFile, registry)))
    return checking ? 1 : 2;
  return 0;
}
