//===- HostRuntime.cpp - run host-lowered models with the ExecutionEngine -===//
//
// The calling convention is the one the host pipeline produces:
// `_mlir_ciface_<entry>(inputs..., weights..., outputs...)`, each argument a
// pointer to a memref descriptor with identity layout
//   { T *allocated, T *aligned, int64 offset, int64 sizes[rank],
//     int64 strides[rank] }
// i.e. 3 + 2*rank 8-byte words. Inputs and weights are passed in place (the
// pipeline marks them read-only); outputs are allocated here.
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/HostRuntime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Analysis/CFG.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>

using namespace llmc;

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string describe(DType dtype, llvm::ArrayRef<int64_t> shape) {
  return (dtypeName(dtype) + shapeToString(shape)).str();
}

/// `kind` is "input", "weight" or "output".
llvm::Error checkTensor(llvm::StringRef kind, const TensorSpec &spec,
                        const Tensor &tensor) {
  if (tensor.dtype != spec.dtype || llvm::ArrayRef<int64_t>(tensor.shape) !=
                                        llvm::ArrayRef<int64_t>(spec.shape))
    return makeError(kind + " '" + spec.name + "': expected " +
                     describe(spec.dtype, spec.shape) + ", got " +
                     describe(tensor.dtype, tensor.shape));
  if (tensor.numElements() > 0 && !tensor.data())
    return makeError(kind + " '" + spec.name + "' has no data");
  return llvm::Error::success();
}

llvm::Error checkStaticSpec(llvm::StringRef kind, const TensorSpec &spec) {
  for (int64_t dim : spec.shape)
    if (dim < 0)
      return makeError(kind + " '" + spec.name + "' has the dynamic shape " +
                       shapeToString(spec.shape) +
                       "; the host runtime needs static shapes");
  return llvm::Error::success();
}

/// The ranks of the memref arguments of the expanded (non-C-interface) LLVM
/// function: each memref is `ptr, ptr, i64, i64 x rank, i64 x rank`.
std::optional<std::vector<int64_t>> memrefRanksOf(mlir::LLVM::LLVMFuncOp func) {
  llvm::ArrayRef<mlir::Type> types = func.getFunctionType().getParams();
  std::vector<int64_t> ranks;
  size_t index = 0;
  while (index < types.size()) {
    if (index + 2 >= types.size() ||
        !llvm::isa<mlir::LLVM::LLVMPointerType>(types[index]) ||
        !llvm::isa<mlir::LLVM::LLVMPointerType>(types[index + 1]))
      return std::nullopt;
    index += 2;
    size_t words = 0;
    while (index < types.size() && types[index].isInteger(64)) {
      ++words;
      ++index;
    }
    if (words % 2 != 1)
      return std::nullopt;
    ranks.push_back((words - 1) / 2);
  }
  return ranks;
}

/// Checks that the lowered entry takes exactly what the signature says, so a
/// mismatch is an error here rather than memory corruption in the call.
llvm::Error checkEntry(mlir::ModuleOp module, const Signature &sig) {
  std::string wrapperName = "_mlir_ciface_" + sig.entry;
  auto wrapper = module.lookupSymbol<mlir::LLVM::LLVMFuncOp>(wrapperName);
  if (!wrapper)
    return makeError("the lowered module has no function '" + wrapperName +
                     "'; was it lowered with the host pipeline (which gives "
                     "@" +
                     sig.entry + " llvm.emit_c_interface)?");
  size_t expected = sig.inputs.size() + sig.weights.size() + sig.outputs.size();
  mlir::LLVM::LLVMFunctionType wrapperType = wrapper.getFunctionType();
  if (wrapperType.getNumParams() != expected ||
      !llvm::isa<mlir::LLVM::LLVMVoidType>(wrapperType.getReturnType()))
    return makeError("'" + wrapperName + "' takes " +
                     llvm::Twine(wrapperType.getNumParams()) +
                     " arguments and must return nothing, but the signature "
                     "has " +
                     llvm::Twine(sig.inputs.size()) + " inputs, " +
                     llvm::Twine(sig.weights.size()) + " weights and " +
                     llvm::Twine(sig.outputs.size()) + " outputs");
  auto entry = module.lookupSymbol<mlir::LLVM::LLVMFuncOp>(sig.entry);
  if (!entry)
    return llvm::Error::success();
  std::optional<std::vector<int64_t>> ranks = memrefRanksOf(entry);
  if (!ranks || ranks->size() != expected)
    return makeError("@" + sig.entry +
                     " does not take one identity-layout memref per input, "
                     "weight and output");
  std::vector<const TensorSpec *> specs;
  for (const auto *group : {&sig.inputs, &sig.weights, &sig.outputs})
    for (const TensorSpec &spec : *group)
      specs.push_back(&spec);
  for (auto [spec, rank] : llvm::zip_equal(specs, *ranks))
    if (static_cast<int64_t>(spec->shape.size()) != rank)
      return makeError("'" + spec->name + "' has rank " +
                       llvm::Twine(spec->shape.size()) +
                       " in the signature "
                       "but rank " +
                       llvm::Twine(rank) + " in @" + sig.entry);
  return llvm::Error::success();
}

