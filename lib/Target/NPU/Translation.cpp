//===- Translation.cpp - llm-translate's NPU translations -----------------===//
#include "llmc/Target/NPU/Translation.h"
#include "llmc/Target/NPU/ISA.h"
#include "npu/IR/NPUOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
namespace isa = llmc::npu;

namespace {
/// The one npu.program of a module (or the op itself).
FailureOr<isa::Program> programOf(Operation *op) {
  mlir::npu::ProgramOp program = dyn_cast<mlir::npu::ProgramOp>(op);
  if (!program) {
    op->walk([&](mlir::npu::ProgramOp found) {
      if (!program)
        program = found;
      return WalkResult::interrupt();
    });
  }
  if (!program)
    return op->emitError() << "no npu.program to emit";
  return mlir::npu::toProgram(program);
}

StringRef bufferOf(const std::shared_ptr<llvm::SourceMgr> &sourceMgr,
                   StringRef &name) {
  const llvm::MemoryBuffer *buffer =
      sourceMgr->getMemoryBuffer(sourceMgr->getMainFileID());
  name = buffer->getBufferIdentifier();
  return buffer->getBuffer();
}

/// Reads a program (binary or assembly) and checks it against its target.
FailureOr<isa::Program> readChecked(StringRef bytes, StringRef name,
                                    MLIRContext *context, bool wantBinary,
                                    bool wantAssembly) {
  auto report = [&](llvm::Error error) {
    emitError(FileLineColLoc::get(context, name, 0, 0))
        << llvm::toString(std::move(error));
    return failure();
  };
  bool binary = isa::isBinary(bytes);
  if (binary && !wantBinary)
    return report(llvm::createStringError(
        "expected NPU assembly, got an NPU binary"));
  if (!binary && !wantAssembly)
    return report(llvm::createStringError(
        "not an NPU binary (no 'LNPU' magic)"));
  llvm::Expected<isa::Program> program =
      binary ? isa::readBinary(bytes, name) : isa::parseAssembly(bytes, name);
  if (!program)
    return report(program.takeError());
  llvm::Expected<isa::Config> config = isa::Config::load(program->target);
  if (!config)
    return report(config.takeError());
  if (llvm::Error error = isa::validate(*program, *config))
    return report(std::move(error));
  return *program;
}

void registerDialects(DialectRegistry &registry) {
  registry.insert<mlir::npu::NPUDialect>();
}
} // namespace

void llmc::npu::registerNPUTranslations() {
  static TranslateFromMLIRRegistration emitAsm(
      "emit-npu-asm", "write an npu.program as NPU assembly",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        FailureOr<isa::Program> program = programOf(op);
        if (failed(program))
          return failure();
        isa::printAssembly(*program, os);
        return success();
      },
      registerDialects);
  static TranslateFromMLIRRegistration emitBin(
      "emit-npu-bin", "write an npu.program as an NPU binary (.npubin)",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        FailureOr<isa::Program> program = programOf(op);
        if (failed(program))
          return failure();
        os << isa::writeBinary(*program);
        return success();
      },
      registerDialects);
  static TranslateRegistration assemble(
      "npu-assemble", "NPU assembly -> NPU binary",
      [](const std::shared_ptr<llvm::SourceMgr> &sourceMgr,
         llvm::raw_ostream &os, MLIRContext *context) -> LogicalResult {
        StringRef name;
        StringRef bytes = bufferOf(sourceMgr, name);
        FailureOr<isa::Program> program =
            readChecked(bytes, name, context, false, true);
        if (failed(program))
          return failure();
        os << isa::writeBinary(*program);
        return success();
      });
  static TranslateRegistration disassemble(
      "npu-disassemble", "NPU binary -> NPU assembly",
      [](const std::shared_ptr<llvm::SourceMgr> &sourceMgr,
         llvm::raw_ostream &os, MLIRContext *context) -> LogicalResult {
        StringRef name;
        StringRef bytes = bufferOf(sourceMgr, name);
        FailureOr<isa::Program> program =
            readChecked(bytes, name, context, true, false);
        if (failed(program))
          return failure();
        isa::printAssembly(*program, os);
        return success();
      });
  static TranslateToMLIRRegistration importNpu(
      "import-npu", "NPU assembly or binary -> npu dialect",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        FailureOr<isa::Program> program =
            readChecked(buffer->getBuffer(), buffer->getBufferIdentifier(),
                        context, true, true);
        if (failed(program))
          return nullptr;
        OwningOpRef<ModuleOp> module = mlir::npu::fromProgram(*program, context);
        return OwningOpRef<Operation *>(module.release());
      },
      registerDialects);
}
