//===- ONNXImporter.h - ONNX models into the llm dialect --------*- C++ -*-===//
#ifndef LLMC_IMPORT_ONNXIMPORTER_H
#define LLMC_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llmc {

struct ImportOptions {
  /// Static shapes for graph inputs by name (from --shape, or from the inputs
  /// llm-run is given). They fill the model's dynamic dims; they must have the
  /// model's rank and agree with its static dims, otherwise the import fails
  /// with "input 'x' has shape [1,8], the model declares [1,16]" (a `?` for
  /// each dynamic dim), so a wrong input shape is an error, not a recompile.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// The flag that gave each of inputShapes where it is not --shape
  /// (llm-run's --input), for the error that names an input the graph
  /// does not have.
  llvm::StringMap<std::string> inputShapeFlags;
  /// A graph input's value known at compile time: its element type as MLIR
  /// spells it ("i64", "f32", "i1") and its bytes, row-major, one byte per
  /// bool.
  struct KnownValue {
    std::string elementType;
    std::vector<char> bytes;
  };
  /// Values of graph inputs known at compile time (llm-run knows the small
  /// inputs it is given). They are used only where an op needs a constant
  /// (Reshape's shape, Slice's bounds, a reduction's axes, Trilu's k, ...);
  /// the input stays an argument of the function. A value whose type or size
  /// does not match the input is ignored (binding the input reports it).
  llvm::StringMap<KnownValue> inputValues;
  /// Values of graph inputs fixed when compiling (llm-compile --value), in
  /// the input's element type: known like inputValues, for the ops that need
  /// a constant (an If on a merged decoder's use_cache_branch); the compiled
  /// model then refuses other values of the input.
  llvm::StringMap<llvm::SmallVector<double>> fixedValues;
  /// Name of the function the graph becomes.
  std::string entryName = "forward";
};

/// Parses "NAME=DIMS" with DIMS like "1x16" or "1,16" (a scalar: "NAME=").
llvm::Error parseShapeOption(llvm::StringRef spec, ImportOptions &options);
/// Parses "NAME=V[,V...]" (numbers, or true/false) into fixedValues.
llvm::Error parseValueOption(llvm::StringRef spec, ImportOptions &options);

/// Imports an ONNX model (binary protobuf, or the ONNX text format when the
/// file ends in `.onnxtxt`) into a new module holding one function,
/// `options.entryName`. Initializers and Constant nodes become
/// `dense_resource` blobs; external data files are read next to the model.
/// Every problem is emitted as an error diagnostic on `context` at a location
/// naming the file, node and op type, and the result is null.
mlir::OwningOpRef<mlir::ModuleOp> importONNXFile(llvm::StringRef path,
                                                 mlir::MLIRContext &context,
                                                 const ImportOptions &options);

/// The same for a serialized ModelProto held in memory; `displayName` stands
/// for the file in messages, `baseDir` is where external data is looked up.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXBytes(llvm::StringRef bytes, llvm::StringRef displayName,
                llvm::StringRef baseDir, mlir::MLIRContext &context,
                const ImportOptions &options);

} // namespace llmc

#endif // LLMC_IMPORT_ONNXIMPORTER_H