/// One memref descriptor, as the 8-byte words the C interface reads.
std::vector<int64_t> descriptorOf(const Tensor &tensor) {
  auto pointer = reinterpret_cast<int64_t>(tensor.data());
  size_t rank = tensor.shape.size();
  std::vector<int64_t> words(3 + 2 * rank);
  words[0] = pointer; // allocated
  words[1] = pointer; // aligned
  words[2] = 0;       // offset
  int64_t stride = 1;
  for (size_t dim = rank; dim-- > 0;) {
    words[3 + dim] = tensor.shape[dim];
    words[3 + rank + dim] = stride;
    stride *= tensor.shape[dim];
  }
  return words;
}

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}
} // namespace

/// The async runtime's entry points (the loops the host pipeline splits
/// across threads, hostThreads()), from libmlir_async_runtime.so loaded
/// once per process. Loading it per engine (ExecutionEngine's
/// sharedLibPaths) would tear its one process-wide thread pool down with
/// the first engine destroyed while others still run on it.
static const llvm::StringMap<void *> &asyncRuntimeSymbols() {
  static const llvm::StringMap<void *> symbols = [] {
    llvm::StringMap<void *> map;
    std::string error;
    llvm::sys::DynamicLibrary library =
        llvm::sys::DynamicLibrary::getPermanentLibrary(
            LLMC_MLIR_RUNTIME_DIR "/libmlir_async_runtime.so", &error);
    if (!library.isValid())
      return map;
    using Init = void (*)(llvm::StringMap<void *> &);
    if (auto init = reinterpret_cast<Init>(
            library.getAddressOfSymbol("__mlir_execution_engine_init")))
      init(map);
    return map;
  }();
  return symbols;
}

/// Returns once every worker of the async runtime's thread pool has left the
/// task it was running. A worker emplaces a task's token and then still runs
/// the tail of the task's coroutine (its frame's free, the return) in JIT'd
/// code; the run that awaited the token may already have returned, and
/// unmapping the engine's code under that tail crashed the worker. T tasks
/// that wait for each other occupy all T workers at once, which each can only
/// do after leaving its previous task. One drain at a time: two interleaved
/// barriers could each hold part of the pool and wait forever.
static void drainAsyncRuntime() {
  const llvm::StringMap<void *> &symbols = asyncRuntimeSymbols();
  auto threadsIt = symbols.find("mlirAsyncRuntimGetNumWorkerThreads");
  auto executeIt = symbols.find("mlirAsyncRuntimeExecute");
  if (threadsIt == symbols.end() || executeIt == symbols.end())
    return;
  auto workerThreads = reinterpret_cast<int64_t (*)()>(threadsIt->second);
  auto execute =
      reinterpret_cast<void (*)(void *, void (*)(void *))>(executeIt->second);

  struct Barrier {
    std::mutex mutex;
    std::condition_variable changed;
    int64_t size = 0, arrived = 0, left = 0;
  };
  static std::mutex oneAtATime;
  static Barrier barrier; // outlives the tasks' last unlock
  std::lock_guard<std::mutex> serial(oneAtATime);
  std::unique_lock<std::mutex> lock(barrier.mutex);
  barrier.size = std::max<int64_t>(1, workerThreads());
  barrier.arrived = barrier.left = 0;
  lock.unlock();
  for (int64_t task = 0; task < barrier.size; ++task)
    execute(&barrier, [](void *opaque) {
      auto *state = static_cast<Barrier *>(opaque);
      std::unique_lock<std::mutex> taskLock(state->mutex);
      ++state->arrived;
      state->changed.notify_all();
      state->changed.wait(taskLock,
                          [&] { return state->arrived == state->size; });
      ++state->left;
      state->changed.notify_all();
    });
  lock.lock();
  barrier.changed.wait(lock, [] { return barrier.left == barrier.size; });
}

