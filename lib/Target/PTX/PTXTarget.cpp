//===- PTXTarget.cpp - PTX text and launch plans from lowered modules -----===//
//
// The output of llm-ptx-pipeline is a module with one gpu.binary (the PTX of
// every kernel) and host functions that only allocate, view and launch. This
// file turns the first into text (`llm-translate --emit-ptx`) and the second
// into the plan the CUDA runner replays.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/PTX.h"

#include "llmc/Pipelines/PTXPipeline.h"
#include "llmc/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace llmc;

namespace {

llvm::Error planError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "'" << op->getName() << "'";
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    os << " at " << loc.getFilename() << ":" << loc.getLine();
  return text;
}

int64_t elementBytes(Type type) {
  return std::max<int64_t>(1, (type.getIntOrFloatBitWidth() + 7) / 8);
}

/// Bytes of a memref.global's initial value, element by element.
FailureOr<std::vector<uint8_t>> globalBytes(memref::GlobalOp global) {
  auto type = global.getType();
  int64_t count = type.getNumElements();
  int64_t size = elementBytes(type.getElementType());
  std::vector<uint8_t> bytes(count * size, 0);
  Attribute init = global.getInitialValueAttr();
  if (auto dense = dyn_cast_if_present<DenseElementsAttr>(init)) {
    if (type.getElementType().isInteger(1)) {
      auto values = dense.getValues<bool>();
      for (int64_t i = 0; i < count; ++i)
        bytes[i] = values[dense.isSplat() ? 0 : i];
      return bytes;
    }
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      for (int64_t i = 0; i < count; ++i)
        std::memcpy(bytes.data() + i * size, raw.data(), size);
      return bytes;
    }
    if (static_cast<int64_t>(raw.size()) != count * size)
      return failure();
    std::memcpy(bytes.data(), raw.data(), raw.size());
    return bytes;
  }
  if (auto resource = dyn_cast_if_present<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || static_cast<int64_t>(blob->getData().size()) != count * size)
      return failure();
    std::memcpy(bytes.data(), blob->getData().data(), blob->getData().size());
    return bytes;
  }
  return failure();
}

} // namespace

llvm::Expected<std::string> llmc::ptxAssembly(ModuleOp module) {
  std::string ptx;
  unsigned binaries = 0;
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    ++binaries;
    for (Attribute attr : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(attr);
      if (!object || object.getFormat() != gpu::CompilationTarget::Assembly)
        return planError("gpu.binary @" + binary.getName() +
                         " holds no PTX assembly (run gpu-module-to-binary "
                         "with format=isa)");
      ptx += object.getObject().getValue();
    }
  }
  if (binaries == 0)
    return planError("the module has no gpu.binary: run llm-ptx-pipeline "
                     "first");
  if (binaries > 1)
    return planError("the module has " + Twine(binaries) +
                     " gpu.binary ops; one PTX file needs one kernel module "
                     "(llm-gpu-merge-kernel-modules)");
  // Nothing links libdevice (or any other PTX) into the module: a call to
  // an external function would only fail when the driver loads it.
  // `.extern .func [(return parameters)] name(`.
  llvm::SmallVector<StringRef, 3> match;
  if (llvm::Regex(R"(\.extern[ \t]+\.func[ \t]*(\([^)]*\))?[ \t]*([A-Za-z_$%][A-Za-z0-9_$]*))")
          .match(ptx, &match))
    return planError("the PTX calls the external function '" +
                     Twine(match[2]) +
                     "', which nothing links (a kernel uses an op that "
                     "lowers to libdevice; llm-gpu-expand-math must rewrite "
                     "it)");
  return ptx;
}

/// Removes the buffers no launch reads or writes and no output is (a weight
/// that only its bf16 copy is read of, say), so that they are neither
/// allocated nor uploaded; inputs stay, for the runtime binds them all.
static void dropUnusedBuffers(LaunchPlan &plan) {
  std::vector<bool> used(plan.buffers.size(), false);
  for (const LaunchPlan::Launch &launch : plan.launches)
    for (const LaunchPlan::Argument &arg : launch.args)
      if (arg.kind == LaunchPlan::Argument::Kind::Pointer)
        used[arg.buffer] = true;
  for (int64_t output : plan.outputs)
    used[output] = true;
  std::vector<int64_t> renumbered(plan.buffers.size(), -1);
  std::vector<LaunchPlan::Buffer> kept;
  for (size_t i = 0; i < plan.buffers.size(); ++i)
    if (used[i] || plan.buffers[i].kind == LaunchPlan::BufferKind::Input) {
      renumbered[i] = kept.size();
      kept.push_back(std::move(plan.buffers[i]));
    }
  plan.buffers = std::move(kept);
  for (LaunchPlan::Launch &launch : plan.launches)
    for (LaunchPlan::Argument &arg : launch.args)
      if (arg.kind == LaunchPlan::Argument::Kind::Pointer)
        arg.buffer = renumbered[arg.buffer];
  for (int64_t &output : plan.outputs)
    output = renumbered[output];
}

