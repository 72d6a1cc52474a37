//===- CUDARuntime.cpp - run a ptx artifact through the CUDA driver -------===//
//
// The driver API is declared here, not taken from cuda.h, and resolved with
// dlopen("libcuda.so.1"): the build needs no CUDA, and a machine without a
// driver gets a one-line error instead of a loader failure. The `_v2` entry
// points are the ones cuda.h maps the plain names to since CUDA 4.
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/CUDARuntime.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"

#include <dlfcn.h>

#include <cstring>

using namespace llmc;

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;
using CUgraph = CUgraph_st *;
using CUgraphExec = CUgraphExec_st *;
constexpr int kCaptureModeThreadLocal = 1;
// cuda.h: CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN and
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
// CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES.
constexpr int kDeviceSharedPerBlockOptin = 97;
constexpr int kFuncMaxDynamicShared = 8;
constexpr int kFuncStaticShared = 1;

struct Driver {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuFuncGetAttribute)(int *, int, CUfunction);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char **);

  std::string describe(CUresult result) const {
    const char *text = nullptr;
    if (cuGetErrorString && cuGetErrorString(result, &text) == 0 && text)
      return text;
    return "CUDA error " + std::to_string(result);
  }
};

/// The process-wide driver, or why it is unusable.
llvm::Expected<const Driver *> loadDriver() {
  static Driver driver;
  static std::string failure;
  static bool loaded = false;
  if (loaded)
    return failure.empty() ? llvm::Expected<const Driver *>(&driver)
                           : llvm::createStringError(
                                 llvm::inconvertibleErrorCode(), failure);
  loaded = true;
  driver.handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver.handle) {
    const char *why = dlerror();
    failure = std::string("no CUDA driver: cannot load libcuda.so.1 (") +
              (why ? why : "not found") + ")";
    return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
  }
  bool missing = false;
  std::string missingName;
  auto resolve = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        dlsym(driver.handle, name));
    if (!fn && !missing) {
      missing = true;
      missingName = name;
    }
  };
  resolve(driver.cuInit, "cuInit");
  resolve(driver.cuDeviceGetCount, "cuDeviceGetCount");
  resolve(driver.cuDeviceGet, "cuDeviceGet");
  resolve(driver.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  resolve(driver.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(driver.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  resolve(driver.cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(driver.cuModuleLoadData, "cuModuleLoadData");
  resolve(driver.cuModuleGetFunction, "cuModuleGetFunction");
  resolve(driver.cuModuleUnload, "cuModuleUnload");
  resolve(driver.cuFuncGetAttribute, "cuFuncGetAttribute");
  resolve(driver.cuFuncSetAttribute, "cuFuncSetAttribute");
  resolve(driver.cuMemAlloc, "cuMemAlloc_v2");
  resolve(driver.cuMemFree, "cuMemFree_v2");
  resolve(driver.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(driver.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(driver.cuMemsetD8, "cuMemsetD8_v2");
  resolve(driver.cuLaunchKernel, "cuLaunchKernel");
  resolve(driver.cuStreamCreate, "cuStreamCreate");
  resolve(driver.cuStreamDestroy, "cuStreamDestroy_v2");
  resolve(driver.cuStreamSynchronize, "cuStreamSynchronize");
  resolve(driver.cuStreamBeginCapture, "cuStreamBeginCapture_v2");
  resolve(driver.cuStreamEndCapture, "cuStreamEndCapture");
  resolve(driver.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
  resolve(driver.cuGraphLaunch, "cuGraphLaunch");
  resolve(driver.cuGraphExecDestroy, "cuGraphExecDestroy");
  resolve(driver.cuGraphDestroy, "cuGraphDestroy");
  resolve(driver.cuEventCreate, "cuEventCreate");
  resolve(driver.cuEventRecord, "cuEventRecord");
  resolve(driver.cuEventSynchronize, "cuEventSynchronize");
  // CUDA 12.8 added the _v2 (cuda.h maps the plain name to it since CUDA
  // 13); older drivers have only the plain one.
  if (void *v2 = dlsym(driver.handle, "cuEventElapsedTime_v2"))
    driver.cuEventElapsedTime =
        reinterpret_cast<decltype(driver.cuEventElapsedTime)>(v2);
  else
    resolve(driver.cuEventElapsedTime, "cuEventElapsedTime");
  resolve(driver.cuEventDestroy, "cuEventDestroy_v2");
  resolve(driver.cuGetErrorString, "cuGetErrorString");
  if (missing) {
    failure = "the CUDA driver lacks " + missingName + " (driver too old)";
    return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
  }
  if (CUresult r = driver.cuInit(0)) {
    failure = "no usable GPU: cuInit failed: " + driver.describe(r);
    return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
  }
  int count = 0;
  if (CUresult r = driver.cuDeviceGetCount(&count); r || count == 0) {
    failure = "no CUDA device found";
    return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
  }
  return &driver;
}

llvm::Error cudaError(const Driver &driver, CUresult result,
                      const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "CUDA: " + what + ": " +
                                     driver.describe(result));
}

} // namespace

llvm::json::Object LaunchPlan::summary() const {
  llvm::json::Array kernels;
  for (const Launch &launch : launches)
    if (!llvm::is_contained(kernels, llvm::json::Value(launch.kernel)))
      kernels.push_back(launch.kernel);
  int64_t temporary = 0, total = 0;
  for (const Buffer &buffer : buffers) {
    total += buffer.bytes;
    if (buffer.kind == BufferKind::Temporary)
      temporary += buffer.bytes;
  }
  // Every launch with its arguments, so that the kernel ABI can be checked
  // against the PTX without a GPU.
  llvm::json::Array calls;
  for (const Launch &launch : launches) {
    llvm::json::Array args;
    for (const Argument &arg : launch.args) {
      switch (arg.kind) {
      case Argument::Kind::Pointer:
        args.push_back("buffer:" + std::to_string(arg.buffer));
        break;
      case Argument::Kind::I64:
        args.push_back("i64:" + std::to_string(arg.integer));
        break;
      case Argument::Kind::I32:
        args.push_back("i32:" + std::to_string(arg.integer));
        break;
      case Argument::Kind::F32:
        args.push_back(llvm::formatv("f32:{0:e9}", arg.real).str());
        break;
      }
    }
    calls.push_back(llvm::json::Object{
        {"kernel", launch.kernel},
        {"grid",
         llvm::json::Array{launch.grid[0], launch.grid[1], launch.grid[2]}},
        {"block",
         llvm::json::Array{launch.block[0], launch.block[1], launch.block[2]}},
        {"shared_bytes", static_cast<int64_t>(launch.sharedBytes)},
        {"args", std::move(args)}});
  }
  // Every buffer: what fills it (an input or weight by signature index, a
  // constant at `offset` in the constants file, or nothing) and its size.
  llvm::json::Array table;
  int64_t constantOffset = 0;
  for (const Buffer &buffer : buffers) {
    static const char *kinds[] = {"input", "weight", "constant", "temporary"};
    llvm::json::Object entry{{"kind", kinds[static_cast<int>(buffer.kind)]},
                             {"bytes", buffer.bytes}};
    if (buffer.kind == BufferKind::Input || buffer.kind == BufferKind::Weight)
      entry["index"] = buffer.index;
    if (buffer.bf16)
      entry["format"] = "bf16";
    if (buffer.kind == BufferKind::Constant) {
      entry["offset"] = constantOffset;
      constantOffset += buffer.data.size();
    }
    table.push_back(std::move(entry));
  }
  llvm::json::Array outputTable;
  for (int64_t output : outputs)
    outputTable.push_back(output);
  return llvm::json::Object{{"launches", static_cast<int64_t>(launches.size())},
                            {"calls", std::move(calls)},
                            {"kernels", std::move(kernels)},
                            {"buffers", static_cast<int64_t>(buffers.size())},
                            {"buffer_table", std::move(table)},
                            {"outputs", std::move(outputTable)},
                            {"device_bytes", total},
                            {"temporary_bytes", temporary}};
}

llvm::Expected<LaunchPlan>
LaunchPlan::fromSummary(const llvm::json::Object &summary, std::string ptx,
                        llvm::ArrayRef<uint8_t> constants) {
  auto fail = [](const llvm::Twine &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "launch plan: " + why);
  };
  const llvm::json::Array *table = summary.getArray("buffer_table");
  const llvm::json::Array *calls = summary.getArray("calls");
  const llvm::json::Array *outputs = summary.getArray("outputs");
  if (!table || !calls || !outputs)
    return fail("no buffer_table, calls or outputs (compiled by an older "
                "llm-compile?)");
  LaunchPlan plan;
  plan.ptx = std::move(ptx);
  for (const llvm::json::Value &value : *table) {
    const llvm::json::Object *entry = value.getAsObject();
    if (!entry)
      return fail("a buffer entry is not an object");
    Buffer buffer;
    std::optional<llvm::StringRef> kind = entry->getString("kind");
    if (kind == "input")
      buffer.kind = BufferKind::Input;
    else if (kind == "weight")
      buffer.kind = BufferKind::Weight;
    else if (kind == "constant")
      buffer.kind = BufferKind::Constant;
    else if (kind == "temporary")
      buffer.kind = BufferKind::Temporary;
    else
      return fail("buffer " + llvm::Twine(plan.buffers.size()) +
                  " has no known kind");
    buffer.bytes = entry->getInteger("bytes").value_or(-1);
    buffer.index = entry->getInteger("index").value_or(-1);
    buffer.bf16 = entry->getString("format") == "bf16";
    if (buffer.bytes < 0)
      return fail("buffer " + llvm::Twine(plan.buffers.size()) +
                  " has no size");
    if (buffer.kind == BufferKind::Constant) {
      int64_t offset = entry->getInteger("offset").value_or(-1);
      if (offset < 0 ||
          offset + buffer.bytes > static_cast<int64_t>(constants.size()))
        return fail("constant buffer " + llvm::Twine(plan.buffers.size()) +
                    " lies outside the constants file (" +
                    llvm::Twine(constants.size()) + " bytes)");
      buffer.data.assign(constants.begin() + offset,
                         constants.begin() + offset + buffer.bytes);
    }
    plan.buffers.push_back(std::move(buffer));
  }
  auto bufferNumber = [&](int64_t n) {
    return n >= 0 && n < static_cast<int64_t>(plan.buffers.size());
  };
  for (const llvm::json::Value &value : *calls) {
    const llvm::json::Object *call = value.getAsObject();
    Launch launch;
    std::optional<llvm::StringRef> kernel =
        call ? call->getString("kernel") : std::nullopt;
    const llvm::json::Array *grid = call ? call->getArray("grid") : nullptr;
    const llvm::json::Array *block = call ? call->getArray("block") : nullptr;
    const llvm::json::Array *args = call ? call->getArray("args") : nullptr;
    if (!kernel || !grid || !block || !args || grid->size() != 3 ||
        block->size() != 3)
      return fail("launch " + llvm::Twine(plan.launches.size()) +
                  " lacks its kernel, grid, block or arguments");
    launch.kernel = kernel->str();
    for (int d = 0; d < 3; ++d) {
      launch.grid[d] = (*grid)[d].getAsInteger().value_or(0);
      launch.block[d] = (*block)[d].getAsInteger().value_or(0);
    }
    launch.sharedBytes = call->getInteger("shared_bytes").value_or(0);
    for (const llvm::json::Value &text : *args) {
      std::optional<llvm::StringRef> arg = text.getAsString();
      auto [kind, rest] =
          arg ? arg->split(':') : std::pair<llvm::StringRef, llvm::StringRef>();
      Argument argument;
      bool bad = rest.empty();
      if (kind == "buffer") {
        argument.kind = Argument::Kind::Pointer;
        bad |= rest.getAsInteger(10, argument.buffer) ||
               !bufferNumber(argument.buffer);
      } else if (kind == "i64" || kind == "i32") {
        argument.kind =
            kind == "i64" ? Argument::Kind::I64 : Argument::Kind::I32;
        bad |= rest.getAsInteger(10, argument.integer);
      } else if (kind == "f32") {
        argument.kind = Argument::Kind::F32;
        bad |= !llvm::to_float(rest, argument.real);
      } else {
        bad = true;
      }
      if (bad)
        return fail("launch " + llvm::Twine(plan.launches.size()) + " (" +
                    launch.kernel + "): bad argument '" +
                    (arg ? *arg : llvm::StringRef("?")) + "'");
      launch.args.push_back(argument);
    }
    plan.launches.push_back(std::move(launch));
  }
  for (const llvm::json::Value &value : *outputs) {
    std::optional<int64_t> buffer = value.getAsInteger();
    if (!buffer || !bufferNumber(*buffer))
      return fail("an output names no buffer");
    plan.outputs.push_back(*buffer);
  }
  return plan;
}

std::vector<uint8_t> LaunchPlan::constantBytes() const {
  std::vector<uint8_t> bytes;
  for (const Buffer &buffer : buffers)
    if (buffer.kind == BufferKind::Constant)
      bytes.insert(bytes.end(), buffer.data.begin(), buffer.data.end());
  return bytes;
}

bool llmc::weightMatches(const LaunchPlan::Buffer &buffer,
                         llvm::ArrayRef<Tensor> weights) {
  if (buffer.index < 0 || static_cast<size_t>(buffer.index) >= weights.size())
    return false;
  const Tensor &weight = weights[buffer.index];
  if (buffer.bf16)
    return weight.dtype == DType::f32 &&
           static_cast<int64_t>(weight.numElements()) * 2 == buffer.bytes;
  return static_cast<int64_t>(weight.byteSize()) == buffer.bytes;
}

std::optional<std::string> llmc::cudaUnavailableReason() {
  auto driver = loadDriver();
  if (driver)
    return std::nullopt;
  return llvm::toString(driver.takeError());
}

struct CUDAExecutable::State {
  const Driver *driver = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  CUstream stream = nullptr;
  CUevent start = nullptr, stop = nullptr;
  CUgraphExec graph = nullptr;
  std::vector<CUdeviceptr> buffers;
  std::vector<CUfunction> functions;
  /// Per launch: argument values and the pointers cuLaunchKernel reads.
  std::vector<std::vector<uint64_t>> argValues;
  std::vector<std::vector<void *>> argPointers;

  ~State() {
    if (!driver)
      return;
    if (context)
      driver->cuCtxSetCurrent(context);
    if (graph)
      driver->cuGraphExecDestroy(graph);
    if (start)
      driver->cuEventDestroy(start);
    if (stop)
      driver->cuEventDestroy(stop);
    for (CUdeviceptr buffer : buffers)
      if (buffer)
        driver->cuMemFree(buffer);
    if (stream)
      driver->cuStreamDestroy(stream);
    if (module)
      driver->cuModuleUnload(module);
    if (context)
      driver->cuDevicePrimaryCtxRelease(device);
  }

  llvm::Error launchAll(const LaunchPlan &plan) {
    for (size_t i = 0; i < plan.launches.size(); ++i) {
      const LaunchPlan::Launch &launch = plan.launches[i];
      if (CUresult r = driver->cuLaunchKernel(
              functions[i], launch.grid[0], launch.grid[1], launch.grid[2],
              launch.block[0], launch.block[1], launch.block[2],
              launch.sharedBytes, stream, argPointers[i].data(), nullptr))
        return cudaError(*driver, r, "launch of " + launch.kernel);
    }
    return llvm::Error::success();
  }
};

llvm::Expected<std::unique_ptr<CUDAExecutable>>
CUDAExecutable::create(LaunchPlan plan, Signature signature,
                       std::vector<Tensor> weights) {
  auto loaded = loadDriver();
  if (!loaded)
    return loaded.takeError();
  std::unique_ptr<CUDAExecutable> exe(new CUDAExecutable());
  exe->state = std::make_unique<State>();
  State &s = *exe->state;
  const Driver &d = **loaded;
  s.driver = &d;
  if (CUresult r = d.cuDeviceGet(&s.device, 0))
    return cudaError(d, r, "cuDeviceGet");
  if (CUresult r = d.cuDevicePrimaryCtxRetain(&s.context, s.device))
    return cudaError(d, r, "cuDevicePrimaryCtxRetain");
  if (CUresult r = d.cuCtxSetCurrent(s.context))
    return cudaError(d, r, "cuCtxSetCurrent");
  if (CUresult r = d.cuModuleLoadData(&s.module, plan.ptx.c_str()))
    return cudaError(d, r, "loading the PTX");
  if (CUresult r = d.cuStreamCreate(&s.stream, 0))
    return cudaError(d, r, "cuStreamCreate");
  if (CUresult r = d.cuEventCreate(&s.start, 0))
    return cudaError(d, r, "cuEventCreate");
  if (CUresult r = d.cuEventCreate(&s.stop, 0))
    return cudaError(d, r, "cuEventCreate");

  if (weights.size() != signature.weights.size())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the plan's weights do not match the "
                                   "signature");
  s.buffers.assign(plan.buffers.size(), 0);
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const LaunchPlan::Buffer &buffer = plan.buffers[i];
    size_t bytes = std::max<int64_t>(buffer.bytes, 4);
    if (CUresult r = d.cuMemAlloc(&s.buffers[i], bytes))
      return cudaError(d, r, "allocating " + llvm::Twine(bytes) + " bytes");
    if (buffer.kind == LaunchPlan::BufferKind::Weight) {
      if (!weightMatches(buffer, weights))
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "the plan's weight buffer " +
                                           llvm::Twine(i) +
                                           " does not match its weight");
      const Tensor &weight = weights[buffer.index];
      std::vector<uint8_t> rounded;
      if (buffer.bf16)
        rounded = f32BytesToBF16(weight.data(), weight.numElements());
      if (CUresult r = d.cuMemcpyHtoD(
              s.buffers[i], buffer.bf16 ? rounded.data() : weight.data(),
              buffer.bytes))
        return cudaError(d, r, "uploading weight " + weight.name);
    } else if (buffer.kind == LaunchPlan::BufferKind::Constant) {
      if (CUresult r = d.cuMemcpyHtoD(s.buffers[i], buffer.data.data(),
                                      buffer.data.size()))
        return cudaError(d, r, "uploading a constant");
    }
  }
  for (const LaunchPlan::Launch &launch : plan.launches) {
    CUfunction fn = nullptr;
    if (CUresult r =
            d.cuModuleGetFunction(&fn, s.module, launch.kernel.c_str()))
      return cudaError(d, r, "kernel " + launch.kernel);
    s.functions.push_back(fn);
    if (launch.sharedBytes > 0) {
      // Dynamic shared memory past 48 KiB needs the kernel's opt-in, up to
      // the device's per-block limit (with the kernel's static shared
      // memory).
      int optin = 0, fixed = 0;
      if (CUresult r = d.cuDeviceGetAttribute(
              &optin, kDeviceSharedPerBlockOptin, s.device))
        return cudaError(d, r, "cuDeviceGetAttribute");
      if (CUresult r = d.cuFuncGetAttribute(&fixed, kFuncStaticShared, fn))
        return cudaError(d, r, "kernel " + launch.kernel);
      if (int64_t(launch.sharedBytes) + fixed > optin)
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "CUDA: kernel " + launch.kernel + " needs " +
                llvm::Twine(launch.sharedBytes + fixed) +
                " bytes of shared memory per block; this GPU allows " +
                llvm::Twine(optin) +
                " (compile for its description: gpu.shared_memory_per_"
                "block_bytes)");
      if (CUresult r = d.cuFuncSetAttribute(fn, kFuncMaxDynamicShared,
                                            launch.sharedBytes))
        return cudaError(d, r,
                         "kernel " + launch.kernel + ": opting in to " +
                             llvm::Twine(launch.sharedBytes) +
                             " bytes of dynamic shared memory");
    }
    std::vector<uint64_t> values(launch.args.size(), 0);
    for (size_t a = 0; a < launch.args.size(); ++a) {
      const LaunchPlan::Argument &arg = launch.args[a];
      switch (arg.kind) {
      case LaunchPlan::Argument::Kind::Pointer:
        values[a] = s.buffers[arg.buffer];
        break;
      case LaunchPlan::Argument::Kind::I64:
        values[a] = static_cast<uint64_t>(arg.integer);
        break;
      case LaunchPlan::Argument::Kind::I32: {
        int32_t v = static_cast<int32_t>(arg.integer);
        std::memcpy(&values[a], &v, sizeof(v));
        break;
      }
      case LaunchPlan::Argument::Kind::F32: {
        float v = static_cast<float>(arg.real);
        std::memcpy(&values[a], &v, sizeof(v));
        break;
      }
      }
    }
    s.argValues.push_back(std::move(values));
  }
  for (std::vector<uint64_t> &values : s.argValues) {
    std::vector<void *> pointers;
    for (uint64_t &value : values)
      pointers.push_back(&value);
    s.argPointers.push_back(std::move(pointers));
  }
  // Capture the launches once; if capture fails the launches run directly.
  if (d.cuStreamBeginCapture(s.stream, kCaptureModeThreadLocal) == 0) {
    llvm::Error launched = s.launchAll(plan);
    CUgraph graph = nullptr;
    CUresult ended = d.cuStreamEndCapture(s.stream, &graph);
    if (launched)
      return std::move(launched);
    if (ended == 0 && graph) {
      if (d.cuGraphInstantiateWithFlags(&s.graph, graph, 0) != 0)
        s.graph = nullptr;
      d.cuGraphDestroy(graph);
    }
  }
  exe->plan = std::move(plan);
  exe->sig = std::move(signature);
  return exe;
}