/// The host code's heap buffers: memref.alloc and memref.dealloc, lowered
/// with the memref lowering's generic functions, call these. A model run
/// allocates the same buffers every time, and large ones from the system
/// allocator are fresh mappings whose every page faults on first touch (a
/// quarter of a warm GPT-2 small prompt's time, and the memset of the
/// zeros its products accumulate into another tenth). Freed blocks of
/// 64 KiB and more are kept and handed out again for a size they fit in at
/// most twice over, up to 1 GiB in all; the cache is emptied when the last
/// executable is destroyed. A block carries its size in a 16-byte header (the
/// lowering aligns the pointer it is given itself).
namespace {
class BufferCache {
public:
  static BufferCache &get() {
    // Never destroyed: host code may run on the async runtime's threads
    // while static destructors run at exit.
    static BufferCache *cache = new BufferCache();
    return *cache;
  }

  void *allocate(uint64_t size) {
    if (size >= kCachedSize) {
      // The smallest cached block that fits, if it is at most twice the
      // size: blocks of other sizes are reused within a run too.
      std::lock_guard<std::mutex> lock(mutex);
      auto it = blocks.lower_bound(size);
      if (it != blocks.end() && it->first <= 2 * size) {
        char *block = it->second;
        cachedBytes -= it->first;
        blocks.erase(it);
        return block + kHeader;
      }
    }
    auto *block = static_cast<char *>(std::malloc(size + kHeader));
    if (!block)
      return nullptr;
    *reinterpret_cast<uint64_t *>(block) = size;
    return block + kHeader;
  }

  void release(void *pointer) {
    if (!pointer)
      return;
    char *block = static_cast<char *>(pointer) - kHeader;
    uint64_t size = *reinterpret_cast<uint64_t *>(block);
    if (size >= kCachedSize) {
      std::lock_guard<std::mutex> lock(mutex);
      if (cachedBytes + size <= kCacheBytes) {
        blocks.emplace(size, block);
        cachedBytes += size;
        return;
      }
    }
    std::free(block);
  }

  void retain() {
    std::lock_guard<std::mutex> lock(mutex);
    ++executables;
  }

  /// One executable fewer; the last one empties the cache.
  void drop() {
    std::lock_guard<std::mutex> lock(mutex);
    if (--executables > 0)
      return;
    for (auto &entry : blocks)
      std::free(entry.second);
    blocks.clear();
    cachedBytes = 0;
  }

private:
  static constexpr uint64_t kHeader = 16;
  static constexpr uint64_t kCachedSize = 64 * 1024;
  static constexpr uint64_t kCacheBytes = uint64_t(1) << 30;
  std::mutex mutex;
  /// Cached blocks by size (a block's size is its header's: what it was
  /// first allocated for).
  std::multimap<uint64_t, char *> blocks;
  uint64_t cachedBytes = 0;
  int64_t executables = 0;
};

extern "C" void *llmcBufferAlloc(uint64_t size) {
  return BufferCache::get().allocate(size);
}
extern "C" void llmcBufferFree(void *pointer) {
  BufferCache::get().release(pointer);
}
} // namespace

void *llmc::allocateHostBuffer(uint64_t size) { return llmcBufferAlloc(size); }

llvm::Expected<unsigned> llmc::cpuOptLevel() {
  const char *given = std::getenv("LLMC_CPU_OPT_LEVEL");
  if (!given || !*given)
    return 2;
  unsigned level;
  if (llvm::StringRef(given).getAsInteger(10, level) || level > 3)
    return makeError("LLMC_CPU_OPT_LEVEL must be 0, 1, 2 or 3, not '" +
                     llvm::Twine(given) + "'");
  return level;
}

HostExecutable::~HostExecutable() {
  if (engine)
    BufferCache::get().drop();
  // No worker may still run this engine's code when it is unmapped. Workers
  // run only in the process that handed them work (not in a child forked
  // from it, whose pool has no threads to drain).
  if (usesAsyncRuntime &&
      asyncRuntimeOwner().load() == static_cast<long>(::getpid()))
    drainAsyncRuntime();
}