llvm::Expected<LaunchPlan>
llmc::buildLaunchPlan(ModuleOp module, StringRef entry, size_t numInputs) {
  func::FuncOp func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal())
    return planError("no entry function '" + entry + "' in the lowered module");
  LaunchPlan plan;
  auto ptx = ptxAssembly(module);
  if (!ptx)
    return ptx.takeError();
  plan.ptx = std::move(*ptx);

  llvm::DenseMap<Value, int64_t> bufferOf;
  llvm::DenseMap<int64_t, int64_t> bf16Weights; // weight index -> buffer
  llvm::DenseMap<Value, LaunchPlan::Argument> scalarOf;
  auto addBuffer = [&](Value value, LaunchPlan::BufferKind kind, int64_t index,
                       MemRefType type) -> llvm::Error {
    if (!type.hasStaticShape())
      return planError("buffer of dynamic shape " + Twine(index) +
                       " in the ptx plan");
    LaunchPlan::Buffer buffer;
    buffer.kind = kind;
    buffer.index = index;
    buffer.bytes = type.getNumElements() * elementBytes(type.getElementType());
    bufferOf[value] = plan.buffers.size();
    plan.buffers.push_back(std::move(buffer));
    return llvm::Error::success();
  };
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type)
      return planError("argument " + Twine(i) + " of '" + entry +
                       "' is not a buffer");
    bool input = i < numInputs;
    if (auto error = addBuffer(arg,
                               input ? LaunchPlan::BufferKind::Input
                                     : LaunchPlan::BufferKind::Weight,
                               input ? i : i - numInputs, type))
      return std::move(error);
  }

  for (Operation &op : func.getBody().front()) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (auto error = addBuffer(alloc, LaunchPlan::BufferKind::Temporary, -1,
                                 alloc.getType()))
        return std::move(error);
    } else if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
      if (auto error = addBuffer(alloca, LaunchPlan::BufferKind::Temporary, -1,
                                 alloca.getType()))
        return std::move(error);
    } else if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
      auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
          get, get.getNameAttr());
      FailureOr<std::vector<uint8_t>> bytes =
          global ? globalBytes(global) : FailureOr<std::vector<uint8_t>>();
      if (failed(bytes))
        return planError("constant " + describe(&op) +
                         " has no initial value the runner can upload");
      if (auto error = addBuffer(get, LaunchPlan::BufferKind::Constant, -1,
                                 get.getType()))
        return std::move(error);
      plan.buffers.back().data = std::move(*bytes);
    } else if (auto cast = dyn_cast<UnrealizedConversionCastOp>(op)) {
      // A weight read as bf16 (convert-llm-to-gpu): a buffer of its own that
      // the runtime uploads rounded, one per weight however many read it.
      auto from = cast->getNumOperands() == 1
                      ? dyn_cast<MemRefType>(cast->getOperand(0).getType())
                      : MemRefType();
      auto to = cast->getNumResults() == 1
                    ? dyn_cast<MemRefType>(cast->getResult(0).getType())
                    : MemRefType();
      auto it = from ? bufferOf.find(cast->getOperand(0)) : bufferOf.end();
      if (!to || it == bufferOf.end() ||
          plan.buffers[it->second].kind != LaunchPlan::BufferKind::Weight ||
          !from.getElementType().isF32() || !to.getElementType().isBF16() ||
          from.getNumElements() != to.getNumElements())
        return planError("cast " + describe(&op) +
                         " is not an f32 weight read as bf16");
      int64_t weight = plan.buffers[it->second].index;
      auto [entry, inserted] = bf16Weights.try_emplace(weight, 0);
      if (inserted) {
        LaunchPlan::Buffer buffer = plan.buffers[it->second];
        buffer.bytes = to.getNumElements() * 2;
        buffer.bf16 = true;
        entry->second = plan.buffers.size();
        plan.buffers.push_back(std::move(buffer));
      }
      bufferOf[cast->getResult(0)] = entry->second;
    } else if (isa<memref::ReinterpretCastOp, memref::CollapseShapeOp,
                   memref::ExpandShapeOp, memref::CastOp, memref::SubViewOp>(
                   op)) {
      // Views: kernels take the base pointer and apply the static offset and
      // strides of the view's type themselves.
      auto it = bufferOf.find(op.getOperand(0));
      if (it == bufferOf.end())
        return planError("view " + describe(&op) + " of an unknown buffer");
      bufferOf[op.getResult(0)] = it->second;
    } else if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      LaunchPlan::Argument arg;
      Attribute value = constant.getValue();
      if (auto integer = dyn_cast<IntegerAttr>(value)) {
        arg.kind = integer.getType().isInteger(32)
                       ? LaunchPlan::Argument::Kind::I32
                       : LaunchPlan::Argument::Kind::I64;
        arg.integer = integer.getValue().getSExtValue();
      } else if (auto real = dyn_cast<FloatAttr>(value);
                 real && real.getType().isF32()) {
        arg.kind = LaunchPlan::Argument::Kind::F32;
        arg.real = real.getValueAsDouble();
      } else {
        continue; // not a launch argument; a use of it will fail below
      }
      scalarOf[constant] = arg;
    } else if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
      LaunchPlan::Launch entryLaunch;
      entryLaunch.kernel = launch.getKernelName().str();
      if (launch.hasClusterSize() || !launch.getAsyncDependencies().empty())
        return planError("launch " + describe(&op) +
                         " uses clusters or async tokens, which the runner "
                         "does not support");
      if (Value shared = launch.getDynamicSharedMemorySize()) {
        auto it = scalarOf.find(shared);
        if (it == scalarOf.end() || it->second.integer < 0)
          return planError("launch of " + entryLaunch.kernel +
                           " has a dynamic shared memory size that is not a "
                           "constant");
        entryLaunch.sharedBytes = static_cast<uint32_t>(it->second.integer);
      }
      Value sizes[6] = {launch.getGridSizeX(),  launch.getGridSizeY(),
                        launch.getGridSizeZ(),  launch.getBlockSizeX(),
                        launch.getBlockSizeY(), launch.getBlockSizeZ()};
      for (int i = 0; i < 6; ++i) {
        auto it = scalarOf.find(sizes[i]);
        if (it == scalarOf.end() || it->second.integer <= 0)
          return planError("launch of " + entryLaunch.kernel +
                           " has a grid or block size that is not a positive "
                           "constant");
        (i < 3 ? entryLaunch.grid[i] : entryLaunch.block[i - 3]) =
            static_cast<uint32_t>(it->second.integer);
      }
      for (Value operand : launch.getKernelOperands()) {
        if (auto it = bufferOf.find(operand); it != bufferOf.end()) {
          LaunchPlan::Argument arg;
          arg.kind = LaunchPlan::Argument::Kind::Pointer;
          arg.buffer = it->second;
          entryLaunch.args.push_back(arg);
        } else if (auto it = scalarOf.find(operand); it != scalarOf.end()) {
          LaunchPlan::Argument arg = it->second;
          if (operand.getType().isIndex())
            arg.kind = LaunchPlan::Argument::Kind::I64;
          entryLaunch.args.push_back(arg);
        } else {
          return planError("launch of " + entryLaunch.kernel +
                           " takes a value the runner cannot provide");
        }
      }
      plan.launches.push_back(std::move(entryLaunch));
    } else if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value value : ret.getOperands()) {
        auto it = bufferOf.find(value);
        auto type = dyn_cast<MemRefType>(value.getType());
        if (it == bufferOf.end() || !type || !type.getLayout().isIdentity())
          return planError("result of '" + entry +
                           "' is not a contiguous buffer of the plan");
        plan.outputs.push_back(it->second);
      }
    } else if (isa<memref::DeallocOp>(op)) {
      continue;
    } else {
      return planError("the ptx runner cannot execute host op " +
                       describe(&op));
    }
  }
  dropUnusedBuffers(plan);
  return plan;
}

void llmc::registerPTXTranslation() {
  TranslateFromMLIRRegistration registration(
      "emit-ptx",
      "PTX text of a module lowered by llm-ptx-pipeline (an llm-dialect "
      "module is lowered first)",
      [](Operation *op, raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("--emit-ptx expects a builtin.module");
        if (module.getOps<gpu::BinaryOp>().empty()) {
          PassManager pm(op->getContext());
          // An llm-dialect module starts at the graph pipeline; a module
          // already past it (no llm ops) needs only the lowering.
          bool hasLLM = false;
          module.walk([&](Operation *inner) {
            if (inner->getDialect() &&
                inner->getDialect()->getNamespace() == "llm")
              hasLLM = true;
          });
          if (hasLLM)
            buildPTXPipeline(pm);
          else
            buildPTXLoweringPipeline(pm);
          if (failed(pm.run(module)))
            return failure();
        }
        auto ptx = ptxAssembly(module);
        if (!ptx) {
          // One line: the module would be printed after an op diagnostic.
          llvm::errs() << "llm-translate: error: "
                       << llvm::toString(ptx.takeError()) << "\n";
          return failure();
        }
        os << *ptx;
        return success();
      },
      [](DialectRegistry &registry) { registerAllLLMCDialects(registry); });
}
