//===- Offload.cpp - NPU kernels called from host code --------------------===//
#include "llmc/Runtime/NPU/Offload.h"
#include "llmc/Runtime/HostRuntime.h"
#include "llmc/Runtime/NPU/Simulator.h"
#include "llmc/Support/WriteFile.h"
#include "npu/IR/NPUOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

using namespace llmc;
using namespace llmc::npu;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// A rank-2 memref descriptor as the C interface passes it.
struct Descriptor {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

/// The offload receiving this thread's kernel calls (set by runWith).
thread_local Offload *current = nullptr;

void call2(Descriptor *result, int64_t id, Descriptor *x, Descriptor *w) {
  if (current)
    current->call(result, id, {x, w});
}
void call3(Descriptor *result, int64_t id, Descriptor *x, Descriptor *w,
           Descriptor *s) {
  if (current)
    current->call(result, id, {x, w, s});
}
void call4(Descriptor *result, int64_t id, Descriptor *x, Descriptor *w,
           Descriptor *s, Descriptor *b) {
  if (current)
    current->call(result, id, {x, w, s, b});
}
void call5(Descriptor *result, int64_t id, Descriptor *x, Descriptor *w,
           Descriptor *z, Descriptor *s, Descriptor *b) {
  if (current)
    current->call(result, id, {x, w, z, s, b});
}

/// Copies a [rows, cols] window of a descriptor (elements of `bytes`) into a
/// dense buffer, optionally transposed (then the window is [cols, rows]).
void gather(const Descriptor &d, unsigned bytes, int64_t row0, int64_t col0,
            int64_t rows, int64_t cols, bool transpose, char *out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t i = transpose ? col0 + c : row0 + r;
      int64_t j = transpose ? row0 + r : col0 + c;
      const char *src =
          d.aligned + (d.offset + i * d.strides[0] + j * d.strides[1]) * bytes;
      std::memcpy(out + (r * cols + c) * bytes, src, bytes);
    }
}
} // namespace

/// A weight's NPU layout per panel ([K, cols] int8) and its column sums,
/// for the weight at `pointer`.
struct Offload::WeightCache {
  const void *pointer = nullptr;
  std::vector<std::vector<char>> panels;
  std::vector<std::vector<int32_t>> colsums;
};

struct Offload::KernelStats {
  int64_t calls = 0;
  /// The simulator's counters (cycles, MACs, instructions per class, bytes
  /// per memory, busy cycles per unit, energy per component), summed.
  llvm::json::Object counters;
};

namespace {
/// Adds the counters of `from` into `into` (nested objects too); ratios and
/// host timings are derived later, not summed.
void addCounters(llvm::json::Object &into, const llvm::json::Object &from) {
  for (const auto &[key, value] : from) {
    if (key == "mac_utilization" || key == "seconds" || key == "target" ||
        key == "host_seconds" || key == "host_macs_per_s")
      continue;
    if (const llvm::json::Object *inner = value.getAsObject()) {
      llvm::json::Object *target = into.getObject(key);
      if (!target) {
        into[key] = llvm::json::Object();
        target = into.getObject(key);
      }
      addCounters(*target, *inner);
    } else if (std::optional<double> number = value.getAsNumber()) {
      into[key] = into.getNumber(key).value_or(0) + *number;
    }
  }
}

double counter(const llvm::json::Object &counters, llvm::StringRef key,
               llvm::StringRef inner = "") {
  if (inner.empty())
    return counters.getNumber(key).value_or(0);
  const llvm::json::Object *object = counters.getObject(key);
  return object ? object->getNumber(inner).value_or(0) : 0;
}
} // namespace

Offload::~Offload() = default;

