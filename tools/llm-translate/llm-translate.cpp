//===- llm-translate.cpp - mlir-translate with llmc's translations --------===//
//
// `--import-onnx` turns an ONNX model into the llm dialect; the `--emit-*`
// translations turn lowered MLIR into target code.
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMDialect.h"
#include "llmc/Import/ONNXImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/LogicalResult.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

static llvm::cl::list<std::string>
    shapeOptions("shape",
                 llvm::cl::desc("Static shape of a graph input for "
                                "--import-onnx, e.g. --shape x=1x128"),
                 llvm::cl::value_desc("NAME=DIMS"));

namespace {
mlir::OwningOpRef<mlir::Operation *> importONNX(llvm::SourceMgr &sourceMgr,
                                                mlir::MLIRContext *context) {
  const llvm::MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  llvm::StringRef path = buffer->getBufferIdentifier();
  llmc::ImportOptions options;
  for (const std::string &spec : shapeOptions)
    if (llvm::Error error = llmc::parseShapeOption(spec, options)) {
      mlir::emitError(mlir::UnknownLoc::get(context))
          << llvm::toString(std::move(error));
      return nullptr;
    }
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (path == "-" || path == "<stdin>") {
    module = llmc::importONNXBytes(buffer->getBuffer(), "<stdin>", ".",
                                   *context, options);
  } else {
    // mlirTranslateMain holds a heap copy of the whole model. The importer
    // re-reads the file by path, so drop that copy first: the weights are then
    // held once. Diagnostics of the importer carry no line, so nothing looks
    // into the buffer afterwards.
    std::string pathName = path.str();
    llvm::SourceMgr released;
    released.takeSourceBuffersFrom(sourceMgr);
    module = llmc::importONNXFile(pathName, *context, options);
  }
  return mlir::OwningOpRef<mlir::Operation *>(module.release());
}

void registerImportDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::llm::LLMDialect, mlir::func::FuncDialect>();
}
} // namespace

int main(int argc, char **argv) {
  mlir::TranslateToMLIRRegistration importRegistration(
      "import-onnx", "import an ONNX model into the llm dialect", importONNX,
      registerImportDialects);
  return mlir::failed(
             mlir::mlirTranslateMain(argc, argv, "llmc translation driver\n"))
             ? 1
             : 0;
}