CUDAExecutable::~CUDAExecutable() = default;

llvm::Expected<std::vector<Tensor>>
CUDAExecutable::run(llvm::ArrayRef<Tensor> inputs) {
  State &s = *state;
  const Driver &d = *s.driver;
  if (CUresult r = d.cuCtxSetCurrent(s.context))
    return cudaError(d, r, "cuCtxSetCurrent");
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const LaunchPlan::Buffer &buffer = plan.buffers[i];
    if (buffer.kind != LaunchPlan::BufferKind::Input)
      continue;
    if (buffer.index < 0 || static_cast<size_t>(buffer.index) >= inputs.size())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "the plan reads a missing input");
    const Tensor &input = inputs[buffer.index];
    if (input.byteSize() != static_cast<size_t>(buffer.bytes))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "input '" + input.name +
                                         "' does not match its buffer size");
    if (CUresult r =
            d.cuMemcpyHtoD(s.buffers[i], input.data(), input.byteSize()))
      return cudaError(d, r, "uploading input " + input.name);
  }
  // The forward only reads inputs, weights and constants, so it can run
  // twice: the first run of an executable is an untimed warm-up (graph
  // upload, first-touch of the module's code).
  auto forward = [&]() -> llvm::Error {
    if (s.graph) {
      if (CUresult r = d.cuGraphLaunch(s.graph, s.stream))
        return cudaError(d, r, "cuGraphLaunch");
      return llvm::Error::success();
    }
    return s.launchAll(plan);
  };
  if (!warmedUp) {
    if (llvm::Error error = forward())
      return std::move(error);
    warmedUp = true;
  }
  if (CUresult r = d.cuEventRecord(s.start, s.stream))
    return cudaError(d, r, "cuEventRecord");
  if (llvm::Error error = forward())
    return std::move(error);
  if (CUresult r = d.cuEventRecord(s.stop, s.stream))
    return cudaError(d, r, "cuEventRecord");
  if (CUresult r = d.cuEventSynchronize(s.stop))
    return cudaError(d, r, "the forward");
  float ms = 0;
  if (d.cuEventElapsedTime(&ms, s.start, s.stop) == 0)
    forwardSeconds = ms * 1e-3;

  std::vector<Tensor> outputs;
  for (size_t i = 0; i < sig.outputs.size(); ++i) {
    const TensorSpec &spec = sig.outputs[i];
    Tensor output(spec.name, spec.dtype, spec.shape);
    int64_t buffer = plan.outputs[i];
    if (static_cast<size_t>(plan.buffers[buffer].bytes) < output.byteSize())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "output '" + spec.name +
                                         "' is larger than its buffer");
    if (CUresult r = d.cuMemcpyDtoH(output.mutableData(), s.buffers[buffer],
                                    output.byteSize()))
      return cudaError(d, r, "downloading output " + spec.name);
    outputs.push_back(std::move(output));
  }
  return outputs;
}
