//===- TargetDescription.h - hardware descriptions as data ------*- C++ -*-===//
//
// A target description is a JSON file (targets/*.json) that says what the
// compiler may assume about a piece of hardware: peak rates per data type,
// memory bandwidth and capacity, the on-chip memory a tile must fit in, the
// shape of the matrix unit, power. The bundled files are compiled into the
// library, so `h100`, `u280` and `npu` resolve without a file; anything else
// is a path. In IR a description is the module attribute `llm.target`, a
// dictionary that mirrors the JSON (see toAttr/fromAttr).
//
// Required fields (validated on load; every number must be > 0 unless said):
//   name, kind ("gpu" | "fpga" | "npu" | "cpu"), clock_hz, compute_units,
//   matrix_ops_per_s {dtype: ops/s}, vector_ops_per_s,
//   memory.bandwidth_bytes_per_s, on_chip_bytes, power_w,
//   matrix_unit {dtype: [m, n, k]} for each dtype of matrix_ops_per_s,
//   sources {field: citation} naming a source for every top-level number
//   (and for every number of the kind section, `gpu.`/`fpga.`/`npu.` paths).
// Optional: op_overhead_s (>= 0), memory.capacity_bytes, l2_bytes and the
// kind section ("gpu", "fpga", "npu") with the kind's own figures.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TARGET_TARGETDESCRIPTION_H
#define LLMC_TARGET_TARGETDESCRIPTION_H

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <limits>
#include <optional>
#include <string>

namespace llmc {

class TargetDescription {
public:
  /// Loads `nameOrPath`: a bundled description's name (`h100`, `u280`,
  /// `npu`) or a path to a JSON file. Errors are one line naming the file and
  /// the field.
  static llvm::Expected<TargetDescription> load(llvm::StringRef nameOrPath);
  /// Parses and validates JSON text; `origin` names it in errors.
  static llvm::Expected<TargetDescription> parse(llvm::StringRef text,
                                                 llvm::StringRef origin);
  /// Reads the `llm.target` dictionary attribute back.
  static llvm::Expected<TargetDescription> fromAttr(mlir::DictionaryAttr attr);
  /// The bundled description a backend uses unless told otherwise:
  /// ptx → h100, hls → u280, npu → npu. None for other targets.
  static std::optional<llvm::StringRef> defaultFor(llvm::StringRef target);
  /// The backend for a description's kind: gpu → ptx, fpga → hls, npu → npu,
  /// cpu → host.
  llvm::StringRef backend() const;
  /// Names of the bundled descriptions.
  static llvm::ArrayRef<llvm::StringRef> bundled();

  /// The whole description as an attribute (numbers as f64, integers that
  /// are whole numbers as i64, strings, arrays and nested dictionaries).
  mlir::DictionaryAttr toAttr(mlir::MLIRContext *context) const;

  llvm::StringRef name() const { return nameValue; }
  llvm::StringRef kind() const { return kindValue; }
  /// Where it came from: "bundled:h100", a path, or "attribute".
  llvm::StringRef origin() const { return originValue; }
  const llvm::json::Object &json() const { return root; }

  double clockHz() const;
  double computeUnits() const;
  /// Peak matrix-unit rate for a dtype ("fp32", "bf16", "fp16", "fp8",
  /// "int8"), none if the hardware has no matrix path for it.
  std::optional<double> matrixOpsPerSecond(llvm::StringRef dtype) const;
  double vectorOpsPerSecond() const;
  double memoryBandwidth() const;
  /// Bytes a tile's working set may occupy (GPU shared memory per SM, FPGA
  /// on-chip RAM, NPU scratchpad).
  double onChipBytes() const;
  double powerWatts() const;
  double opOverheadSeconds() const;
  /// The matrix unit's [m, n, k] granule for a dtype.
  std::optional<std::array<int64_t, 3>>
  matrixUnit(llvm::StringRef dtype) const;
  /// A number at a dotted path ("npu.array_rows",
  /// "npu.energy_per_mac_j.int8").
  std::optional<double> number(llvm::StringRef dottedPath) const;
  /// Whether the description gives a figure at `dottedPath` that is not a
  /// finite number in [low, high] (a whole one with `whole`). An absent
  /// figure is not: its consumer's default applies. The backends check the
  /// figures of their kind's section with it.
  bool givesFigureOutside(llvm::StringRef dottedPath, double low,
                          double high = std::numeric_limits<double>::max(),
                          bool whole = false) const;

private:
  std::string nameValue, kindValue, originValue;
  llvm::json::Object root;
};

} // namespace llmc

#endif // LLMC_TARGET_TARGETDESCRIPTION_H