llvm::Expected<std::unique_ptr<HostExecutable>>
HostExecutable::create(mlir::ModuleOp loweredModule, Signature signature,
                       std::vector<Tensor> weights,
                       llvm::ArrayRef<std::pair<std::string, void *>> symbols) {
  static_assert(sizeof(void *) == sizeof(int64_t),
                "memref descriptors are built as 8-byte words");
  if (weights.size() != signature.weights.size())
    return makeError("the signature has " +
                     llvm::Twine(signature.weights.size()) + " weights but " +
                     llvm::Twine(weights.size()) + " were given");
  for (auto [spec, weight] : llvm::zip_equal(signature.weights, weights))
    if (llvm::Error error = checkTensor("weight", spec, weight))
      return std::move(error);
  for (const auto *group : {&signature.inputs, &signature.outputs})
    for (const TensorSpec &spec : *group)
      if (llvm::Error error = checkStaticSpec(
              group == &signature.inputs ? "input" : "output", spec))
        return std::move(error);
  if (llvm::Error error = checkEntry(loweredModule, signature))
    return std::move(error);

  llvm::Expected<unsigned> optLevel = cpuOptLevel();
  if (!optLevel)
    return optLevel.takeError();
  const llvm::CodeGenOptLevel codeGenLevel =
      *optLevel == 0   ? llvm::CodeGenOptLevel::None
      : *optLevel == 1 ? llvm::CodeGenOptLevel::Less
                       : llvm::CodeGenOptLevel::Aggressive;
  initializeNativeTarget();
  auto targetBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!targetBuilder)
    return targetBuilder.takeError();
  targetBuilder->setCodeGenOptLevel(codeGenLevel);
  auto targetMachine = targetBuilder->createTargetMachine();
  if (!targetMachine)
    return targetMachine.takeError();

  // The optimizer gets the host's target machine so that it vectorizes for
  // the host's vector units.
  auto optimize = mlir::makeOptimizingTransformer(*optLevel, /*sizeLevel=*/0,
                                                  targetMachine->get());
  // The entry's loops are outlined (llm-host-outline-loops): what stays is
  // glue (allocations, copies, calls of the loop functions and the NPU's
  // kernels), a few thousand instructions in one block, or a few blocks
  // without loops. LLVM's straight-line vectorizer and schedulers grow with
  // the square of a block's memory operations and find nothing to improve:
  // a Mamba model's NPU entry (393 kernel calls, 21,000 instructions) took
  // 22 s in the vectorizer and 4.5 s in the schedulers. Large functions
  // without loops are compiled unoptimized (optnone), as their glue runs
  // once per call.
  auto transformer = [optimize](llvm::Module *module) -> llvm::Error {
    constexpr unsigned kMaxOptimizedGlue = 4000;
    for (llvm::Function &function : *module) {
      if (function.isDeclaration() ||
          function.hasFnAttribute(llvm::Attribute::AlwaysInline) ||
          function.getInstructionCount() <= kMaxOptimizedGlue)
        continue;
      llvm::SmallVector<
          std::pair<const llvm::BasicBlock *, const llvm::BasicBlock *>>
          backEdges;
      llvm::FindFunctionBackedges(function, backEdges);
      if (!backEdges.empty())
        continue;
      function.addFnAttr(llvm::Attribute::NoInline);
      function.addFnAttr(llvm::Attribute::OptimizeNone);
    }
    return optimize(module);
  };
  llvm::StringRef runtimeLibraries[] = {LLMC_MLIR_RUNTIME_DIR
                                        "/libmlir_c_runner_utils.so"};
  mlir::ExecutionEngineOptions options;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = codeGenLevel;
  options.sharedLibPaths = runtimeLibraries;

  // The engine reports translation problems as diagnostics; collect them
  // into the error instead of letting them reach stderr.
  std::string diagnostics;
  llvm::raw_string_ostream diagnosticStream(diagnostics);
  mlir::ScopedDiagnosticHandler handler(
      loweredModule.getContext(), [&](mlir::Diagnostic &diagnostic) {
        diagnosticStream << "\n  " << diagnostic.getLocation() << ": "
                         << diagnostic;
        return mlir::success();
      });
  // Only code that splits loops across threads (hostThreads() > 1) calls
  // the async runtime; serial code never loads it.
  bool usesAsyncRuntime =
      loweredModule.lookupSymbol("mlirAsyncRuntimeExecute") != nullptr;
  auto engine = [&] {
    // llmc's own argument attributes (llm.name, llm.weight, ...) mean nothing
    // to LLVM, and its translation warns about each one with the whole
    // function printed: a fifth of a second for GPT-2 small's 148 weights.
    // They are off for the translation and back afterwards (the artifact
    // keeps them).
    llvm::SmallVector<std::pair<mlir::LLVM::LLVMFuncOp, mlir::ArrayAttr>> saved;
    for (auto func : loweredModule.getOps<mlir::LLVM::LLVMFuncOp>())
      if (mlir::ArrayAttr args = func.getArgAttrsAttr()) {
        saved.emplace_back(func, args);
        llvm::SmallVector<mlir::Attribute> llvmOnly;
        for (auto dict : args.getAsRange<mlir::DictionaryAttr>())
          llvmOnly.push_back(mlir::DictionaryAttr::get(
              func.getContext(),
              llvm::to_vector(llvm::make_filter_range(
                  dict.getValue(), [](mlir::NamedAttribute attr) {
                    return attr.getName().strref().starts_with("llvm.");
                  }))));
        func.setArgAttrsAttr(mlir::ArrayAttr::get(func.getContext(), llvmOnly));
      }
    auto created = mlir::ExecutionEngine::create(loweredModule, options,
                                                 std::move(*targetMachine));
    for (auto [func, args] : saved)
      func.setArgAttrsAttr(args);
    return created;
  }();
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return makeError("host JIT compilation of @" + signature.entry +
                     " failed: " + message + diagnostics);
  }
  (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (const auto &[name, address] : symbols)
      map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                             llvm::JITSymbolFlags::Exported};
    map[interner("_mlir_memref_to_llvm_alloc")] = {
        llvm::orc::ExecutorAddr::fromPtr(&llmcBufferAlloc),
        llvm::JITSymbolFlags::Exported};
    map[interner("_mlir_memref_to_llvm_free")] = {
        llvm::orc::ExecutorAddr::fromPtr(&llmcBufferFree),
        llvm::JITSymbolFlags::Exported};
    if (usesAsyncRuntime)
      for (const auto &entry : asyncRuntimeSymbols())
        map[interner(entry.getKey())] = {
            llvm::orc::ExecutorAddr::fromPtr(entry.getValue()),
            llvm::JITSymbolFlags::Exported};
    return map;
  });
  (*engine)->initialize();
  // Generate the code now: ORC compiles lazily on the first lookup, which
  // would bill the first run for all of LLVM's work.
  if (auto entry = (*engine)->lookupPacked("_mlir_ciface_" + signature.entry);
      !entry)
    return makeError("host JIT compilation of @" + signature.entry +
                     " failed: " + llvm::toString(entry.takeError()) +
                     diagnostics);

  std::unique_ptr<HostExecutable> executable(new HostExecutable());
  BufferCache::get().retain();
  executable->engine = std::move(*engine);
  executable->sig = std::move(signature);
  executable->weights = std::move(weights);
  executable->usesAsyncRuntime = usesAsyncRuntime;
  return executable;
}

