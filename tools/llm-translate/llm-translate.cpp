//===- llm-translate.cpp - mlir-translate with llmc's translations --------===//
//
// `--import-onnx` turns an ONNX model into the llm dialect; the `--emit-*`
// translations turn lowered MLIR into target code (`--emit-hls-cpp`).
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMDialect.h"
#include "llmc/Driver/Driver.h"
#include "llmc/Import/ONNXImporter.h"
#include "llmc/Support/WriteFile.h"
#include "llmc/Target/HLS/HLSCpp.h"
#include "llmc/Target/NPU/Translation.h"
#include "llmc/Target/PTX.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Support/LogicalResult.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/SourceMgr.h"

static llvm::cl::list<std::string>
    shapeOptions("shape", llvm::cl::cat(llmc::toolCategory()),
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

/// Diagnostics of the importer name files and nodes in their locations; a
/// SourceMgr with no buffers prints them without source excerpts.
llvm::SourceMgr &sourceMgrForDiagnostics() {
  static llvm::SourceMgr sourceMgr;
  return sourceMgr;
}


/// `--import-onnx FILE`, run without mlirTranslateMain: that driver reads the
/// whole input into memory before translating, which would hold a model's
/// weights twice. Here the importer streams the file and owns its bytes once.
int importMain(int argc, char **argv) {
  static llvm::cl::opt<bool> importFlag(
      "import-onnx", llvm::cl::desc("import an ONNX model into the llm dialect"));
  static llvm::cl::opt<std::string> inputPath(
      llvm::cl::Positional, llvm::cl::desc("<model.onnx>"), llvm::cl::init("-"));
  static llvm::cl::opt<bool> emitBytecode(
      "emit-bytecode",
      llvm::cl::desc("write MLIR bytecode: weights stay raw bytes instead of "
                     "hex text"));
  static llvm::cl::opt<std::string> outputPath(
      "o", llvm::cl::desc("output file"), llvm::cl::value_desc("filename"),
      llvm::cl::init("-"));
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  if (!llmc::parseToolOptions(argc, argv, "llmc translation driver\n",
                               /*ownOptionsOnly=*/false))
    return 2;

  mlir::DialectRegistry registry;
  registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::SourceMgrDiagnosticHandler handler(sourceMgrForDiagnostics(), &context);

  llmc::ImportOptions options;
  for (const std::string &spec : shapeOptions)
    if (llvm::Error error = llmc::parseShapeOption(spec, options))
      return llmc::reportToolError("llm-translate", std::move(error));
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (inputPath == "-") {
    auto buffer = llvm::MemoryBuffer::getSTDIN();
    if (!buffer)
      return llmc::reportToolError(
          "llm-translate", llvm::createStringError("cannot read stdin"));
    module = llmc::importONNXBytes((*buffer)->getBuffer(), "<stdin>", ".",
                                   context, options);
  } else {
    module = llmc::importONNXFile(inputPath, context, options);
  }
  if (!module || mlir::failed(mlir::verify(*module)))
    return 2;

  std::string error;
  auto output = mlir::openOutputFile(outputPath, &error);
  if (!output)
    return llmc::reportToolError("llm-translate",
                                 llvm::createStringError(error));
  if (emitBytecode) {
    if (mlir::failed(mlir::writeBytecodeToFile(*module, output->os())))
      return llmc::reportToolError(
          "llm-translate", llvm::createStringError("cannot write bytecode"));
  } else {
    module->print(output->os(), mlir::OpPrintingFlags());
    output->os() << "\n";
  }
  if (llvm::Error error = llmc::flushChecked(output->os(), outputPath))
    return llmc::reportToolError("llm-translate", std::move(error));
  output->keep();
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  // --help lists the translations and MLIR's options, not LLVM's backends'.
  llmc::hideForeignOptions();
  for (int i = 1; i < argc; ++i)
    if (llvm::StringRef(argv[i]) == "--import-onnx" ||
        llvm::StringRef(argv[i]) == "-import-onnx")
      return importMain(argc, argv);

  mlir::TranslateToMLIRRegistration importRegistration(
      "import-onnx", "import an ONNX model into the llm dialect", importONNX,
      registerImportDialects);
  llmc::npu::registerNPUTranslations();
  llmc::registerHLSTranslations();
  llmc::registerPTXTranslation();
  // mlirTranslateMain owns the output stream: a failed write is exit 2, too.
  llmc::exitOnOutputFailure("llm-translate");
  // Every failure of a translation is a problem of its input: exit 2.
  return mlir::failed(
             mlir::mlirTranslateMain(argc, argv, "llmc translation driver\n"))
             ? 2
             : 0;
}