llvm::Error Offload::addKernel(OffloadKernel kernel) {
  if (kernel.id < 0 || kernel.id > (1 << 24))
    return fail("NPU kernel '" + kernel.symbol + "' has no valid id");
  if (static_cast<size_t>(kernel.id) >= kernelList.size())
    kernelList.resize(kernel.id + 1);
  if (kernelList[kernel.id].id >= 0)
    return fail("two NPU kernels have the id " + llvm::Twine(kernel.id));
  kernelList[kernel.id] = std::move(kernel);
  return llvm::Error::success();
}

llvm::Error Offload::finishLoading() {
  std::string target;
  for (const OffloadKernel &kernel : kernelList)
    for (const auto &[column, name] : kernel.panels) {
      auto found = programs.find(name);
      if (found == programs.end())
        return fail("NPU kernel '" + kernel.symbol + "' names the program '" +
                    name + "', which is missing");
      if (target.empty())
        target = found->second.target;
      else if (found->second.target != target)
        return fail("the NPU programs name different descriptions ('" +
                    target + "' and '" + found->second.target + "')");
    }
  auto loaded = Config::load(target.empty() ? "npu" : target);
  if (!loaded)
    return loaded.takeError();
  config = *loaded;
  for (const auto &entry : programs)
    if (llvm::Error error = validate(entry.second, config))
      return fail("NPU program '" + entry.first() +
                  "': " + llvm::toString(std::move(error)));
  perKernel.assign(kernelList.size(), KernelStats());
  weightCaches.assign(kernelList.size(), WeightCache());
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Offload>>
Offload::extract(mlir::ModuleOp module) {
  std::unique_ptr<Offload> offload(new Offload());
  for (auto func : module.getOps<mlir::func::FuncOp>()) {
    auto attrs = func->getAttrOfType<mlir::DictionaryAttr>("llm.npu");
    if (!attrs)
      continue;
    OffloadKernel kernel;
    kernel.symbol = func.getSymName().str();
    auto integer = [&](llvm::StringRef key) -> int64_t {
      auto value = attrs.getAs<mlir::IntegerAttr>(key);
      return value ? value.getInt() : 0;
    };
    auto string = [&](llvm::StringRef key) -> std::string {
      auto value = attrs.getAs<mlir::StringAttr>(key);
      return value ? value.str() : "";
    };
    kernel.id = attrs.getAs<mlir::IntegerAttr>("id")
                    ? integer("id")
                    : -1;
    kernel.name = string("name");
    kernel.m = integer("m");
    kernel.k = integer("k");
    kernel.n = integer("n");
    kernel.scale = string("scale");
    auto flag = [&](llvm::StringRef key) {
      auto value = attrs.getAs<mlir::BoolAttr>(key);
      return value && value.getValue();
    };
    kernel.transposeRhs = flag("transpose_rhs");
    kernel.bias = flag("bias");
    kernel.lhsUnsigned = attrs.get("lhs_unsigned") != nullptr;
    kernel.lhsZeroPoint = attrs.get("lhs_zero_point") != nullptr;
    kernel.rhsConstant = attrs.get("rhs_constant") != nullptr;
    if (auto scale = attrs.getAs<mlir::FloatAttr>("input_scale"))
      kernel.inputScale = scale.getValueAsDouble();
    auto names = attrs.getAs<mlir::ArrayAttr>("programs");
    auto columns = attrs.getAs<mlir::DenseI64ArrayAttr>("panels");
    if (!names || !columns ||
        static_cast<int64_t>(names.size()) != columns.size())
      return fail("NPU kernel '" + kernel.symbol + "' has no panel table");
    for (auto [name, column] : llvm::zip(names, columns.asArrayRef()))
      kernel.panels.emplace_back(
          column, llvm::cast<mlir::StringAttr>(name).str());
    if (llvm::Error error = offload->addKernel(std::move(kernel)))
      return std::move(error);
  }
  for (auto program :
       llvm::make_early_inc_range(module.getOps<mlir::npu::ProgramOp>())) {
    auto name = program->getAttrOfType<mlir::StringAttr>("llm.npu_program");
    if (!name)
      return fail("an npu.program without an llm.npu_program name");
    auto converted = mlir::npu::toProgram(program);
    if (failed(converted))
      return fail("NPU program '" + name.str() + "' is invalid");
    offload->programs[name.getValue()] = std::move(*converted);
    program->erase();
  }
  if (llvm::Error error = offload->finishLoading())
    return std::move(error);
  return offload;
}

llvm::Expected<llvm::json::Array> Offload::save(llvm::StringRef directory) const {
  llvm::SmallString<256> folder(directory);
  llvm::sys::path::append(folder, "npu");
  if (std::error_code error = llvm::sys::fs::create_directories(folder))
    return fail(folder + ": cannot create: " + error.message());
  for (const auto &entry : programs) {
    llvm::SmallString<256> path(folder);
    llvm::sys::path::append(path, entry.first() + ".npubin");
    if (llvm::Error error = writeFile(path, writeBinary(entry.second)))
      return fail(llvm::toString(std::move(error)));
  }
  llvm::json::Array table;
  for (const OffloadKernel &kernel : kernelList) {
    if (kernel.id < 0)
      continue;
    llvm::json::Array panels;
    for (const auto &[column, name] : kernel.panels)
      panels.push_back(llvm::json::Object{{"column", column},
                                          {"program", "npu/" + name + ".npubin"}});
    llvm::json::Object entry{{"id", kernel.id},
                             {"symbol", kernel.symbol},
                                       {"name", kernel.name},
                                       {"m", kernel.m},
                                       {"k", kernel.k},
                                       {"n", kernel.n},
                                       {"transpose_rhs", kernel.transposeRhs},
                                       {"scale", kernel.scale},
                                       {"bias", kernel.bias},
                                       {"panels", std::move(panels)}};
    if (kernel.inputScale)
      entry["input_scale"] = static_cast<double>(*kernel.inputScale);
    if (kernel.lhsUnsigned)
      entry["lhs_unsigned"] = true;
    if (kernel.lhsZeroPoint)
      entry["lhs_zero_point"] = true;
    if (kernel.rhsConstant)
      entry["rhs_constant"] = true;
    table.push_back(std::move(entry));
  }
  return table;
}

llvm::Expected<std::unique_ptr<Offload>>
Offload::load(llvm::StringRef directory, const llvm::json::Array &kernels) {
  std::unique_ptr<Offload> offload(new Offload());
  for (const llvm::json::Value &value : kernels) {
    const llvm::json::Object *object = value.getAsObject();
    const llvm::json::Array *panels =
        object ? object->getArray("panels") : nullptr;
    if (!panels)
      return fail("the manifest's npu_kernels table is malformed");
    OffloadKernel kernel;
    kernel.id = object->getInteger("id").value_or(-1);
    kernel.symbol = object->getString("symbol").value_or("").str();
    kernel.name = object->getString("name").value_or("").str();
    kernel.m = object->getInteger("m").value_or(0);
    kernel.k = object->getInteger("k").value_or(0);
    kernel.n = object->getInteger("n").value_or(0);
    kernel.transposeRhs = object->getBoolean("transpose_rhs").value_or(false);
    kernel.scale = object->getString("scale").value_or("none").str();
    kernel.bias = object->getBoolean("bias").value_or(false);
    if (std::optional<double> scale = object->getNumber("input_scale"))
      kernel.inputScale = static_cast<float>(*scale);
    kernel.lhsUnsigned = object->getBoolean("lhs_unsigned").value_or(false);
    kernel.lhsZeroPoint = object->getBoolean("lhs_zero_point").value_or(false);
    kernel.rhsConstant = object->getBoolean("rhs_constant").value_or(false);
    if (kernel.symbol.empty() || kernel.m <= 0 || kernel.k <= 0 ||
        kernel.n <= 0)
      return fail("the manifest's npu_kernels table is malformed");
    for (const llvm::json::Value &panel : *panels) {
      const llvm::json::Object *entry = panel.getAsObject();
      std::optional<llvm::StringRef> file =
          entry ? entry->getString("program") : std::nullopt;
      if (!file)
        return fail("the manifest's npu_kernels table is malformed");
      std::string name = llvm::sys::path::stem(*file).str();
      kernel.panels.emplace_back(entry->getInteger("column").value_or(0), name);
      if (offload->programs.count(name))
        continue;
      llvm::SmallString<256> path(directory);
      llvm::sys::path::append(path, *file);
      auto program = readProgramFile(path);
      if (!program)
        return program.takeError();
      offload->programs[name] = std::move(*program);
    }
    if (llvm::Error error = offload->addKernel(std::move(kernel)))
      return std::move(error);
  }
  if (llvm::Error error = offload->finishLoading())
    return std::move(error);
  return offload;
}

std::vector<std::pair<std::string, void *>> Offload::symbols() const {
  std::vector<std::pair<std::string, void *>> result;
  for (const OffloadKernel &kernel : kernelList) {
    if (kernel.id < 0)
      continue;
    int operands =
        2 + kernel.lhsZeroPoint + (kernel.scale != "none") + kernel.bias;
    void *entry = operands == 2   ? reinterpret_cast<void *>(&call2)
                  : operands == 3 ? reinterpret_cast<void *>(&call3)
                  : operands == 4 ? reinterpret_cast<void *>(&call4)
                                  : reinterpret_cast<void *>(&call5);
    result.emplace_back("_mlir_ciface_" + kernel.symbol, entry);
  }
  return result;
}

llvm::Error Offload::runWith(llvm::function_ref<llvm::Error()> fn) {
  perKernel.assign(kernelList.size(), KernelStats());
  firstError.reset();
  hostSeconds = 0;
  lastProgress = 0;
  callsThisRun = 0;
  Offload *previous = current;
  current = this;
  llvm::Error error = fn();
  current = previous;
  if (error)
    return error;
  if (firstError)
    return fail(*firstError);
  return llvm::Error::success();
}

void Offload::call(void *resultPointer, int64_t id,
                   llvm::ArrayRef<void *> operands) {
  auto *result = static_cast<Descriptor *>(resultPointer);
  auto start = std::chrono::steady_clock::now();
  bool valid = id >= 0 && static_cast<size_t>(id) < kernelList.size() &&
               kernelList[id].id == id;
  const OffloadKernel *kernel = valid ? &kernelList[id] : nullptr;
  int64_t m = kernel ? kernel->m : 0, n = kernel ? kernel->n : 0;
  // The result exists even after an error, so that the host code can go on
  // (and free it); the run reports the error at its end.
  // From the host code's heap, which frees it; aligned to 64 bytes.
  size_t bytes = std::max<size_t>(64, ((m * n * 4 + 63) / 64) * 64);
  auto *allocated = static_cast<char *>(llmc::allocateHostBuffer(bytes + 64));
  char *buffer =
      allocated + (64 - reinterpret_cast<uintptr_t>(allocated) % 64) % 64;
  std::memset(buffer, 0, bytes);
  *result = Descriptor{allocated, buffer, 0, {m, n}, {n, 1}};
  if (firstError)
    return;
  if (!kernel) {
    firstError = "the host code called NPU kernel " + std::to_string(id) +
                 ", which does not exist";
    return;
  }
  const auto &x = *static_cast<const Descriptor *>(operands[0]);
  const auto &w = *static_cast<const Descriptor *>(operands[1]);
  const int64_t k = kernel->k;
  int64_t wantRows = kernel->transposeRhs ? n : k;
  int64_t wantCols = kernel->transposeRhs ? k : n;
  if (x.sizes[0] != m || x.sizes[1] != k || w.sizes[0] != wantRows ||
      w.sizes[1] != wantCols) {
    firstError = "NPU kernel '" + kernel->symbol + "' (" + kernel->name +
                 ") was called with operands of the wrong shape";
    return;
  }
  // The activations: int8, or f32 the program quantizes itself.
  const unsigned xBytes = kernel->inputScale ? 4 : 1;
  std::vector<char> a(m * k * xBytes);
  gather(x, xBytes, 0, 0, m, k, false, a.data());
  // Operands after the rhs: [zero point], [scale], [bias].
  size_t next = 2;
  const Descriptor *zeroPoint =
      kernel->lhsZeroPoint ? static_cast<const Descriptor *>(operands[next++])
                           : nullptr;
  const Descriptor *scale =
      kernel->scale != "none"
          ? static_cast<const Descriptor *>(operands[next++])
          : nullptr;
  const Descriptor *biasRow =
      kernel->bias ? static_cast<const Descriptor *>(operands[next++])
                   : nullptr;
  int32_t za = 0;
  if (zeroPoint) {
    int8_t byte;
    gather(*zeroPoint, 1, 0, 0, 1, 1, false, reinterpret_cast<char *>(&byte));
    za = kernel->lhsUnsigned ? int32_t(static_cast<uint8_t>(byte)) : byte;
  }
  // The rhs in the NPU's layout, per panel, and its column sums: kept
  // between calls for a weight (the same bytes at the same address).
  WeightCache &cache = weightCaches[id];
  if (!kernel->rhsConstant || cache.pointer != w.aligned) {
    cache.panels.clear();
    cache.colsums.clear();
    cache.pointer = kernel->rhsConstant ? w.aligned : nullptr;
  }
  KernelStats &stats = perKernel[id];
  ++stats.calls;
  size_t panelIndex = 0;
  for (const auto &[column, name] : kernel->panels) {
    const Program &program = programs.find(name)->second;
    const TensorBinding *output = nullptr;
    for (const TensorBinding &tensor : program.tensors)
      if (tensor.isOutput)
        output = &tensor;
    int64_t cols = output ? output->shape[1] : 0;
    auto simulator = Simulator::create(program, config);
    if (!simulator) {
      firstError = llvm::toString(simulator.takeError());
      return;
    }
    auto set = [&](llvm::StringRef tensor, const std::vector<char> &data) {
      if (firstError)
        return;
      if (llvm::Error error =
              (*simulator)->setTensor(tensor, data.data(), data.size()))
        firstError = llvm::toString(std::move(error));
    };
    set(kernel->inputScale ? "X" : "A", a);
    // The rhs as [K, cols] int8: a `transpose_rhs` weight [N, K] is read
    // column-major, i.e. laid out transposed.
    if (cache.panels.size() <= panelIndex) {
      std::vector<char> b(k * cols);
      gather(w, 1, 0, column, k, cols, kernel->transposeRhs, b.data());
      std::vector<int32_t> sums(cols, 0);
      if (kernel->lhsZeroPoint)
        for (int64_t r = 0; r < k; ++r)
          for (int64_t c = 0; c < cols; ++c)
            sums[c] += static_cast<int8_t>(b[r * cols + c]);
      cache.panels.push_back(std::move(b));
      cache.colsums.push_back(std::move(sums));
    }
    set("B", cache.panels[panelIndex]);
    if (zeroPoint) {
      // sum_k (a - z_a) w = sum_k a w - z_a colsum(w), in wrapping int32.
      std::vector<char> row(cols * 4);
      for (int64_t c = 0; c < cols; ++c) {
        uint32_t value = 0u - uint32_t(za) * uint32_t(cache.colsums[panelIndex][c]);
        std::memcpy(row.data() + 4 * c, &value, 4);
      }
      set("Z", row);
    }
    ++panelIndex;
    if (scale) {
      const auto &s = *scale;
      std::vector<char> row(cols * 4);
      if (kernel->scale == "tensor")
        for (int64_t c = 0; c < cols; ++c)
          gather(s, 4, 0, 0, 1, 1, false, row.data() + 4 * c);
      else
        gather(s, 4, 0, column, 1, cols, false, row.data());
      set("S", row);
    }
    if (biasRow) {
      const auto &bias = *biasRow;
      std::vector<char> row(cols * 4);
      gather(bias, 4, 0, column, 1, cols, false, row.data());
      set("Bias", row);
    }
    if (firstError)
      return;
    SimulatorOptions options;
    options.maxCycles = maxCycles;
    if (llvm::Error error = (*simulator)->run(options)) {
      firstError = "NPU kernel '" + kernel->symbol + "' (" + kernel->name +
                   "): " + llvm::toString(std::move(error));
      return;
    }
    llvm::ArrayRef<uint8_t> c = (*simulator)->tensorBytes("C");
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(buffer + (r * n + column) * 4, c.data() + r * cols * 4,
                  cols * 4);
    addCounters(stats.counters, (*simulator)->stats());
  }
  hostSeconds += std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  ++callsThisRun;
  if (progress && hostSeconds - lastProgress >= 2.0) {
    lastProgress = hostSeconds;
    uint64_t cycles = 0;
    for (const KernelStats &each : perKernel)
      cycles += static_cast<uint64_t>(counter(each.counters, "cycles"));
    progress("npu: " + llvm::Twine(callsThisRun) + " kernel calls, now " +
             kernel->name + " (" + llvm::Twine(m) + "x" + llvm::Twine(k) +
             "x" + llvm::Twine(n) + "), " + llvm::Twine(cycles) +
             " cycles simulated");
  }
}

llvm::json::Object Offload::stats() const {
  const double peak = double(config.arrayRows) * double(config.arrayCols);
  // Derived figures of a set of counters: utilization and time at the clock.
  auto derive = [&](llvm::json::Object &object) {
    double cycles = counter(object, "cycles"), macs = counter(object, "macs");
    object["mac_utilization"] = cycles > 0 ? macs / (cycles * peak) : 0.0;
    object["seconds"] = cycles / config.clockHz;
  };
  llvm::json::Object totals;
  int64_t calls = 0;
  llvm::json::Array layers;
  for (auto [kernel, stats] : llvm::zip(kernelList, perKernel)) {
    if (kernel.id < 0)
      continue;
    addCounters(totals, stats.counters);
    calls += stats.calls;
    llvm::json::Object row{
        {"kernel", kernel.symbol},
        {"name", kernel.name},
        {"m", kernel.m},
        {"k", kernel.k},
        {"n", kernel.n},
        {"epilogue",
         std::string(kernel.inputScale ? "quantize+" : "") +
             (kernel.lhsZeroPoint ? "zero-point+" : "") +
             std::string(kernel.scale == "none"
                             ? "int32"
                             : (kernel.bias ? "dequantize+bias"
                                            : "dequantize"))},
        {"calls", stats.calls},
        {"cycles", static_cast<int64_t>(counter(stats.counters, "cycles"))},
        {"macs", counter(stats.counters, "macs")},
        {"energy_j", counter(stats.counters, "energy_j", "total")},
        {"dram_bytes", counter(stats.counters, "bytes", "dram_read") +
                           counter(stats.counters, "bytes", "dram_write")}};
    derive(row);
    layers.push_back(std::move(row));
  }
  llvm::json::Object result = std::move(totals);
  if (!result.get("cycles"))
    result["cycles"] = 0;
  if (!result.get("macs"))
    result["macs"] = 0;
  result["cycles"] = static_cast<int64_t>(counter(result, "cycles"));
  derive(result);
  result["target"] = config.name;
  result["kernels"] = static_cast<int64_t>(
      llvm::count_if(kernelList, [](const OffloadKernel &kernel) {
        return kernel.id >= 0;
      }));
  result["kernel_calls"] = calls;
  result["host_seconds"] = hostSeconds;
  result["layers"] = std::move(layers);
  return result;
}