llvm::Expected<std::vector<Tensor>>
HostExecutable::run(llvm::ArrayRef<Tensor> inputs) {
  if (inputs.size() != sig.inputs.size())
    return makeError("@" + sig.entry + " takes " +
                     llvm::Twine(sig.inputs.size()) + " inputs but " +
                     llvm::Twine(inputs.size()) + " were given");
  for (auto [spec, input] : llvm::zip_equal(sig.inputs, inputs))
    if (llvm::Error error = checkTensor("input", spec, input))
      return std::move(error);

  if (usesAsyncRuntime) {
    long self = static_cast<long>(::getpid()), owner = 0;
    if (!asyncRuntimeOwner().compare_exchange_strong(owner, self) &&
        owner != self)
      return makeError(
          "@" + sig.entry +
          " splits its loops across the async runtime's threads, which this "
          "process does not have: it was forked from process " +
          llvm::Twine(owner) +
          " after that one started them, and a fork copies no threads; "
          "compile the model in this process (a forked process compiles "
          "serial code) or set LLMC_HOST_THREADS=1 before compiling it");
  }

  std::vector<Tensor> outputs;
  outputs.reserve(sig.outputs.size());
  for (const TensorSpec &spec : sig.outputs)
    outputs.emplace_back(spec.name, spec.dtype, spec.shape);

  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(inputs.size() + weights.size() + outputs.size());
  for (const Tensor &input : inputs)
    descriptors.push_back(descriptorOf(input));
  for (const Tensor &weight : weights)
    descriptors.push_back(descriptorOf(weight));
  for (Tensor &output : outputs) {
    if (output.numElements() > 0 && !output.mutableData())
      return makeError("could not allocate output '" + output.name + "'");
    descriptors.push_back(descriptorOf(output));
  }
  // The packed wrapper reads argument i through args[i]: a pointer to the
  // C interface's argument, itself a pointer to the descriptor.
  std::vector<void *> descriptorPointers, args;
  descriptorPointers.reserve(descriptors.size());
  args.reserve(descriptors.size());
  for (std::vector<int64_t> &descriptor : descriptors)
    descriptorPointers.push_back(descriptor.data());
  for (void *&pointer : descriptorPointers)
    args.push_back(&pointer);

  if (llvm::Error error =
          engine->invokePacked("_mlir_ciface_" + sig.entry, args))
    return makeError("calling @" + sig.entry +
                     " failed: " + llvm::toString(std::move(error)));
  return outputs;
}
