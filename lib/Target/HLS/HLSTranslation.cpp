//===- HLSTranslation.cpp - llm-translate --emit-hls-cpp ------------------===//
//
// The translation checks its own output: a kernel the synthesizability
// checker rejects is an error, not a file.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/HLS/HLSCpp.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Tools/mlir-translate/Translation.h"

using namespace mlir;

void llmc::registerHLSTranslations() {
  TranslateFromMLIRRegistration registration(
      "emit-hls-cpp",
      "write the HLS pipeline's output as a synthesizable HLS C++ kernel",
      [](Operation *op, raw_ostream &output) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expected a module");
        std::string text;
        llvm::raw_string_ostream os(text);
        if (failed(emitHLSCpp(module, os)))
          return failure();
        std::vector<std::string> problems = checkHLSCpp(text);
        if (!problems.empty())
          return module.emitError()
                 << "the emitted kernel is not synthesizable: " << problems[0]
                 << (problems.size() > 1
                         ? " (and " + std::to_string(problems.size() - 1) +
                               " more)"
                         : std::string());
        output << text;
        return success();
      },
      [](DialectRegistry &registry) {
        registry.insert<affine::AffineDialect, arith::ArithDialect,
                        func::FuncDialect, math::MathDialect,
                        memref::MemRefDialect, scf::SCFDialect>();
      });
}
